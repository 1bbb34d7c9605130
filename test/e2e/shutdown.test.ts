// SIGTERM lets in-flight requests finish, then the server closes the database and exits 0
// (issue 2, item 9). Basic auth makes every request spend real time in argon2, so requests are
// still in flight when the signal lands.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, makeTempDir } from '../support/app.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import { cliCreateUser, databaseEnv, tally } from './helpers.ts';

const PASSWORD = 'shutdown password';
const CONCURRENT = 20;

const dir = makeTempDir('accounts-e2e-shutdown-');
const env = databaseEnv(dir);
const servers: ServerProcess[] = [];

beforeAll(async () => {
  await cliCreateUser(env, 'stopper', 'stopper@example.com', PASSWORD);
});

afterAll(async () => {
  // A test that failed half-way must not leave a server running.
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
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

/** Fires `requests` at once and sends SIGTERM as soon as the first response arrives. */
async function terminateMidway(
  server: ServerProcess,
  path: string,
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
  await firstArrived;
  server.child.kill('SIGTERM');
  const results = await outcomes;
  await server.exited;

  // From the log: how many requests the server had received when it began to shut down, and
  // how many it finished after that (the signal must land while requests are in flight).
  const [before = '', after = ''] = server.output().split('"msg":"shutting down: finishing in-flight requests"');
  return {
    outcomes: results,
    receivedBeforeSignal: before.split(`"path":${JSON.stringify(path)},"ip":"127.0.0.1"},"msg":"incoming request"`).length - 1,
    finishedAfterSignal: after.split('"msg":"request completed"').length - 1,
  };
}

function integrityCheck(): string {
  const database = new Sqlite(join(dir, 'accounts.db'));
  try {
    return database.pragma('integrity_check', { simple: true }) as string;
  } finally {
    database.close();
  }
}

describe('SIGTERM', () => {
  it('lets every in-flight request finish with a 200, then exits 0 and logs "stopped"', async () => {
    const server = await start();
    const path = '/api/v1.1/users/stopper/';
    const url = `${server.url}${path}`;
    const authorization = basic('stopper', PASSWORD);
    const requests = Array.from({ length: CONCURRENT }, () => () => fetch(url, { headers: { authorization } }));

    const { outcomes, receivedBeforeSignal, finishedAfterSignal } = await terminateMidway(server, path, requests);
    const code = await server.exited;

    const statuses = outcomes.map((o) => ('status' in o ? o.status : -1));
    expect(
      outcomes.filter((o) => 'error' in o),
      'requests that were reset',
    ).toEqual([]);
    expect(tally(statuses)).toEqual({ 200: CONCURRENT });
    expect(receivedBeforeSignal).toBe(CONCURRENT);
    expect(finishedAfterSignal).toBeGreaterThan(0);
    for (const o of outcomes) if ('body' in o) expect(JSON.parse(o.body)).toMatchObject({ username: 'stopper' });
    expect(code).toBe(0);
    expect(server.output()).toContain('"msg":"shutting down: finishing in-flight requests"');
    expect(server.output()).toContain('"msg":"stopped"');
    expect(integrityCheck()).toBe('ok');
  });

  it('lets in-flight writes commit; the database file is intact and holds every acknowledged write', async () => {
    const server = await start();
    const path = '/api/v1.1/users/stopper/emails/';
    const url = `${server.url}${path}`;
    const authorization = basic('stopper', PASSWORD);
    const addresses = Array.from({ length: 10 }, (_, i) => `stopper.${i}@example.com`);
    const requests = addresses.map(
      (email) => () => fetch(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ email }) }),
    );

    const { outcomes, receivedBeforeSignal, finishedAfterSignal } = await terminateMidway(server, path, requests);
    const code = await server.exited;

    expect(
      outcomes.filter((o) => 'error' in o),
      'requests that were reset',
    ).toEqual([]);
    expect(tally(outcomes.map((o) => ('status' in o ? o.status : -1)))).toEqual({ 201: addresses.length });
    expect(receivedBeforeSignal).toBe(addresses.length);
    expect(finishedAfterSignal).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');

    expect(integrityCheck()).toBe('ok');
    const database = new Sqlite(join(dir, 'accounts.db'), { readonly: true });
    try {
      const rows = database.prepare('SELECT email FROM emails WHERE is_primary = 0 ORDER BY email').all() as Array<{ email: string }>;
      expect(rows.map((r) => r.email)).toEqual([...addresses].sort());
      const user = database.prepare("SELECT email_count FROM users WHERE username = 'stopper'").get() as { email_count: number };
      expect(user.email_count).toBe(addresses.length + 1);
    } finally {
      database.close();
    }
  });
});
