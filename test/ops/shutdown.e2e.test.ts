// SIGTERM lets in-flight requests finish, then the server closes the database and exits 0.
// Basic auth makes every request spend real time in argon2 — each with its own account, since
// concurrent checks of the same credentials share one verification — so requests are still in
// flight when the signal lands.
import { rmSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, makeTempDir } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import { cliCreateUser, databaseEnv, tally, withTestStore } from '../support/e2e.ts';

const PASSWORD = 'shutdown password';
const CONCURRENT = 40; // enough argon2 work that some requests are still in flight when the signal lands, even on a loaded machine

const dir = makeTempDir('accounts-e2e-shutdown-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  await cliCreateUser(env, 'stopper', 'stopper@example.com', PASSWORD);
  await cloneAccount('stopper', Array.from({ length: CONCURRENT - 1 }, (_, i) => `stopper${i + 1}`));
});

/**
 * Copies of an account the CLI made (the same password hash and profile), under other names, each
 * with its own primary address: distinct credentials without a process spawn each.
 */
async function cloneAccount(from: string, names: readonly string[]): Promise<void> {
  await withTestStore(database!, async ({ db }) => {
    const { id: _id, ...base } = await db.selectFrom('users').selectAll().where('username', '=', from).executeTakeFirstOrThrow();
    for (const name of names) {
      // email_count (kept by triggers, not in the row type) starts at 0: the address below counts.
      const row = { ...base, username: name, email_count: 0 } as typeof base;
      const { id } = await db.insertInto('users').values(row).returning('id').executeTakeFirstOrThrow();
      const email = `${name}@example.com`;
      await db.insertInto('emails').values({ user_id: id, email, email_key: email, verified: 1, is_primary: 1, created_at: base.date_joined }).execute();
    }
  });
}

afterAll(async () => {
  // A test that failed half-way must not leave a server running.
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<ServerProcess> {
  const server = await startServer(env);
  servers.push(server);
  return server;
}

type Outcome = { status: number; body: string } | { error: string };

/**
 * Opens `count` keep-alive connections (fetch keeps them for the next requests), so that the
 * requests that follow are written at once on connections the server has already accepted.
 */
async function warmUp(server: ServerProcess, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, async () => (await fetch(`${server.url}/healthz`)).arrayBuffer()));
}

/**
 * Fires `requests` at once and sends SIGTERM as soon as the server has received all of them (its
 * log says so) or the first response arrives, whichever is later. A request still on its way
 * when the server closes is the client's to retry (HTTP keep-alive has that race by nature); the
 * promise tested here is about requests the server has accepted.
 */
async function terminateMidway(
  server: ServerProcess,
  paths: readonly string[],
  requests: Array<() => Promise<Response>>,
): Promise<{ outcomes: Outcome[]; receivedBeforeSignal: number; finishedAfterSignal: number }> {
  await warmUp(server, requests.length);
  let firstResponse!: () => void;
  const firstArrived = new Promise<void>((resolve) => (firstResponse = resolve));
  const outcomes = Promise.all(
    requests.map(async (send): Promise<Outcome> => {
      try {
        const response = await send();
        firstResponse();
        return { status: response.status, body: await response.text() };
      } catch (error) {
        firstResponse();
        const cause = (error as { cause?: { code?: string } }).cause;
        return { error: `${String(error)} ${cause?.code ?? ''}` };
      }
    }),
  );
  const incoming = [...new Set(paths)].map((path) => `"path":${JSON.stringify(path)},"ip":"127.0.0.1"},"msg":"incoming request"`);
  const received = (log: string) => incoming.reduce((n, line) => n + log.split(line).length - 1, 0);
  const allReceived = (async () => {
    while (received(server.output()) < requests.length) await new Promise((r) => setTimeout(r, 2));
  })();
  await Promise.all([firstArrived, allReceived]);
  server.child.kill('SIGTERM');
  const results = await outcomes;
  await server.exited;

  // From the log: how many requests the server had received when it began to shut down, and
  // how many it finished after that (the signal must land while requests are in flight).
  const [before = '', after = ''] = server.output().split('"msg":"shutting down: finishing in-flight requests"');
  return {
    outcomes: results,
    receivedBeforeSignal: received(before),
    finishedAfterSignal: after.split('"msg":"request completed"').length - 1,
  };
}

/**
 * The database is intact after the server stopped. SQLite: the file passes PRAGMA
 * integrity_check (pages, indexes, constraints). PostgreSQL has no built-in equivalent (amcheck is
 * an extension), and its WAL makes a stopped client irrelevant to its files; there, and on SQLite
 * too, every table is readable and what the triggers keep agrees with the rows.
 */
async function expectIntact(): Promise<void> {
  if (database!.dialect === 'sqlite') {
    const file = new Sqlite(database!.url.slice('sqlite:'.length));
    try {
      expect(file.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      file.close();
    }
  }
  await withTestStore(database!, async ({ db }) => {
    for (const table of ['users', 'emails', 'access_tokens', 'schema_migrations'] as const) {
      await sql`SELECT * FROM ${sql.table(table)}`.execute(db);
    }
    const { rows } = await sql<{ username: string; email_count: number; emails: number; primaries: number }>`
      SELECT u.username, u.email_count,
             (SELECT COUNT(*) FROM emails e WHERE e.user_id = u.id) AS emails,
             (SELECT COUNT(*) FROM emails e WHERE e.user_id = u.id AND e.is_primary = 1) AS primaries
      FROM users u`.execute(db);
    const counted = rows.map((r) => ({ username: r.username, email_count: Number(r.email_count), emails: Number(r.emails), primaries: Number(r.primaries) }));
    expect(counted.length).toBeGreaterThan(0);
    expect(counted).toEqual(counted.map((r) => ({ ...r, emails: r.email_count, primaries: 1 })));
  });
}

/**
 * Runs a scenario until the signal lands while requests are still in flight (a fast machine can
 * finish them all first, and then the run proves nothing), at most three times.
 */
async function whileInFlight<T extends { finishedAfterSignal: number }>(scenario: (attempt: number) => Promise<T>): Promise<T> {
  let result = await scenario(1);
  for (let attempt = 2; attempt <= 3 && result.finishedAfterSignal === 0; attempt++) result = await scenario(attempt);
  return result;
}

describe('SIGTERM', () => {
  it('lets every in-flight request finish with a 200, then exits 0 and logs "stopped"', async () => {
    const users = ['stopper', ...Array.from({ length: CONCURRENT - 1 }, (_, i) => `stopper${i + 1}`)];
    const paths = users.map((user) => `/api/v1.1/users/${user}/`);
    const { server, outcomes, receivedBeforeSignal, finishedAfterSignal, code } = await whileInFlight(async () => {
      const server = await start();
      const requests = users.map((user, i) => () => fetch(`${server.url}${paths[i]}`, { headers: { authorization: basic(user, PASSWORD) } }));
      const result = await terminateMidway(server, paths, requests);
      return { ...result, server, code: await server.exited };
    });

    const statuses = outcomes.map((o) => ('status' in o ? o.status : -1));
    expect(
      outcomes.filter((o) => 'error' in o),
      'requests that were reset',
    ).toEqual([]);
    expect(tally(statuses)).toEqual({ 200: CONCURRENT });
    expect(receivedBeforeSignal).toBe(CONCURRENT);
    expect(finishedAfterSignal).toBeGreaterThan(0);
    for (const o of outcomes) if ('body' in o) expect(users).toContain(JSON.parse(o.body).username);
    expect(code).toBe(0);
    expect(server.output()).toContain('"msg":"shutting down: finishing in-flight requests"');
    expect(server.output()).toContain('"msg":"stopped"');
    await expectIntact();
  });

  it('lets in-flight writes commit; the database is intact and holds every acknowledged write', async () => {
    const { server, outcomes, receivedBeforeSignal, finishedAfterSignal, code, addresses, writer } = await whileInFlight(async (attempt) => {
      // Fresh accounts each attempt, one per request (each its own password check).
      const writer = `writer${attempt}`;
      const writers = Array.from({ length: 19 }, (_, i) => `${writer}x${i}`);
      await cloneAccount('stopper', writers);
      const server = await start();
      const paths = writers.map((name) => `/api/v1.1/users/${name}/emails/`);
      const addresses = writers.map((name) => `${name}.second@example.com`);
      const requests = writers.map(
        (name, i) => () =>
          fetch(`${server.url}${paths[i]}`, { method: 'POST', headers: { authorization: basic(name, PASSWORD), 'content-type': 'application/json' }, body: JSON.stringify({ email: addresses[i] }) }),
      );
      const result = await terminateMidway(server, paths, requests);
      return { ...result, server, code: await server.exited, addresses, writer };
    });

    expect(
      outcomes.filter((o) => 'error' in o),
      'requests that were reset',
    ).toEqual([]);
    expect(tally(outcomes.map((o) => ('status' in o ? o.status : -1)))).toEqual({ 201: addresses.length });
    expect(receivedBeforeSignal).toBe(addresses.length);
    expect(finishedAfterSignal).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');

    await expectIntact();
    await withTestStore(database!, async ({ db }) => {
      const rows = await db
        .selectFrom('emails')
        .innerJoin('users', 'users.id', 'emails.user_id')
        .select('emails.email')
        .where('users.username', 'like', `${writer}x%`)
        .where('emails.is_primary', '=', 0)
        .orderBy('emails.email')
        .execute();
      expect(rows.map((r) => r.email)).toEqual([...addresses].sort());
      const counts = await db.selectFrom('users').select('email_count').where('username', 'like', `${writer}x%`).execute();
      expect(counts.map((u) => u.email_count)).toEqual(addresses.map(() => 2));
    });
  });
});
