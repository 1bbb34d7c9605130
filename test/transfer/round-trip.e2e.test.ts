// `accounts export` / `accounts import` as an operator runs them, with real processes on real
// stores, whatever dialect this test project runs on: SQLite → PostgreSQL → SQLite, logging in
// with a password and with tokens after each move, and the registered OAuth
// clients authenticating with their ids and secrets after each move.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_URL, basic, bearer, buildTestApp, makeTempDir } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { runCli, startServer, type CliResult, type ServerProcess } from '../support/processes.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';

const JANE_PASSWORD = 'jane has a long password';
const JOHN_PASSWORD = 'john has another one 2';

const dir = makeTempDir('accounts-transfer-');
const databases: TestDatabase[] = [];

/** A fresh database of the dialect and the environment that points `accounts` at it. */
async function store(dialect: 'sqlite' | 'postgres'): Promise<Record<string, string>> {
  const sub = join(dir, String(databases.length));
  mkdirSync(sub);
  const database = await createTestDatabase(sub, dialect);
  databases.push(database);
  return { DATABASE_URL: database.url, PUBLIC_URL };
}

async function cli(env: Record<string, string>, args: string[], stdin?: string): Promise<CliResult> {
  const result = await runCliInProcess(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  expect(result.code, `accounts ${args.join(' ')} failed:\n${result.stderr}`).toBe(0);
  return result;
}

async function exportFrom(env: Record<string, string>): Promise<string> {
  return (await cli(env, ['export'])).stdout;
}

/** The dump without its header line, the only one that differs between two exports of one state. */
function body(dump: string): string {
  return dump.slice(dump.indexOf('\n') + 1);
}

function failsWithOneLine(result: CliResult, message: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^accounts: error: [^\n]*\n$/);
  expect(result.stderr).toMatch(message);
}

async function request(server: ServerProcess, method: string, path: string, authorization: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

type Client = { client_id: string; client_secret?: string };

/** The token endpoint's answer to a refresh with a made-up refresh token: 400 invalid_grant once the client is authenticated. */
async function refreshWith(databaseUrl: string, client: Client): Promise<{ status: number; error: unknown }> {
  const target = await buildTestApp({ databaseUrl });
  try {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (client.client_secret === undefined) form.set('client_id', client.client_id);
    else headers.authorization = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
    const response = await target.app.inject({ method: 'POST', url: '/api/v1.1/o/token/', headers, payload: form.toString() });
    return { status: response.statusCode, error: (response.json() as { error?: unknown }).error };
  } finally {
    await target.close();
  }
}

/** The clients as `accounts client list --json` shows them, and each one authenticating at the token endpoint. */
async function observeClients(env: Record<string, string>): Promise<unknown[]> {
  const listed = (await cli(env, ['client', 'list', '--json'])).stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
  expect(await refreshWith(env.DATABASE_URL!, clients.confidential)).toEqual({ status: 400, error: 'invalid_grant' });
  expect(await refreshWith(env.DATABASE_URL!, clients.public)).toEqual({ status: 400, error: 'invalid_grant' });
  expect(await refreshWith(env.DATABASE_URL!, { ...clients.confidential, client_secret: 'not the secret' })).toEqual({ status: 401, error: 'invalid_client' });
  return listed;
}

type Seen = { janeProfile: unknown; janeEmails: unknown; johnProfile: unknown; johnEmails: unknown };

/** What the API shows of both users, logging in with Jane's password and tokens and John's expiring token. */
async function observe(env: Record<string, string>): Promise<Seen> {
  const server = await startServer(env);
  try {
    const read = async (path: string, authorization: string) => {
      const response = await request(server, 'GET', path, authorization);
      expect(response.status, `GET ${path}`).toBe(200);
      return response.body;
    };
    const janeProfile = await read('/api/v1.1/users/janedoe/', basic('janedoe', JANE_PASSWORD));
    const janeEmails = await read('/api/v1.1/users/janedoe/emails/', basic('janedoe', JANE_PASSWORD));
    expect(await read('/api/v1.1/users/janedoe/', bearer(tokens.laptop))).toEqual(janeProfile);
    expect(await read('/api/v1.1/users/janedoe/emails/', bearer(tokens.laptop))).toEqual(janeEmails);
    const johnProfile = await read('/api/v1.1/users/johndoe/', bearer(tokens.expiring));
    const johnEmails = await read('/api/v1.1/users/johndoe/emails/', bearer(tokens.expiring));
    expect(await read('/api/v1.1/users/johndoe/', basic('johndoe', JOHN_PASSWORD))).toEqual(johnProfile);
    // The revoked token stays revoked, and a wrong password stays wrong.
    expect((await request(server, 'GET', '/api/v1.1/users/janedoe/', bearer(tokens.revoked))).status).toBe(401);
    expect((await request(server, 'GET', '/api/v1.1/users/janedoe/', basic('janedoe', 'not the password'))).status).toBe(401);
    return { janeProfile, janeEmails, johnProfile, johnEmails };
  } finally {
    await server.stop();
  }
}

const tokens = { laptop: '', revoked: '', expiring: '' };
const clients: { confidential: Client; public: Client } = { confidential: { client_id: '' }, public: { client_id: '' } };
let sqliteEnv: Record<string, string>;
let original: Seen;
let originalClients: unknown[];
let firstDump: string;

beforeAll(async () => {
  sqliteEnv = await store('sqlite');
  await cli(sqliteEnv, ['user', 'create', 'janedoe', '--email', 'Jane.Doe@Example.com', '--full-name', 'Jane Doe', '--password-stdin'], `${JANE_PASSWORD}\n`);
  await cli(sqliteEnv, ['user', 'create', 'johndoe', '--email', 'john@example.com', '--password-stdin'], `${JOHN_PASSWORD}\n`);
  const token = async (args: string[]) => (await cli(sqliteEnv, ['token', 'create', ...args])).stdout.trimEnd().split('\n').at(-1)!;
  tokens.laptop = await token(['janedoe', '--scopes', 'profile_read,profile_write,email_read,email_write', '--name', 'laptop']);
  tokens.revoked = await token(['janedoe', '--scopes', 'profile_read', '--name', 'old']);
  tokens.expiring = await token(['johndoe', '--scopes', 'profile_read,email_read', '--name', 'ci', '--expires-in', '30d']);
  await cli(sqliteEnv, ['token', 'revoke', tokens.revoked]);
  const client = async (args: string[]) => JSON.parse((await cli(sqliteEnv, ['client', 'create', ...args])).stdout.trimEnd().split('\n').at(-1)!) as Client;
  clients.confidential = await client(['--name', 'Build dashboard', '--redirect-uri', 'https://ci.example.com/callback', '--redirect-uri', 'http://127.0.0.1:8123/cb']);
  clients.public = await client(['--name', 'Desktop app', '--redirect-uri', 'http://localhost/callback', '--public']);
  expect(clients.confidential.client_secret).toEqual(expect.any(String));
  expect(clients.public.client_secret).toBeUndefined();

  // Extra addresses and a profile field, through the API (there is no CLI command for them).
  const server = await startServer(sqliteEnv);
  try {
    for (const email of ['jane@work.example', 'jane@home.example']) {
      expect((await request(server, 'POST', '/api/v1.1/users/janedoe/emails/', bearer(tokens.laptop), { email })).status).toBe(201);
    }
    expect((await request(server, 'POST', '/api/v1.1/users/johndoe/emails/', basic('johndoe', JOHN_PASSWORD), { email: 'john@home.example' })).status).toBe(201);
    expect((await request(server, 'PATCH', '/api/v1.1/users/janedoe/', bearer(tokens.laptop), { location: 'Berlin' })).status).toBe(200);
  } finally {
    await server.stop();
  }
  // Logging in here first sets the tokens' last-used times, which later logins within a minute
  // leave alone: the dumps of the stores below must be identical.
  original = await observe(sqliteEnv);
  originalClients = await observeClients(sqliteEnv);
  expect(originalClients).toHaveLength(2);

  const exported = await cli(sqliteEnv, ['export']);
  firstDump = exported.stdout;
  expect(exported.stderr).toBe('Exported 2 users, 5 emails, 3 tokens, 2 OAuth clients.\n');
  expect(firstDump).toContain(`"type":"client","client_id":"${clients.public.client_id}"`);
  expect(firstDump).not.toContain(clients.confidential.client_secret);
});

afterAll(async () => {
  for (const database of databases) await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite → PostgreSQL → SQLite', () => {
  let postgresEnv: Record<string, string>;
  let secondDump: string;

  it('imports into PostgreSQL, where the password and the tokens work and the API shows the same', async () => {
    postgresEnv = await store('postgres');
    const imported = await cli(postgresEnv, ['import'], firstDump);
    expect(imported.stdout).toBe('');
    expect(imported.stderr).toBe('Imported 2 users (2 new, 0 updated), 5 emails, 3 tokens, 2 OAuth clients (2 new).\n');
    expect(await observe(postgresEnv)).toEqual(original);
  });

  it('the OAuth clients moved to PostgreSQL: the same ids, and the confidential one authenticates with its secret', async () => {
    expect(await observeClients(postgresEnv)).toEqual(originalClients);
  });

  it('exports from PostgreSQL the same dump, but for exported_at', async () => {
    secondDump = await exportFrom(postgresEnv);
    expect(secondDump.split('\n')[0]).not.toBe(firstDump.split('\n')[0]);
    expect(body(secondDump)).toBe(body(firstDump));
  });

  it('imports that into a fresh SQLite file, where the password and the tokens work and the API shows the same', async () => {
    const backEnv = await store('sqlite');
    await cli(backEnv, ['import'], secondDump);
    expect(await observe(backEnv)).toEqual(original);
    expect(await observeClients(backEnv)).toEqual(originalClients);
    expect(body(await exportFrom(backEnv))).toBe(body(firstDump));
  });

  it('importing the same dump again into PostgreSQL changes nothing', async () => {
    const imported = await cli(postgresEnv, ['import'], firstDump);
    expect(imported.stderr).toBe('Imported 2 users (0 new, 2 updated), 5 emails, 3 tokens, 2 OAuth clients (0 new).\n');
    expect(body(await exportFrom(postgresEnv))).toBe(body(firstDump));
  });

  it('new users, addresses and tokens in PostgreSQL get ids above the imported ones', async () => {
    const ids = (dump: string, type: string) =>
      dump
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { type?: string; id?: number })
        .filter((r) => r.type === type)
        .map((r) => r.id!);
    const created = await cli(postgresEnv, ['user', 'create', 'newcomer', '--email', 'newcomer@example.com']);
    const newUser = JSON.parse(created.stdout.trimEnd().split('\n').at(-1)!) as { id: number };
    expect(newUser.id).toBeGreaterThan(Math.max(...ids(firstDump, 'user')));
    await cli(postgresEnv, ['token', 'create', 'newcomer', '--scopes', 'profile_read']);

    const after = await exportFrom(postgresEnv);
    for (const type of ['email', 'token']) {
      const fresh = ids(after, type).filter((id) => !ids(firstDump, type).includes(id));
      expect(fresh).toHaveLength(1);
      expect(fresh[0]).toBeGreaterThan(Math.max(...ids(firstDump, type)));
    }
  });
});

describe('a dump that cannot be imported leaves the target as it was', () => {
  let targetEnv: Record<string, string>;
  let before: string;

  beforeAll(async () => {
    targetEnv = await store('postgres');
    await cli(targetEnv, ['user', 'create', 'resident', '--email', 'resident@example.com']);
    before = body(await exportFrom(targetEnv));
  });

  it('a bad line 3: one line on stderr naming line 3, exit 1', async () => {
    const lines = firstDump.split('\n');
    lines[2] = lines[2]!.replace('"email_key"', '"emailkey"');
    failsWithOneLine(await runCli(['import'], { env: targetEnv, stdin: lines.join('\n') }), /^accounts: error: line 3: email: missing field "email_key"\n$/);
    expect(body(await exportFrom(targetEnv))).toBe(before);
  });

  it('a truncated dump', async () => {
    failsWithOneLine(
      await runCli(['import'], { env: targetEnv, stdin: firstDump.slice(0, Math.floor(firstDump.length * 0.6)) }),
      /^accounts: error: line \d+: the dump is truncated: the last line is incomplete\n$/,
    );
    const cut = `${firstDump.split('\n').slice(0, 5).join('\n')}\n`;
    failsWithOneLine(await runCli(['import'], { env: targetEnv, stdin: cut }), /^accounts: error: line 6: the dump is truncated: it ends without the "end" record\n$/);
    expect(body(await exportFrom(targetEnv))).toBe(before);
  });

  it('a conflicting username: nothing is imported, not even the users that do not conflict', async () => {
    // "resident" holds id 1 here; the dump gives id 1 to janedoe.
    failsWithOneLine(await runCli(['import'], { env: targetEnv, stdin: firstDump }), /^accounts: error: line 2: conflict: user id 1 is "resident" in the target, not "janedoe"\n$/);
    expect(body(await exportFrom(targetEnv))).toBe(before);

    const johnElsewhere = await store('sqlite');
    await cli(johnElsewhere, ['user', 'create', 'aaaa1111', '--email', 'a@example.com']);
    await cli(johnElsewhere, ['user', 'create', 'bbbb2222', '--email', 'b@example.com']);
    await cli(johnElsewhere, ['user', 'create', 'johndoe', '--email', 'other.john@example.com']);
    const held = body(await exportFrom(johnElsewhere));
    // Shift the dump's ids past the target's, so that only the username collides.
    const shifted = firstDump
      .split('\n')
      .map((line) => line.replace(/"(id|user_id)":(\d+)/g, (_m, field: string, id: string) => `"${field}":${Number(id) + 100}`))
      .join('\n');
    failsWithOneLine(
      await runCli(['import'], { env: johnElsewhere, stdin: shifted }),
      /^accounts: error: line \d+: conflict: the username "johndoe" belongs to user 3 in the target, not to user 102\n$/,
    );
    expect(body(await exportFrom(johnElsewhere))).toBe(held);
  });
});
