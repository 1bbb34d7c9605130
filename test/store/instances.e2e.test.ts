// Several instances on one database: real `accounts serve` processes sharing
// one database of the project's dialect (one PostgreSQL database in the postgres project, one
// SQLite file in the sqlite project), as N instances behind a load balancer would:
// - started at the same moment on an empty database, they migrate it exactly once;
// - a write through one instance is read through every other at once;
// - a revoked token, a changed password, a deactivated account (changed by the CLI, another
//   process) stop working on every instance within 5 seconds.
// The other two points, concurrent adds of one address through different instances (exactly one
// 201) and concurrent PATCHes of different fields through different instances (nothing lost),
// are concurrency.e2e.test.ts, which runs two instances on one database of each dialect too.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/kernel/db/migrations/index.ts';
import { basic, bearer, makeTempDir } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { runCli, startServer, type ServerProcess } from '../support/processes.ts';
import { ALL_SCOPES, cliCreateToken, cliCreateUser, databaseEnv, eventually, withTestStore } from '../support/e2e.ts';

const INSTANCES = 3;
const WITHIN_MS = 5_000;
const PASSWORD = 'instances password 1';
const NEW_PASSWORD = 'instances password 2';
const ERROR_LOG = /"level":(50|60)/;

const dir = makeTempDir('accounts-e2e-instances-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
let servers: ServerProcess[] = [];

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  // Every instance starts at the same moment on the empty database: they race to migrate it.
  const started = await Promise.allSettled(Array.from({ length: INSTANCES }, () => startServer(env)));
  servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])); // whatever started is stopped in afterAll
  for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Answer = { status: number; body: unknown };

async function call(server: ServerProcess, method: string, path: string, authorization: string, body?: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${server.url}/api/v1.1/users/${path}`, {
    method,
    headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** The status every instance answers to GET /users/USERNAME/ with these credentials, in order. */
async function statuses(username: string, authorization: string): Promise<number[]> {
  return Promise.all(servers.map(async (server) => (await call(server, 'GET', `${username}/`, authorization)).status));
}

async function cli(args: string[], stdin?: string): Promise<void> {
  const result = await runCli(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  expect(result.code, result.stderr).toBe(0);
}

type Expectation = { username: string; authorization: string; status: number; what: string };

/**
 * Polls every instance with every credential until each answers its expected status, and fails
 * unless that happens within 5 s of `since` (when the CLI that made the change had finished).
 */
async function expectEveryInstanceWithin5s(since: number, expectations: Expectation[]): Promise<void> {
  let answers: Record<string, number[]> = {};
  const wanted = Object.fromEntries(expectations.map((e) => [e.what, Array<number>(INSTANCES).fill(e.status)]));
  const reached = await eventually(async () => {
    answers = Object.fromEntries(await Promise.all(expectations.map(async (e) => [e.what, await statuses(e.username, e.authorization)] as const)));
    return expectations.every((e) => answers[e.what]!.every((s) => s === e.status));
  }, since + WITHIN_MS - Date.now());
  expect(answers, `what every instance answered ${WITHIN_MS} ms after the change`).toEqual(wanted);
  expect(reached).toBe(true);
}

/** Runs the CLI and returns when it had finished: the change is committed by then. */
async function change(args: string[], stdin?: string): Promise<number> {
  await cli(args, stdin);
  return Date.now();
}

describe(`${INSTANCES} instances on one database`, () => {
  it('started at the same moment on an empty database: every one becomes ready, the migrations run exactly once, nothing logs an error', async () => {
    expect(servers).toHaveLength(INSTANCES);
    for (const server of servers) {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect(server.output()).toContain('"msg":"accounts service ready"');
      expect(server.output()).not.toMatch(ERROR_LOG);
    }
    const applied = await withTestStore(database!, ({ db }) => db.selectFrom('schema_migrations').select('name').execute());
    expect(applied.map((r) => r.name).sort()).toEqual(migrations.map((m) => m.name));
  });

  it('a write through one instance is read through every other at once', async () => {
    await cliCreateUser(env, 'writer', 'writer@example.com', PASSWORD);
    const auth = bearer(await cliCreateToken(env, 'writer', ALL_SCOPES));
    // Every instance has read the user before it changes, so a cache anywhere would show.
    expect(await statuses('writer', auth)).toEqual(Array(INSTANCES).fill(200));

    for (let round = 0; round < INSTANCES * 2; round++) {
      const a = servers[round % INSTANCES]!;
      const b = servers[(round + 1) % INSTANCES]!;
      const c = servers[(round + 2) % INSTANCES]!;
      const others = servers.filter((s) => s !== a);

      // PATCH on A; GET on every other instance, no waiting.
      const patched = await call(a, 'PATCH', 'writer/', auth, { full_name: `Writer ${round}`, location: `Place ${round}` });
      expect(patched.status).toBe(200);
      for (const other of others) {
        const read = await call(other, 'GET', 'writer/', auth);
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ full_name: `Writer ${round}`, location: `Place ${round}` });
      }

      // POST an address on B; GET on A. DELETE it on A; GET on B.
      const address = `writer.${round}@example.com`;
      expect((await call(b, 'POST', 'writer/emails/', auth, { email: address })).status).toBe(201);
      const listed = await call(a, 'GET', 'writer/emails/', auth);
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual([
        { email: 'writer@example.com', verified: true, primary: true },
        { email: address, verified: false, primary: false },
      ]);
      expect((await call(a, 'DELETE', 'writer/emails/', auth, { email: address })).status).toBe(204);
      expect((await call(b, 'GET', 'writer/emails/', auth)).body).toEqual([{ email: 'writer@example.com', verified: true, primary: true }]);
      // Re-adding what was just deleted, through yet another instance, is allowed again.
      expect((await call(c, 'POST', 'writer/emails/', auth, { email: address })).status).toBe(201);
      expect((await call(a, 'DELETE', 'writer/emails/', auth, { email: address })).status).toBe(204);
    }
  });
});

describe('changes the CLI makes in another process stop working on every instance within 5 s', () => {
  beforeAll(async () => {
    await Promise.all([
      cliCreateUser(env, 'revoker', 'revoker@example.com', PASSWORD),
      cliCreateUser(env, 'changer', 'changer@example.com', PASSWORD),
      cliCreateUser(env, 'sleeper', 'sleeper@example.com', PASSWORD),
    ]);
  });

  it('a revoked token, as Bearer and as a Basic password; another token of the user keeps working everywhere', async () => {
    const [revoked, kept] = await Promise.all([cliCreateToken(env, 'revoker', ALL_SCOPES), cliCreateToken(env, 'revoker', ALL_SCOPES)]);
    // Used on every instance first, so that any cache of it would be warm.
    expect(await statuses('revoker', bearer(revoked))).toEqual(Array(INSTANCES).fill(200));
    expect(await statuses('revoker', basic('revoker', revoked))).toEqual(Array(INSTANCES).fill(200));

    const since = await change(['token', 'revoke', revoked]);

    await expectEveryInstanceWithin5s(since, [
      { what: 'revoked token as Bearer', username: 'revoker', authorization: bearer(revoked), status: 401 },
      { what: 'revoked token as Basic', username: 'revoker', authorization: basic('revoker', revoked), status: 401 },
      { what: 'the other token', username: 'revoker', authorization: bearer(kept), status: 200 },
    ]);
  });

  it('a changed password: the old one is refused and the new one accepted everywhere', async () => {
    expect(await statuses('changer', basic('changer', PASSWORD))).toEqual(Array(INSTANCES).fill(200));

    const since = await change(['user', 'set-password', 'changer', '--password-stdin'], `${NEW_PASSWORD}\n`);

    await expectEveryInstanceWithin5s(since, [
      { what: 'old password', username: 'changer', authorization: basic('changer', PASSWORD), status: 401 },
      { what: 'new password', username: 'changer', authorization: basic('changer', NEW_PASSWORD), status: 200 },
    ]);
  });

  it('a deactivated account: its password and its token are refused everywhere', async () => {
    const token = await cliCreateToken(env, 'sleeper', ALL_SCOPES);
    expect(await statuses('sleeper', basic('sleeper', PASSWORD))).toEqual(Array(INSTANCES).fill(200));
    expect(await statuses('sleeper', bearer(token))).toEqual(Array(INSTANCES).fill(200));

    const since = await change(['user', 'deactivate', 'sleeper']);

    await expectEveryInstanceWithin5s(since, [
      { what: 'password', username: 'sleeper', authorization: basic('sleeper', PASSWORD), status: 401 },
      { what: 'token as Bearer', username: 'sleeper', authorization: bearer(token), status: 401 },
      { what: 'token as Basic', username: 'sleeper', authorization: basic('sleeper', token), status: 401 },
    ]);
  });

  it('logged no error on any instance', () => {
    for (const server of servers) expect(server.output()).not.toMatch(ERROR_LOG);
  });
});
