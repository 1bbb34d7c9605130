// `accounts token …` end to end: the binary as a real process on a real database of the project's
// dialect, checked through a real server (`accounts serve`) running on the same database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer } from '../support/app.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import { cliOnTempDb, eventually, get, lastLine, lines, send, type Cli } from '../support/cli.ts';

const TOKEN_SHAPE = /^dapat_[0-9A-Za-z]{38}$/;
const DAY_MS = 86_400_000;

let cli: Cli;
let server: ServerProcess;

beforeAll(async () => {
  cli = await cliOnTempDb();
  await cli.ok(['user', 'create', 'tokenowner', '--email', 'owner@example.com', '--password-stdin'], 'owner-password\n');
  await cli.ok(['user', 'create', 'otheruser', '--email', 'other@example.com']);
  server = await startServer(cli.env);
});

afterAll(async () => {
  await server?.stop();
  await cli?.remove();
});

const userPath = (username: string) => `/api/v1.1/users/${username}/`;
const emailsPath = (username: string) => `/api/v1.1/users/${username}/emails/`;

type Listed = { id: number; username: string; name: string; hint: string; scopes: string[]; created_at: string; expires_at: string | null; last_used_at: string | null; status: string };

async function listJson(username: string): Promise<Listed[]> {
  return lines((await cli.ok(['token', 'list', username, '--json'])).stdout).map((l) => JSON.parse(l) as Listed);
}

async function create(args: string[]): Promise<{ token: string; stderr: string; stdout: string }> {
  const result = await cli.ok(['token', 'create', ...args]);
  return { token: lastLine(result.stdout), stderr: result.stderr, stdout: result.stdout };
}

async function expectStatus(path: string, authorization: string, status: number): Promise<void> {
  await eventually(async () => expect((await get(server.url, path, authorization)).status).toBe(status));
}

describe('accounts token create', () => {
  it('prints the token alone on the last line of stdout; it works as Bearer with exactly its scopes', async () => {
    const { token, stdout, stderr } = await create(['tokenowner', '--scopes', 'profile_read,email_read', '--name', 'ci deploy', '--expires-in', '90d']);
    expect(token).toMatch(TOKEN_SHAPE);
    expect(stdout).toBe(`${token}\n`);
    expect(stderr).toContain('"ci deploy"');
    expect(stderr).toContain('profile_read, email_read');
    expect(stderr).not.toContain(token);

    const profile = await get(server.url, userPath('tokenowner'), bearer(token));
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ username: 'tokenowner', email: 'owner@example.com' });
    const emails = await get(server.url, emailsPath('tokenowner'), bearer(token));
    expect(emails.status).toBe(200);
    expect(emails.body).toEqual([{ email: 'owner@example.com', verified: true, primary: true }]);
    // Basic with the token as the password carries the same scopes.
    expect((await get(server.url, emailsPath('tokenowner'), basic('tokenowner', token))).status).toBe(200);

    // The scopes it was not given.
    for (const [method, path, scope] of [
      ['PATCH', userPath('tokenowner'), 'profile_write'],
      ['POST', emailsPath('tokenowner'), 'email_write'],
    ] as const) {
      const denied = await send(server.url, method, path, bearer(token), method === 'POST' ? { email: 'new@example.com' } : { full_name: 'X' });
      expect(denied.status, `${method} ${path}`).toBe(403);
      expect(denied.body).toMatchObject({ code: 'insufficient_scope' });
      expect(denied.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${scope}"`);
    }
    // Nothing was changed by the refused requests.
    expect((await get(server.url, emailsPath('tokenowner'), bearer(token))).body).toHaveLength(1);

    const [listed] = (await listJson('tokenowner')).filter((t) => t.name === 'ci deploy');
    expect(listed).toBeDefined();
    expect(listed!.scopes).toEqual(['profile_read', 'email_read']);
    expect(listed!.status).toBe('active');
    expect(listed!.last_used_at).not.toBeNull();
    expect(Date.parse(listed!.expires_at!) - Date.parse(listed!.created_at)).toBeGreaterThan(90 * DAY_MS - 60_000);
    expect(Date.parse(listed!.expires_at!) - Date.parse(listed!.created_at)).toBeLessThan(90 * DAY_MS + 60_000);
  });

  it('takes a write scope without its read scope, scopes in any order, and defaults: name "token", no expiry', async () => {
    const { token } = await create(['TokenOwner', '--scopes', 'email_write,profile_write']);
    expect(token).toMatch(TOKEN_SHAPE);
    const patched = await send(server.url, 'PATCH', userPath('tokenowner'), bearer(token), { location: 'Berlin' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ location: 'Berlin' });
    const read = await get(server.url, userPath('tokenowner'), bearer(token));
    expect(read.status).toBe(403);
    expect(read.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="profile_read"');

    const listed = (await listJson('tokenowner')).find((t) => t.hint === `${token.slice(0, 10)}…`);
    expect(listed).toMatchObject({ name: 'token', username: 'tokenowner', scopes: ['profile_write', 'email_write'], expires_at: null, status: 'active' });
  });

  it("a token is only its owner's: another user's name with it in Basic fails", async () => {
    const { token } = await create(['otheruser', '--scopes', 'profile_read,profile_write,email_read,email_write']);
    expect((await get(server.url, emailsPath('otheruser'), bearer(token))).status).toBe(200);
    expect((await get(server.url, emailsPath('tokenowner'), basic('tokenowner', token))).status).toBe(401);
    // Authenticated as otheruser, tokenowner's addresses are not theirs to see.
    expect((await get(server.url, emailsPath('tokenowner'), bearer(token))).status).toBe(403);
  });
});

describe('accounts token list', () => {
  it('shows the tokens of one user, never the tokens themselves', async () => {
    const lister = 'tokenlister';
    await cli.ok(['user', 'create', lister, '--email', 'lister@example.com']);
    const empty = await cli.ok(['token', 'list', lister, '--json']);
    expect(empty.stdout).toBe('');

    const [first, second] = (
      await Promise.all([
        create([lister, '--scopes', 'profile_read', '--name', 'first']),
        create([lister, '--scopes', 'email_read,email_write', '--name', 'second', '--expires-in', '12h']),
      ])
    ).map((c) => c.token) as [string, string];

    const json = await cli.ok(['token', 'list', lister, '--json']);
    expect(json.stdout).not.toContain(first);
    expect(json.stdout).not.toContain(second);
    const tokens = lines(json.stdout).map((l) => JSON.parse(l) as Listed);
    expect(tokens).toHaveLength(2);
    const byName = Object.fromEntries(tokens.map((t) => [t.name, t]));
    expect(byName.first).toMatchObject({ username: lister, hint: `${first.slice(0, 10)}…`, scopes: ['profile_read'], expires_at: null, last_used_at: null, status: 'active' });
    expect(byName.second).toMatchObject({ username: lister, hint: `${second.slice(0, 10)}…`, scopes: ['email_read', 'email_write'], last_used_at: null, status: 'active' });
    expect(byName.second!.expires_at).not.toBeNull();

    const table = await cli.ok(['token', 'list', lister.toUpperCase()]);
    expect(table.stdout).not.toContain(first);
    expect(table.stdout).not.toContain(second);
    const [header, ...rows] = lines(table.stdout);
    expect(header!.split(/\s{2,}/)).toEqual(['ID', 'NAME', 'TOKEN', 'SCOPES', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED']);
    expect(rows).toHaveLength(2);
    for (const t of tokens) {
      const row = rows.find((r) => r.split(/\s+/)[0] === String(t.id));
      expect(row!.split(/\s+/)).toEqual([String(t.id), t.name, t.hint, t.scopes.join(','), 'active', t.created_at, t.expires_at ?? 'never', 'never']);
    }

    // Tokens of other users are not listed.
    for (const t of await listJson('tokenowner')) expect(t.username).toBe('tokenowner');
  });
});

describe('accounts token revoke', () => {
  it('revokes by id and by the token itself; the token then gets 401; revoking again says so and succeeds', async () => {
    const [byId, byToken, survivor] = (
      await Promise.all(['revoke-by-id', 'revoke-by-token', 'survivor'].map((name) => create(['tokenowner', '--scopes', 'email_read', '--name', name])))
    ).map((c) => c.token) as [string, string, string];
    for (const token of [byId, byToken, survivor]) await expectStatus(emailsPath('tokenowner'), bearer(token), 200);

    const listed = await listJson('tokenowner');
    const idOf = (name: string) => listed.find((t) => t.name === name)!.id;

    const revokedById = await cli.ok(['token', 'revoke', String(idOf('revoke-by-id'))]);
    expect(revokedById.stdout).toBe('');
    expect(revokedById.stderr.trim()).toBe(`Revoked token ${idOf('revoke-by-id')}.`);
    const revokedByToken = await cli.ok(['token', 'revoke', byToken]);
    expect(revokedByToken.stdout).toBe('');
    expect(revokedByToken.stderr.trim()).toBe(`Revoked token ${idOf('revoke-by-token')}.`);

    for (const token of [byId, byToken]) {
      await expectStatus(emailsPath('tokenowner'), bearer(token), 401);
      await expectStatus(emailsPath('tokenowner'), basic('tokenowner', token), 401);
    }
    const refused = await get(server.url, emailsPath('tokenowner'), bearer(byId));
    expect(refused.body).toMatchObject({ code: 'not_authenticated' });
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await expectStatus(emailsPath('tokenowner'), bearer(survivor), 200);

    const after = await listJson('tokenowner');
    expect(after.find((t) => t.name === 'revoke-by-id')?.status).toBe('revoked');
    expect(after.find((t) => t.name === 'revoke-by-token')?.status).toBe('revoked');
    expect(after.find((t) => t.name === 'survivor')?.status).toBe('active');

    const again = await Promise.all([cli.run(['token', 'revoke', byId]), cli.run(['token', 'revoke', String(idOf('revoke-by-token'))])]);
    expect(again.map((r) => r.code)).toEqual([0, 0]);
    expect(again[0]!.stderr.trim()).toBe(`Token ${idOf('revoke-by-id')} was already revoked.`);
    expect(again[1]!.stderr.trim()).toBe(`Token ${idOf('revoke-by-token')} was already revoked.`);
    await expectStatus(emailsPath('tokenowner'), bearer(byId), 401);
  });
});
