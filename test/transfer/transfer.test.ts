// export/import through the services, on this project's dialect: the format, what moves (OAuth
// clients included), the checks that refuse a bad dump (naming its line) and leave the target as
// it was, conflicts, idempotency, and dumps written before clients were exported.
import { sha256Hex } from '../../src/kernel/crypto.ts';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEmail, deleteEmail } from '../../src/emails/emails.service.ts';
import type { Deps } from '../../src/kernel/deps.ts';
import { createClient, type CreatedClient } from '../../src/oauth/clients.service.ts';
import { createToken, revokeToken } from '../../src/tokens/tokens.service.ts';
import { exportDump, importDump, type ImportSummary } from '../../src/transfer/transfer.service.ts';
import { requireUser } from '../../src/users/users.service.ts';
import { basic, bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

let source: TestApp;
let dump: string;
let token: string;
let confidential: CreatedClient;
let publicClient: CreatedClient;

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

/** The dump as written before OAuth clients were exported: no client records, no "clients" count. */
function withoutClients(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('{"type":"client"'))
    .map((l) => (l.startsWith('{"type":"end"') ? l.replace(/,"clients":\d+/, '') : l))
    .join('\n');
}

/** The 1-based number of the dump's line for this client. */
function clientLine(text: string, clientId: string): number {
  return text.split('\n').findIndex((l) => l.startsWith('{"type":"client"') && (JSON.parse(l) as { client_id: string }).client_id === clientId) + 1;
}

/** The token endpoint's answer to a refresh with a made-up refresh token: 400 invalid_grant once the client is authenticated. */
async function refreshWith(target: TestApp, client: { client_id: string; client_secret?: string }): Promise<{ status: number; error: unknown }> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.client_secret === undefined) form.set('client_id', client.client_id);
  else headers.authorization = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
  const response = await target.app.inject({ method: 'POST', url: '/api/v1.1/o/token/', headers, payload: form.toString() });
  return { status: response.statusCode, error: (response.json() as { error?: unknown }).error };
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
  await addEmail(source.deps, jane, 'jane@work.example');
  await addEmail(source.deps, jane, 'jane@home.example');
  await makeUser(source.deps, { username: 'johndoe', email: 'john@example.com', password: null });
  token = (await createToken(source.deps, { username: 'janedoe', scopes: ['profile_read', 'email_read'], name: 'laptop' })).token;
  const revoked = await createToken(source.deps, { username: 'janedoe', scopes: ['email_write'], name: 'old' });
  await revokeToken(source.deps, String(revoked.summary.id));
  await createToken(source.deps, { username: 'johndoe', scopes: ['profile_read'], expiresInMs: 86_400_000 });
  confidential = await createClient(source.deps, { name: 'Build dashboard', redirectUris: ['https://ci.example.com/callback', 'http://127.0.0.1:8123/cb'], public: false });
  publicClient = await createClient(source.deps, { name: 'Desktop app', redirectUris: ['http://localhost/callback'], public: true });
  dump = await exportText(source.deps);
});

afterAll(async () => {
  await source?.close();
});

describe('export', () => {
  it('writes a header, each user followed by their addresses and tokens, the clients, and an end record with the counts', () => {
    const records = lines(dump);
    expect(dump.endsWith('\n')).toBe(true);
    expect(records[0]).toEqual({ format: 'docker-accounts', version: 1, exported_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) });
    expect(records.slice(1).map((r) => r.type)).toEqual(['user', 'email', 'email', 'email', 'token', 'token', 'user', 'email', 'token', 'client', 'client', 'end']);
    expect(records.at(-1)).toEqual({ type: 'end', users: 2, emails: 4, tokens: 3, clients: 2 });
  });

  it('carries each OAuth client with its secret digest (null for a public client), never the secret, in client_id order', () => {
    const clients = lines(dump).filter((r) => r.type === 'client');
    expect(clients.map((c) => c.client_id)).toEqual([confidential.client_id, publicClient.client_id].sort());
    expect(Object.keys(clients[0]!)).toEqual(['type', 'client_id', 'name', 'secret_digest', 'redirect_uris', 'created_at']);
    expect(clients.find((c) => c.client_id === confidential.client_id)).toEqual({
      type: 'client',
      client_id: confidential.client_id,
      name: 'Build dashboard',
      secret_digest: sha256Hex(confidential.client_secret!),
      redirect_uris: ['https://ci.example.com/callback', 'http://127.0.0.1:8123/cb'],
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
    });
    expect(clients.find((c) => c.client_id === publicClient.client_id)).toMatchObject({ name: 'Desktop app', secret_digest: null, redirect_uris: ['http://localhost/callback'] });
    expect(dump).not.toContain(confidential.client_secret);
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

  it('pages through the users and the clients without losing or repeating any', async () => {
    let text = '';
    await exportDump(source.deps, (chunk) => void (text += chunk), 1);
    expect(body(text)).toBe(body(dump));
  });

  it('orders the clients by client_id byte by byte, on PostgreSQL too (whose default collation would not)', async () => {
    await withTarget(async (target) => {
      const ids = ['a1', 'B2', '_x', '-y', 'b1', 'A2'];
      const row = (client_id: string) => ({ client_id, name: client_id, secret_digest: null, redirect_uris: '["https://app.example/cb"]', created_at: '2026-11-23T07:21:43.515592Z' });
      await target.store.write((trx) => trx.insertInto('oauth_clients').values(ids.map(row)).execute());
      if (target.store.dialect === 'postgres') {
        // A database made with a language's collation (en_US.UTF-8, say) orders text by it, not by
        // bytes; the test server's is C, so give the column ICU's root collation to see that.
        await sql`ALTER TABLE oauth_clients ALTER COLUMN client_id TYPE text COLLATE "und-x-icu"`.execute(target.store.db);
        const byColumn = await target.store.db.selectFrom('oauth_clients').select('client_id').orderBy('client_id').execute();
        expect(byColumn.map((r) => r.client_id)).not.toEqual(['-y', 'A2', 'B2', '_x', 'a1', 'b1']);
      }
      for (const pageSize of [500, 2]) {
        let text = '';
        await exportDump(target.deps, (chunk) => void (text += chunk), pageSize);
        expect(lines(text).filter((r) => r.type === 'client').map((r) => r.client_id)).toEqual(['-y', 'A2', 'B2', '_x', 'a1', 'b1']);
      }
    });
  });
});

describe('import', () => {
  it('into an empty store: the same export afterwards, and the password and the token work there', async () => {
    await withTarget(async (target) => {
      const summary = await importText(target.deps, dump);
      expect(summary).toEqual({ users: 2, emails: 4, tokens: 3, clients: 2, newUsers: 2, newClients: 2 });
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

  it("into an empty store: the clients authenticate there with their ids and the confidential one's secret", async () => {
    await withTarget(async (target) => {
      // Before the import the target knows neither client.
      expect(await refreshWith(target, confidential)).toEqual({ status: 401, error: 'invalid_client' });
      await importText(target.deps, dump);
      expect(await refreshWith(target, confidential)).toEqual({ status: 400, error: 'invalid_grant' });
      expect(await refreshWith(target, publicClient)).toEqual({ status: 400, error: 'invalid_grant' });
      expect(await refreshWith(target, { ...confidential, client_secret: 'not the secret' })).toEqual({ status: 401, error: 'invalid_client' });
    });
  });

  it('reads a dump written before clients were exported (no client records, no "clients" count) as one with none', async () => {
    const old = withoutClients(dump);
    expect(old).not.toContain('"type":"client"');
    expect(old).not.toContain('"clients"');
    await withTarget(async (target) => {
      expect(await importText(target.deps, old)).toEqual({ users: 2, emails: 4, tokens: 3, clients: 0, newUsers: 2, newClients: 0 });
      const exported = body(await exportText(target.deps));
      expect(exported).toBe(body(old).replace(/}\n$/, ',"clients":0}\n'));
      // And the same dump with its clients on top of that.
      expect(await importText(target.deps, dump)).toEqual({ users: 2, emails: 4, tokens: 3, clients: 2, newUsers: 0, newClients: 2 });
      expect(body(await exportText(target.deps))).toBe(body(dump));
    });
  });

  it('is idempotent: importing the same dump twice leaves the same state', async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const once = body(await exportText(target.deps));
      expect(await importText(target.deps, dump)).toEqual({ users: 2, emails: 4, tokens: 3, clients: 2, newUsers: 0, newClients: 0 });
      expect(body(await exportText(target.deps))).toBe(once);
    });
  });

  it("gives each of the dump's users exactly the dump's addresses and tokens, even when an address moved between them", async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const jane = await requireUser(target.deps, 'janedoe');
      const john = await requireUser(target.deps, 'johndoe');
      await deleteEmail(target.deps, jane, 'jane@home.example');
      await addEmail(target.deps, john, 'jane@home.example');
      await addEmail(target.deps, jane, 'extra@example.com');
      await createToken(target.deps, { username: 'janedoe', scopes: ['profile_read'] });

      await importText(target.deps, dump);
      expect(body(await exportText(target.deps))).toBe(body(dump));
    });
  });

  it('leaves users and clients who are not in the dump alone', async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const bystander = await makeUser(target.deps, { username: 'bystander', email: 'bystander@example.com' });
      await createClient(target.deps, { name: 'Bystander app', redirectUris: ['https://bystander.example/cb'], public: true });
      const before = await exportText(target.deps);
      await importText(target.deps, dump);
      expect(body(await exportText(target.deps))).toBe(body(before));
      expect(body(before)).toContain('"username":"bystander"');
      expect(body(before)).toContain('"name":"Bystander app"');
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
    ['an old-format dump (no "clients" count) with a wrong count', (t) => editLine(withoutClients(t), 11, (r) => (r.tokens = 4)), /^line 11: the "end" record counts 2 users, 4 emails, 4 tokens, 0 clients, but the dump has 2 users, 4 emails, 3 tokens, 0 clients$/],
    ['a wrong count in the end record', (t) => editLine(t, 13, (r) => (r.users = 3)), /^line 13: the "end" record counts 3 users, 4 emails, 3 tokens, 2 clients, but the dump has 2 users/],
    ['a wrong client count in the end record', (t) => editLine(t, 13, (r) => (r.clients = 1)), /^line 13: the "end" record counts 2 users, 4 emails, 3 tokens, 1 clients, but the dump has 2 users, 4 emails, 3 tokens, 2 clients$/],
    ['client records, but an end record without "clients"', (t) => editLine(t, 13, (r) => delete r.clients), /^line 13: the "end" record counts 2 users, 4 emails, 3 tokens, 0 clients, but the dump has .* 2 clients$/],
    ['a line after the end record', (t) => `${t}${t.split('\n')[1]}\n`, /^line 14: nothing may follow the "end" record$/],
    ['a client without its client_id', (t) => editLine(t, 11, (r) => delete r.client_id), /^line 11: client: missing field "client_id"$/],
    ['an empty client_id', (t) => editLine(t, 11, (r) => (r.client_id = '')), /^line 11: client: "client_id" must be 1 to 128 letters, digits, "-" and "_"$/],
    ['a client_id with a colon', (t) => editLine(t, 11, (r) => (r.client_id = 'abc:def')), /^line 11: client: "client_id" must be 1 to 128/],
    ['a client_id that is not text', (t) => editLine(t, 11, (r) => (r.client_id = 42)), /^line 11: client: "client_id" must be 1 to 128/],
    ['a blank client name', (t) => editLine(t, 11, (r) => (r.name = '   ')), /^line 11: client: "name" must be 1 to 100 characters, not blank$/],
    ['a client name of 101 characters', (t) => editLine(t, 11, (r) => (r.name = 'é'.repeat(101))), /^line 11: client: "name" must be 1 to 100 characters/],
    ['a secret_digest that is not SHA-256 hex', (t) => editLine(t, 11, (r) => (r.secret_digest = 'the secret itself')), /^line 11: client: "secret_digest" must be 64 lowercase hexadecimal digits$/],
    ['an upper-case secret_digest', (t) => editLine(t, 11, (r) => (r.secret_digest = 'A'.repeat(64))), /^line 11: client: "secret_digest" must be 64 lowercase/],
    ['no redirect URIs', (t) => editLine(t, 11, (r) => (r.redirect_uris = [])), /^line 11: client: "redirect_uris" must be a list of 1 to 20 redirect URIs$/],
    ['redirect_uris as one string', (t) => editLine(t, 11, (r) => (r.redirect_uris = 'https://app.example/cb')), /^line 11: client: "redirect_uris" must be a list of 1 to 20/],
    ['21 redirect URIs', (t) => editLine(t, 11, (r) => (r.redirect_uris = Array.from({ length: 21 }, (_, i) => `https://app.example/cb${i}`))), /^line 11: client: "redirect_uris" must be a list of 1 to 20/],
    ['a redirect URI that is not a string', (t) => editLine(t, 11, (r) => (r.redirect_uris = ['https://app.example/cb', null])), /^line 11: client: "redirect_uris" must be a list of strings$/],
    ['a plain-http redirect URI off the loopback', (t) => editLine(t, 11, (r) => (r.redirect_uris = ['http://app.example/cb'])), /^line 11: client: "redirect_uris" holds a redirect URI that cannot be registered: "http:\/\/app.example\/cb" uses http/],
    ['a redirect URI with a fragment', (t) => editLine(t, 11, (r) => (r.redirect_uris = ['https://app.example/cb#x'])), /^line 11: client: "redirect_uris" holds .*has a fragment/],
    ['a relative redirect URI', (t) => editLine(t, 11, (r) => (r.redirect_uris = ['/cb'])), /^line 11: client: "redirect_uris" holds .*not an absolute URL/],
    ['a redirect URI listed twice', (t) => editLine(t, 11, (r) => (r.redirect_uris = ['https://app.example/cb', 'https://app.example/cb'])), /^line 11: client: "redirect_uris" must not list a redirect URI twice$/],
    ['a bad client created_at', (t) => editLine(t, 11, (r) => (r.created_at = '2026-11-23')), /^line 11: client: "created_at" must be a UTC timestamp/],
    ['an unknown client field', (t) => editLine(t, 11, (r) => (r.client_secret = 'hunter2')), /^line 11: client: unknown field "client_secret"$/],
    ['a duplicate client id', (t) => editLine(t, 12, (r) => (r.client_id = lines(t)[10]!.client_id)), /^line 12: client id "[\w-]+" is already on line 11$/],
    ['a user after the clients', (t) => withLine(t, 12, t.split('\n')[7]!.replace('"johndoe"', '"johnny2"').replace(/"id":\d+/, '"id":999')), /^line 12: a user after the clients \(line 11\): the clients come after every user, address and token$/],
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
      await deleteEmail(target.deps, jane, 'jane@home.example');
      const outsider = await requireUser(target.deps, 'outsider');
      await addEmail(target.deps, outsider, 'jane@home.example');
      await expectRefused(target, dump, /^line 5: conflict: the address "jane@home.example" belongs to user \d+ \("outsider"\) in the target, who is not in the dump$/);
    });
  });

  it('a client the target registers with another secret, name or redirect URIs', async () => {
    await withTarget(async (target) => {
      await importText(target.deps, dump);
      const line = clientLine(dump, confidential.client_id);
      await expectRefused(
        target,
        editLine(dump, line, (r) => (r.secret_digest = sha256Hex('another secret'))),
        new RegExp(`^line ${line}: conflict: client "${confidential.client_id}" is registered in the target with another secret_digest$`),
      );
      await expectRefused(
        target,
        editLine(dump, line, (r) => ((r.name = 'Renamed'), (r.redirect_uris = ['https://ci.example.com/callback']))),
        new RegExp(`^line ${line}: conflict: client "${confidential.client_id}" is registered in the target with another name, redirect_uris$`),
      );
      // A public client is not the confidential one with its secret dropped.
      await expectRefused(
        target,
        editLine(dump, line, (r) => (r.secret_digest = null)),
        new RegExp(`^line ${line}: conflict: client "${confidential.client_id}" is registered in the target with another secret_digest$`),
      );
      // The client the refused import would have added is not there either.
      expect(await refreshWith(target, confidential)).toEqual({ status: 400, error: 'invalid_grant' });
    });
  });

  it("a client conflict: the dump's other client, new to the target, is not imported either", async () => {
    await withTarget(async (target) => {
      const [first, second] = [confidential, publicClient].map((c) => c.client_id).sort();
      // The target holds the dump's second client, registered otherwise; the first is new to it.
      await importText(target.deps, withoutClients(dump));
      const other = editLine(dump, clientLine(dump, second!), (r) => (r.name = 'Someone else'));
      await importText(target.deps, other.split('\n').filter((l) => !l.includes(`"client_id":"${first}"`)).join('\n').replace(/"clients":2/, '"clients":1'));
      await expectRefused(target, dump, new RegExp(`^line 12: conflict: client "${second}" is registered in the target with another name$`));
    });
  });
});
