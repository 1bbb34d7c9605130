// export/import through the services, on this project's dialect: the format, what moves, the
// checks that refuse a bad dump (naming its line) and leave the target as it was, conflicts, and
// idempotency.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEmail, deleteEmail } from '../../src/emails/emails.service.ts';
import type { Deps } from '../../src/deps.ts';
import { createToken, revokeToken } from '../../src/tokens/tokens.service.ts';
import { exportDump, importDump, type ImportSummary } from '../../src/transfer/transfer.service.ts';
import { requireUser } from '../../src/users/users.service.ts';
import { basic, bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

let source: TestApp;
let dump: string;
let token: string;

async function exportText(deps: Deps): Promise<string> {
  let text = '';
  await exportDump(deps, (chunk) => {
    text += chunk;
  });
  return text;
}

/** The dump without its header, whose exported_at differs from one export to the next. */
function body(text: string): string {
  return text.slice(text.indexOf('\n') + 1);
}

function importText(deps: Deps, text: string): Promise<ImportSummary> {
  // Two chunks split mid-line, as a pipe delivers them.
  const middle = Math.floor(text.length / 2);
  return importDump(deps, Readable.from([Buffer.from(text.slice(0, middle)), Buffer.from(text.slice(middle))]));
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Replaces line `n` (1-based) of a dump. */
function withLine(text: string, n: number, replacement: string): string {
  const all = text.split('\n');
  all[n - 1] = replacement;
  return all.join('\n');
}

function editLine(text: string, n: number, edit: (record: Record<string, unknown>) => void): string {
  const record = JSON.parse(text.split('\n')[n - 1]!) as Record<string, unknown>;
  edit(record);
  return withLine(text, n, JSON.stringify(record));
}

/** A fresh, empty target; closed by the caller. */
async function withTarget(fn: (target: TestApp) => Promise<void>): Promise<void> {
  const target = await buildTestApp();
  try {
    await fn(target);
  } finally {
    await target.close();
  }
}

async function expectRefused(target: TestApp, text: string, message: RegExp): Promise<void> {
  const before = body(await exportText(target.deps));
  await expect(importText(target.deps, text)).rejects.toThrow(message);
  expect(body(await exportText(target.deps)), 'the target must be unchanged').toBe(before);
}

beforeAll(async () => {
  source = await buildTestApp();
  const jane = await makeUser(source.deps, { username: 'janedoe', email: 'Jane.Doe@Example.com', fullName: 'Jane Doe' });
  await addEmail(source.deps, jane.id, 'jane@work.example');
  await addEmail(source.deps, jane.id, 'jane@home.example');
  await makeUser(source.deps, { username: 'johndoe', email: 'john@example.com', password: null });
  token = (await createToken(source.deps, { username: 'janedoe', scopes: ['profile_read', 'email_read'], name: 'laptop' })).token;
  const revoked = await createToken(source.deps, { username: 'janedoe', scopes: ['email_write'], name: 'old' });
  await revokeToken(source.deps, String(revoked.summary.id));
  await createToken(source.deps, { username: 'johndoe', scopes: ['profile_read'], expiresInMs: 86_400_000 });
  dump = await exportText(source.deps);
});

afterAll(async () => {
  await source?.close();
});

describe('export', () => {
  it('writes a header, each user followed by their addresses and tokens, and an end record with the counts', () => {
    const records = lines(dump);
    expect(dump.endsWith('\n')).toBe(true);
    expect(records[0]).toEqual({ format: 'docker-accounts', version: 1, exported_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) });
    expect(records.slice(1).map((r) => r.type)).toEqual(['user', 'email', 'email', 'email', 'token', 'token', 'user', 'email', 'token', 'end']);
    expect(records.at(-1)).toEqual({ type: 'end', users: 2, emails: 4, tokens: 3 });
  });

  it('carries the stored rows: ids, the password hash, the address key, the token digest, never the token', () => {
    const [, user, email, , , laptop, old] = lines(dump);
    expect(Object.keys(user!)).toEqual([
      'type',
      'id',
      'username',
      'password_hash',
      'full_name',
      'location',
      'company',
      'profile_url',
      'gravatar_email',
      'is_active',
      'date_joined',
      'updated_at',
    ]);
    expect(user).toMatchObject({ type: 'user', username: 'janedoe', full_name: 'Jane Doe', is_active: true, password_hash: expect.stringMatching(/^\$argon2id\$/) });
    expect(email).toMatchObject({ type: 'email', user_id: user!.id, email: 'Jane.Doe@example.com', email_key: 'jane.doe@example.com', verified: true, is_primary: true });
    expect(laptop).toMatchObject({ type: 'token', name: 'laptop', scopes: ['profile_read', 'email_read'], revoked_at: null, token_digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(old!.revoked_at).toEqual(expect.any(String));
    expect(dump).not.toContain(token);
  });

  it('pages through the users without losing or repeating any', async () => {
    let text = '';
    await exportDump(source.deps, (chunk) => void (text += chunk), 1);
    expect(body(text)).toBe(body(dump));
  });
});

describe('import', () => {
  it('into an empty store: the same export afterwards, and the password and the token work there', async () => {
    await withTarget(async (target) => {
      const summary = await importText(target.deps, dump);
      expect(summary).toEqual({ users: 2, emails: 4, tokens: 3, newUsers: 2 });
      expect(body(await exportText(target.deps))).toBe(body(dump));

      for (const authorization of [basic('janedoe', 'correct horse battery staple'), bearer(token)]) {
        const response = await target.app.inject({ method: 'GET', url: '/api/v1.1/users/janedoe/emails/', headers: { authorization } });
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual([
          { email: 'Jane.Doe@example.com', verified: true, primary: true },
          { email: 'jane@work.example', verified: false, primary: false },
          { email: 'jane@home.example', verified: false, primary: false },
        ]);
      }
    });
  });

  it('is idempotent: importing the same dump twice leaves the same state', async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const once = body(await exportText(target.deps));
      expect(await importText(target.deps, dump)).toEqual({ users: 2, emails: 4, tokens: 3, newUsers: 0 });
      expect(body(await exportText(target.deps))).toBe(once);
    });
  });

  it("gives each of the dump's users exactly the dump's addresses and tokens, even when an address moved between them", async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const jane = await requireUser(target.deps, 'janedoe');
      const john = await requireUser(target.deps, 'johndoe');
      await deleteEmail(target.deps, jane.id, 'jane@home.example');
      await addEmail(target.deps, john.id, 'jane@home.example');
      await addEmail(target.deps, jane.id, 'extra@example.com');
      await createToken(target.deps, { username: 'janedoe', scopes: ['profile_read'] });

      await importText(target.deps, dump);
      expect(body(await exportText(target.deps))).toBe(body(dump));
    });
  });

  it('leaves users who are not in the dump alone', async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const bystander = await makeUser(target.deps, { username: 'bystander', email: 'bystander@example.com' });
      const before = await exportText(target.deps);
      await importText(target.deps, dump);
      expect(body(await exportText(target.deps))).toBe(body(before));
      expect(body(before)).toContain('"username":"bystander"');
      expect(bystander.id).toBeGreaterThan(Math.max(...lines(dump).filter((r) => r.type === 'user').map((r) => r.id as number)));
    });
  });
});

describe('import refuses a bad dump, names the line, and changes nothing', () => {
  const cases: [string, (text: string) => string, RegExp][] = [
    ['bad JSON', (t) => withLine(t, 3, '{"type":"email",'), /^line 3: not valid JSON/],
    ['an unknown type', (t) => editLine(t, 3, (r) => (r.type = 'mailbox')), /^line 3: unknown type "mailbox"/],
    ['a missing field', (t) => editLine(t, 3, (r) => delete r.email_key), /^line 3: email: missing field "email_key"$/],
    ['an invalid field', (t) => editLine(t, 2, (r) => (r.is_active = 'yes')), /^line 2: user: "is_active" must be true or false$/],
    ['an unknown field', (t) => editLine(t, 2, (r) => (r.admin = true)), /^line 2: user: unknown field "admin"$/],
    ['an invalid username', (t) => editLine(t, 2, (r) => (r.username = 'Jane Doe')), /^line 2: user: "username" must be 4 to 30/],
    ['a bad timestamp', (t) => editLine(t, 7, (r) => (r.expires_at = 'tomorrow')), /^line 7: token: "expires_at" must be a UTC timestamp/],
    ['an unknown scope', (t) => editLine(t, 6, (r) => (r.scopes = ['admin'])), /^line 6: token: "scopes" must be a non-empty list/],
    ['an email_key that is not the address\'s', (t) => editLine(t, 4, (r) => (r.email_key = 'other@example.com')), /^line 4: email: "email_key" must be "jane@work.example"/],
    ['an address of a user not in the dump', (t) => editLine(t, 4, (r) => (r.user_id = 999)), /^line 4: email of user 999, who is not in the dump/],
    ['a token of a user not in the dump', (t) => editLine(t, 7, (r) => (r.user_id = 999)), /^line 7: token of user 999, who is not in the dump/],
    ['a duplicate username', (t) => editLine(t, 8, (r) => (r.username = 'janedoe')), /^line 8: username "janedoe" is already on line 2$/],
    ['a duplicate user id', (t) => editLine(t, 8, (r) => (r.id = lines(t)[1]!.id)), /^line 8: user id \d+ is already on line 2$/],
    ['a duplicate address', (t) => editLine(t, 9, (r) => ((r.email = 'jane@work.example'), (r.email_key = 'jane@work.example'))), /^line 9: the address "jane@work.example" is already on line 4$/],
    ['a second primary', (t) => editLine(t, 4, (r) => (r.is_primary = true)), /^line 4: user \d+ already has a primary address \(line 3\)$/],
    ['a user without a primary', (t) => editLine(t, 9, (r) => (r.is_primary = false)), /^line 8: user \d+ \("johndoe"\) has no primary email address$/],
    ['a wrong count in the end record', (t) => editLine(t, 11, (r) => (r.users = 3)), /^line 11: the "end" record counts 3 users, 4 emails, 3 tokens, but the dump has 2 users/],
    ['a line after the end record', (t) => `${t}${t.split('\n')[1]}\n`, /^line 12: nothing may follow the "end" record$/],
    ['an empty line', (t) => withLine(t, 5, ''), /^line 5: empty line$/],
    ['a truncated last line (no final newline)', (t) => t.slice(0, t.indexOf('\n', t.indexOf('"type":"token"')) - 20), /^line 6: the dump is truncated: the last line is incomplete$/],
    ['a dump cut at a line boundary', (t) => t.split('\n').slice(0, 7).join('\n') + '\n', /^line 8: the dump is truncated: it ends without the "end" record$/],
    ['not a dump', () => 'username,email\njanedoe,jane@example.com\n', /^line 1: not valid JSON/],
    ['another format', (t) => withLine(t, 1, '{"format":"docker-accounts","version":2,"exported_at":"2026-11-23T07:21:43.515592Z"}'), /^line 1: format version 2 is not supported/],
    ['empty input', () => '', /^line 1: the input is empty/],
  ];

  let target: TestApp;
  beforeAll(async () => {
    target = await buildTestApp();
    // Not empty, so "unchanged" means something.
    await makeUser(target.deps, { username: 'resident', email: 'resident@example.com' });
  });
  afterAll(async () => {
    await target?.close();
  });

  for (const [what, corrupt, message] of cases) {
    it(what, async () => {
      await expectRefused(target, corrupt(dump), message);
    });
  }

  it('invalid UTF-8 bytes', async () => {
    const bytes = Buffer.concat([Buffer.from(dump.slice(0, dump.indexOf('\n') + 1)), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]);
    await expect(importDump(target.deps, Readable.from([bytes]))).rejects.toThrow(/^line 2: not valid UTF-8$/);
  });
});

describe('import refuses a conflict with the target, and imports nothing', () => {
  it('a user id held by another username', async () => {
    await withTarget(async (target) => {
      // Target ids 1 and 2 go to others first, so johndoe gets an id the dump does not give him.
      await makeUser(target.deps, { username: 'first1', email: 'first1@example.com' });
      await makeUser(target.deps, { username: 'second2', email: 'second2@example.com' });
      await makeUser(target.deps, { username: 'johndoe', email: 'johnny@example.com' });
      await expectRefused(target, dump, /^line 2: conflict: user id \d+ is "first1" in the target, not "janedoe"$/);
    });
  });

  it('a username held by another id, with the dump\'s id free', async () => {
    await withTarget(async (target) => {
      await makeUser(target.deps, { username: 'johndoe', email: 'johnny@example.com' });
      // The target's johndoe has id 1; move the dump's users to ids the target does not use.
      let text = dump;
      for (const n of [2, 8]) text = editLine(text, n, (r) => (r.id = (r.id as number) + 100));
      for (const n of [3, 4, 5, 6, 7, 9, 10]) text = editLine(text, n, (r) => (r.user_id = (r.user_id as number) + 100));
      await expectRefused(target, text, /^line 8: conflict: the username "johndoe" belongs to user 1 in the target, not to user 102$/);
    });
  });

  it('an address held by a user who is not in the dump', async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      await makeUser(target.deps, { username: 'outsider', email: 'outsider@example.com' });
      const jane = await requireUser(target.deps, 'janedoe');
      await deleteEmail(target.deps, jane.id, 'jane@home.example');
      const outsider = await requireUser(target.deps, 'outsider');
      await addEmail(target.deps, outsider.id, 'jane@home.example');
      await expectRefused(target, dump, /^line 5: conflict: the address "jane@home.example" belongs to user \d+ \("outsider"\) in the target, who is not in the dump$/);
    });
  });
});
