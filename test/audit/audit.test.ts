// The audit trail: every change the services make leaves exactly one event, in
// the change's own transaction; a refused change leaves none; `accounts audit` prints the trail.
//
// Decision under test: only changes that happened are recorded. A request that is refused (a
// duplicate or invalid address, a weak password, the primary address, a token already revoked,
// an account already in that state) changes nothing and records nothing. The outcomes failure
// and denied belong to attempts that are events in themselves: failed and throttled logins.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS } from '../../src/audit/audit-events.ts';
import { recordAuditEvent } from '../../src/audit/audit.service.ts';
import { listUserAuditEvents } from '../../src/users/users.service.ts';
import type { AuditEventRow } from '../../src/kernel/db/database.ts';
import type { Deps } from '../../src/kernel/deps.ts';
import { addEmail, deleteEmail } from '../../src/emails/emails.service.ts';
import { createToken, revokeToken } from '../../src/tokens/tokens.service.ts';
import { setActive, setPassword } from '../../src/users/users.service.ts';
import type { Selectable } from 'kysely';
import { basic, bearer, buildTestApp, makeTempDir, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import type { CliResult } from '../support/processes.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';

type Row = Selectable<AuditEventRow>;

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

async function lastId(): Promise<number> {
  const row = await t.store.db.selectFrom('audit_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  return Number(row?.max ?? 0);
}

/** The rows `change` added to the trail. */
async function eventsOf(change: () => Promise<unknown>): Promise<Row[]> {
  const before = await lastId();
  await change();
  return t.store.db.selectFrom('audit_events').selectAll().where('id', '>', before).orderBy('id').execute();
}

/** The rows `change` added, when `change` is expected to fail. */
async function eventsOfFailure(change: () => Promise<unknown>): Promise<Row[]> {
  return eventsOf(async () => {
    await expect(change()).rejects.toThrow();
  });
}

const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const CLIENT_IP = '203.0.113.7';

describe('through the API (actor self, the client IP)', () => {
  let user: Awaited<ReturnType<typeof makeUser>>;
  let token: string;
  const path = () => `/api/v1.1/users/${user.username}/emails/`;
  const send = (method: 'POST' | 'DELETE', email: string, authorization = bearer(token)) =>
    t.app.inject({ method, url: path(), remoteAddress: CLIENT_IP, headers: { authorization, 'content-type': 'application/json' }, payload: { email } });

  beforeAll(async () => {
    user = await makeUser(t.deps);
    await makeUser(t.deps, { username: 'audittaken', email: 'taken@example.com' });
    token = await makeToken(t.deps, user.username, ['email_read', 'email_write']);
  });

  it('POST emails/ records one email_added with the address as stored', async () => {
    const events = await eventsOf(async () => expect((await send('POST', 'New.Address@EXAMPLE.com')).statusCode).toBe(201));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      user_id: user.id,
      username: user.username,
      event: 'email_added',
      actor: 'self',
      client_ip: CLIENT_IP,
      outcome: 'success',
    });
    expect(events[0]!.occurred_at).toMatch(ISO_MICROS);
    expect(JSON.parse(events[0]!.detail!)).toEqual({ email: 'New.Address@example.com' });
  });

  it('DELETE emails/ records one email_removed, with Basic authentication too', async () => {
    const events = await eventsOf(async () => expect((await send('DELETE', 'new.address@example.com', basic(user.username, user.password))).statusCode).toBe(204));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: user.id, username: user.username, event: 'email_removed', actor: 'self', client_ip: CLIENT_IP, outcome: 'success' });
    expect(JSON.parse(events[0]!.detail!)).toEqual({ email: 'New.Address@example.com' });
  });

  it('a refused change records nothing: duplicate, invalid, primary, unknown address', async () => {
    const events = await eventsOf(async () => {
      expect((await send('POST', 'taken@example.com')).statusCode).toBe(400);
      expect((await send('POST', user.email)).statusCode).toBe(400);
      expect((await send('POST', 'not an address')).statusCode).toBe(400);
      expect((await send('DELETE', user.email)).statusCode).toBe(400);
      expect((await send('DELETE', 'never.had@example.com')).statusCode).toBe(404);
      expect((await send('POST', 'x@example.com', bearer('dapat_' + 'x'.repeat(38)))).statusCode).toBe(401);
    });
    expect(events).toEqual([]);
  });

  it('the 21st address (a CHECK in the database) records nothing either', async () => {
    const owner = await makeUser(t.deps);
    for (let i = 1; i < 20; i++) await addEmail(t.deps, owner, `extra${i}@${owner.username}.example.com`);
    expect(await eventsOfFailure(() => addEmail(t.deps, owner, `extra20@${owner.username}.example.com`))).toEqual([]);
  });
});

describe('through the services, as the CLI calls them (actor admin, no IP)', () => {
  it('setPassword records one password_changed, with no detail', async () => {
    const user = await makeUser(t.deps);
    const events = await eventsOf(() => setPassword(t.deps, user.username.toUpperCase(), 'a brand new passphrase'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: user.id, username: user.username, event: 'password_changed', actor: 'admin', client_ip: null, outcome: 'success', detail: null });
  });

  it('setActive records account_deactivated and account_activated, and nothing when the state does not change', async () => {
    const user = await makeUser(t.deps);
    const deactivated = await eventsOf(() => setActive(t.deps, user.username, false));
    expect(deactivated.map((e) => [e.event, e.actor, e.user_id])).toEqual([['account_deactivated', 'admin', user.id]]);
    expect(await eventsOf(() => setActive(t.deps, user.username, false))).toEqual([]);
    const activated = await eventsOf(() => setActive(t.deps, user.username, true));
    expect(activated.map((e) => [e.event, e.actor, e.user_id])).toEqual([['account_activated', 'admin', user.id]]);
  });

  it('two concurrent deactivations record one event', async () => {
    const user = await makeUser(t.deps);
    const events = await eventsOf(() => Promise.all([setActive(t.deps, user.username, false), setActive(t.deps, user.username, false)]));
    expect(events.map((e) => e.event)).toEqual(['account_deactivated']);
  });

  it('createToken records one token_created with its id, name, scopes and expiry, never the token', async () => {
    const user = await makeUser(t.deps);
    let created: Awaited<ReturnType<typeof createToken>> | undefined;
    const events = await eventsOf(async () => {
      created = await createToken(t.deps, { username: user.username, scopes: ['profile_read', 'email_read'], name: 'laptop', expiresInMs: 3_600_000 });
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: user.id, username: user.username, event: 'token_created', actor: 'admin', client_ip: null, outcome: 'success' });
    expect(JSON.parse(events[0]!.detail!)).toEqual({ token_id: created!.summary.id, name: 'laptop', scopes: 'profile_read email_read', expires_at: created!.summary.expires_at });
    const stored = await t.store.db.selectFrom('access_tokens').select(['token_digest', 'token_hint']).where('id', '=', created!.summary.id).executeTakeFirstOrThrow();
    const row = JSON.stringify(events[0]);
    expect(row).not.toContain(created!.token);
    expect(row).not.toContain(stored.token_digest);
    expect(row).not.toContain(stored.token_hint);
  });

  it('revokeToken records one token_revoked, and nothing when it was already revoked', async () => {
    const user = await makeUser(t.deps);
    const { token, summary } = await createToken(t.deps, { username: user.username, scopes: ['profile_read'], name: 'old' });
    const events = await eventsOf(() => revokeToken(t.deps, token));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: user.id, username: user.username, event: 'token_revoked', actor: 'admin', client_ip: null, outcome: 'success' });
    expect(JSON.parse(events[0]!.detail!)).toEqual({ token_id: summary.id, name: 'old' });
    expect(await eventsOf(() => revokeToken(t.deps, String(summary.id)))).toEqual([]);
  });

  it('addEmail and deleteEmail without a context are the admin acting', async () => {
    const user = await makeUser(t.deps);
    const added = await eventsOf(() => addEmail(t.deps, user, 'second@audit.example.com'));
    const removed = await eventsOf(() => deleteEmail(t.deps, user, 'second@audit.example.com'));
    expect([...added, ...removed].map((e) => [e.event, e.actor, e.client_ip])).toEqual([
      ['email_added', 'admin', null],
      ['email_removed', 'admin', null],
    ]);
  });

  it('a context given is recorded as given', async () => {
    const user = await makeUser(t.deps);
    const events = await eventsOf(() => setPassword(t.deps, user.username, 'yet another passphrase', { actor: 'system' }));
    expect(events.map((e) => [e.event, e.actor, e.client_ip])).toEqual([['password_changed', 'system', null]]);
  });

  it('refused changes record nothing: weak password, no scopes, unknown user or token', async () => {
    const user = await makeUser(t.deps);
    expect(await eventsOfFailure(() => setPassword(t.deps, user.username, 'short'))).toEqual([]);
    expect(await eventsOfFailure(() => setPassword(t.deps, 'nosuchuser', 'a long enough passphrase'))).toEqual([]);
    expect(await eventsOfFailure(() => createToken(t.deps, { username: user.username, scopes: [] }))).toEqual([]);
    expect(await eventsOfFailure(() => revokeToken(t.deps, '999999'))).toEqual([]);
    expect(await eventsOfFailure(() => setActive(t.deps, 'nosuchuser', false))).toEqual([]);
  });
});

describe('events commit with the change they describe', () => {
  /**
   * Runs `change` on deps whose write transactions fail once their work is done, so they roll
   * back. Returns, for each transaction, how many new events it saw inside itself before rolling
   * back, and the events that were committed anyway.
   */
  async function rolledBack(change: (deps: Deps) => Promise<unknown>): Promise<{ seenInside: number[]; committed: Row[] }> {
    const before = await lastId();
    const seenInside: number[] = [];
    const deps: Deps = {
      ...t.deps,
      store: {
        ...t.deps.store,
        write: (fn) =>
          t.deps.store.write(async (trx) => {
            await fn(trx);
            seenInside.push((await trx.selectFrom('audit_events').select('id').where('id', '>', before).execute()).length);
            throw new Error('rolled back on purpose');
          }),
      },
    };
    await expect(change(deps)).rejects.toThrow('rolled back on purpose');
    const committed = await t.store.db.selectFrom('audit_events').selectAll().where('id', '>', before).execute();
    return { seenInside, committed };
  }

  it('a password change is one transaction holding its event; rolled back, it leaves neither the new hash nor the event', async () => {
    const user = await makeUser(t.deps);
    const hash = async () => (await t.store.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash;
    const hashBefore = await hash();
    expect(await rolledBack((deps) => setPassword(deps, user.username, 'a rolled back passphrase'))).toEqual({ seenInside: [1], committed: [] });
    expect(await hash()).toBe(hashBefore);
  });

  it('the same for tokens, addresses and activation', async () => {
    const user = await makeUser(t.deps);
    const { summary } = await createToken(t.deps, { username: user.username, scopes: ['profile_read'] });
    await addEmail(t.deps, user, 'kept@audit.example.com');
    const changes: Array<(deps: Deps) => Promise<unknown>> = [
      (deps) => createToken(deps, { username: user.username, scopes: ['profile_read'] }),
      (deps) => revokeToken(deps, String(summary.id)),
      (deps) => addEmail(deps, user, 'rolled@audit.example.com'),
      (deps) => deleteEmail(deps, user, 'kept@audit.example.com'),
      (deps) => setActive(deps, user.username, false),
    ];
    for (const change of changes) expect(await rolledBack(change)).toEqual({ seenInside: [1], committed: [] });
    const tokens = await t.store.db.selectFrom('access_tokens').select(['id', 'revoked_at']).where('user_id', '=', user.id).execute();
    expect(tokens).toEqual([{ id: summary.id, revoked_at: null }]);
    expect((await t.store.db.selectFrom('emails').select('email').where('user_id', '=', user.id).orderBy('id').execute()).map((e) => e.email)).toEqual([
      user.email,
      'kept@audit.example.com',
    ]);
    expect((await t.store.db.selectFrom('users').select('is_active').where('id', '=', user.id).executeTakeFirstOrThrow()).is_active).toBe(1);
  });

  it('recordAuditEvent inside a transaction that rolls back leaves nothing; without one it commits alone', async () => {
    const user = await makeUser(t.deps);
    const inside = await eventsOf(async () => {
      await expect(
        t.store.write(async (trx) => {
          await recordAuditEvent(t.deps, { event: 'login_failed', actor: 'self', userId: user.id, username: user.username, outcome: 'failure' }, trx);
          throw new Error('rolled back on purpose');
        }),
      ).rejects.toThrow('on purpose');
    });
    expect(inside).toEqual([]);
    const alone = await eventsOf(() => recordAuditEvent(t.deps, { event: 'login_failed', actor: 'self', clientIp: CLIENT_IP, userId: user.id, username: user.username, outcome: 'failure' }));
    expect(alone).toHaveLength(1);
    expect(alone[0]).toMatchObject({ event: 'login_failed', outcome: 'failure', client_ip: CLIENT_IP, detail: null });
  });
});

describe('recordAuditEvent and listAuditEvents', () => {
  it('keeps the name of an unknown account, lower-cased, cut to 64 characters, storable on every dialect', async () => {
    const name = `NoSuch\u0000User\u001b[31m${'X'.repeat(100)}`;
    const events = await eventsOf(() => recordAuditEvent(t.deps, { event: 'login_failed', actor: 'self', clientIp: '198.51.100.1', userId: null, username: name, outcome: 'failure' }));
    expect(events).toHaveLength(1);
    expect(events[0]!.user_id).toBeNull();
    expect([...events[0]!.username]).toHaveLength(64);
    expect(events[0]!.username).toBe(`nosuch\uFFFDuser\uFFFD[31m${'x'.repeat(48)}`);
  });

  it('refuses a detail key that names a secret', async () => {
    const user = await makeUser(t.deps);
    for (const key of ['password', 'new_password', 'token', 'token_digest', 'password_hash', 'client_secret']) {
      await expect(recordAuditEvent(t.deps, { event: 'password_changed', actor: 'admin', userId: user.id, username: user.username, detail: { [key]: 'x' } })).rejects.toThrow(
        /never carry a secret/,
      );
    }
  });

  it("lists the account's events oldest first, with the events recorded for its name alone, not another account's", async () => {
    // A failed login for a name before the account exists, then the account.
    await recordAuditEvent(t.deps, { event: 'login_failed', actor: 'self', userId: null, username: 'LaterUser', outcome: 'failure' });
    const user = await makeUser(t.deps, { username: 'lateruser' });
    const other = await makeUser(t.deps);
    await setPassword(t.deps, user.username, 'the later passphrase');
    await setPassword(t.deps, other.username, 'the other passphrase');
    await recordAuditEvent(t.deps, { event: 'login_throttled', actor: 'self', userId: user.id, username: user.username, outcome: 'denied' });

    const events = await listUserAuditEvents(t.deps, 'LATERUSER');
    expect(events.map((e) => [e.event, e.outcome])).toEqual([
      ['login_failed', 'failure'],
      ['password_changed', 'success'],
      ['login_throttled', 'denied'],
    ]);
    expect(events.every((e) => e.username === 'lateruser')).toBe(true);
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));

    expect((await listUserAuditEvents(t.deps, 'lateruser', { limit: 2 })).map((e) => e.event)).toEqual(['password_changed', 'login_throttled']);
    const since = events[1]!.occurred_at;
    expect((await listUserAuditEvents(t.deps, 'lateruser', { since })).map((e) => e.event)).toEqual(['password_changed', 'login_throttled']);
    expect(await listUserAuditEvents(t.deps, 'lateruser', { since: '2999-01-01T00:00:00.000000Z' })).toEqual([]);
  });

  it('an unknown user is a 404', async () => {
    await expect(listUserAuditEvents(t.deps, 'nosuchuser')).rejects.toMatchObject({ code: 'not_found', detail: 'No user named "nosuchuser".' });
  });

  it('names every event of the vocabulary, and no other', () => {
    expect([...AUDIT_EVENTS].sort()).toEqual(
      [
        'signed_in',
        'login_failed',
        'login_throttled',
        'password_changed',
        'password_reset_requested',
        'password_reset',
        'token_created',
        'token_revoked',
        'email_added',
        'email_removed',
        'email_verified',
        'email_made_primary',
        'account_deactivated',
        'account_activated',
        'account_deleted',
        'oauth_grant',
        'oauth_revoked',
        'session_ended',
        'sessions_ended',
        'signed_up',
        'second_factor_added',
        'second_factor_removed',
        'recovery_codes_generated',
        'recovery_code_used',
        'two_factor_disabled',
        'two_factor_reset',
        'registry_refresh_token_issued',
        'registry_refresh_token_revoked',
      ].sort(),
    );
  });
});

describe('accounts audit (the binary, on a database of the dialect under test)', () => {
  let dir: string;
  let database: TestDatabase;
  let env: Record<string, string>;
  const cli = (args: string[], stdin?: string) => runCliInProcess(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  async function ok(args: string[], stdin?: string): Promise<CliResult> {
    const result = await cli(args, stdin);
    expect(result.code, `accounts ${args.join(' ')} failed:\n${result.stderr}`).toBe(0);
    return result;
  }
  const lines = (output: string) => output.split('\n').filter((l) => l !== '');
  function expectOneLineFailure(result: CliResult, pattern: RegExp): void {
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
  }

  type Listed = { id: number; occurred_at: string; username: string; event: string; actor: string; client_ip: string | null; outcome: string; detail: Record<string, unknown> | null };
  let tokenId: number;

  beforeAll(async () => {
    dir = makeTempDir('accounts-audit-');
    database = await createTestDatabase(dir);
    env = { DATABASE_URL: database.url, PUBLIC_URL: 'https://accounts.example.test' };
    await ok(['user', 'create', 'auditee', '--email', 'auditee@example.com']);
    await ok(['user', 'set-password', 'auditee', '--password-stdin'], 'a long enough passphrase\n');
    const created = await ok(['token', 'create', 'auditee', '--scopes', 'profile_read', '--name', 'ci']);
    tokenId = Number(/Created token (\d+)/.exec(created.stderr)?.[1]);
    await ok(['token', 'revoke', String(tokenId)]);
    await ok(['user', 'deactivate', 'auditee']);
  });
  afterAll(async () => {
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--json: one object per line, oldest first, every field', async () => {
    const result = await ok(['audit', 'Auditee', '--json']);
    expect(result.stderr).toBe('');
    const events = lines(result.stdout).map((l) => JSON.parse(l) as Listed);
    expect(events.map((e) => [e.event, e.actor, e.client_ip, e.outcome, e.username])).toEqual([
      ['password_changed', 'admin', null, 'success', 'auditee'],
      ['token_created', 'admin', null, 'success', 'auditee'],
      ['token_revoked', 'admin', null, 'success', 'auditee'],
      ['account_deactivated', 'admin', null, 'success', 'auditee'],
    ]);
    expect(events[1]!.detail).toEqual({ token_id: tokenId, name: 'ci', scopes: 'profile_read', expires_at: null });
    expect(events[2]!.detail).toEqual({ token_id: tokenId, name: 'ci' });
    for (const e of events) expect(e.occurred_at).toMatch(ISO_MICROS);
  });

  it('a table by default: time, event, actor, ip, outcome, detail', async () => {
    const result = await ok(['audit', 'auditee']);
    const [header, ...rows] = lines(result.stdout);
    expect(header!.split(/\s+/)).toEqual(['TIME', 'EVENT', 'ACTOR', 'IP', 'OUTCOME', 'DETAIL']);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^\S+Z\s+password_changed\s+admin\s+-\s+success$/);
    expect(rows[2]).toMatch(new RegExp(`token_revoked\\s+admin\\s+-\\s+success\\s+\\{"token_id":${tokenId},"name":"ci"\\}$`));
  });

  it('--limit keeps the most recent, and says on stderr that older ones were left out', async () => {
    const result = await ok(['audit', 'auditee', '--limit', '2', '--json']);
    expect(lines(result.stdout).map((l) => (JSON.parse(l) as Listed).event)).toEqual(['token_revoked', 'account_deactivated']);
    expect(result.stderr).toMatch(/most recent/);
  });

  it('--since takes a duration or an RFC 3339 time', async () => {
    const [recent, future, past] = await Promise.all([
      ok(['audit', 'auditee', '--since', '1h', '--json']),
      ok(['audit', 'auditee', '--since', '2999-01-01T00:00:00+02:00', '--json']),
      ok(['audit', 'auditee', '--since', '2000-01-01', '--json']),
    ]);
    expect(lines(recent.stdout)).toHaveLength(4);
    expect(future.stdout).toBe('');
    expect(lines(past.stdout)).toHaveLength(4);
  });

  it('an unknown user, a bad --since or --limit: one line on stderr, non-zero exit', async () => {
    const [unknown, since, limit] = await Promise.all([
      cli(['audit', 'nobodyhere']),
      cli(['audit', 'auditee', '--since', 'yesterday']),
      cli(['audit', 'auditee', '--limit', '0']),
    ]);
    expectOneLineFailure(unknown, /No user named "nobodyhere"/);
    expectOneLineFailure(since, /invalid --since "yesterday"/);
    expectOneLineFailure(limit, /invalid --limit "0"/);
  });

  it('--help names the argument and the options', async () => {
    const result = await ok(['audit', '--help']);
    for (const text of ['Usage: accounts audit [options] <username>', '--since <time>', '--limit <n>', '--json']) expect(result.stdout).toContain(text);
  });
});
