// Against a real server process: every authentication failure looks the same — body,
// headers, and about the same time — and brute force meets 429 with Retry-After.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, makeTempDir } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { freePort, runCli, startServer, type ServerProcess } from '../support/processes.ts';
import { cliCreateUser, databaseEnv } from '../support/e2e.ts';

const PASSWORD = 'real process password';
const dir = makeTempDir('accounts-e2e-authfail-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
let server: ServerProcess;
let metricsPort: number;

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  await cliCreateUser(env, 'present', 'present@example.com', PASSWORD);
  await cliCreateUser(env, 'sleeping', 'sleeping@example.com', PASSWORD);
  expect((await runCli(['user', 'deactivate', 'sleeping'], { env })).code).toBe(0);
  await cliCreateUser(env, 'hammered', 'hammered@example.com', PASSWORD);
  // A high per-IP budget: this file sends many failures from one address on purpose. Metrics on
  // a port of their own, as an operator keeps them off the public one.
  metricsPort = await freePort();
  server = await startServer({ ...env, LOGIN_IP_MAX_FAILURES: '10000', METRICS_PORT: String(metricsPort) });
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function timed(authorization: string): Promise<{ status: number; body: string; challenge: string | null; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${server.url}/api/v1.1/users/present/`, { headers: { authorization } });
  const body = await res.text();
  return { status: res.status, body, challenge: res.headers.get('www-authenticate'), ms: performance.now() - started };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('answers an unknown user, a wrong password and a deactivated account alike, in about the same time', async () => {
  const kinds = {
    unknown: (i: number) => basic(`nobody${i}x`, 'some password'),
    wrong: (i: number) => basic('present', `wrong password ${i}`),
    deactivated: () => basic('sleeping', PASSWORD),
  };
  const samples: Record<string, number[]> = { unknown: [], wrong: [], deactivated: [] };
  let reference: { body: string; challenge: string | null } | undefined;
  // Interleaved, so that load on the machine falls on every kind alike. Fewer than 10 failures
  // per account, so the brute-force limit stays out of it.
  for (let i = 0; i < 9; i++) {
    for (const [kind, header] of Object.entries(kinds)) {
      const answer = await timed(header(i));
      expect(answer.status, kind).toBe(401);
      reference ??= answer;
      expect(answer.body, kind).toBe(reference.body);
      expect(answer.challenge, kind).toBe(reference.challenge);
      samples[kind]!.push(answer.ms);
    }
  }
  // Without the dummy hash an unknown user would answer many times faster than a wrong password
  // (no argon2 at all); with it, the medians stay within a small factor of each other.
  const wrong = median(samples.wrong!);
  for (const kind of ['unknown', 'deactivated']) {
    const ratio = median(samples[kind]!) / wrong;
    expect(ratio, `${kind} vs wrong password: ${JSON.stringify(samples)}`).toBeGreaterThan(0.4);
    expect(ratio, `${kind} vs wrong password: ${JSON.stringify(samples)}`).toBeLessThan(2.5);
  }
});

it('meets brute force on one account with 429 and Retry-After, the right password included, then recovers', async () => {
  const url = `${server.url}/api/v1.1/users/hammered/`;
  for (let i = 0; i < 10; i++) expect((await fetch(url, { headers: { authorization: basic('hammered', `guess ${i} of many`) } })).status).toBe(401);
  const blocked = await fetch(url, { headers: { authorization: basic('hammered', PASSWORD) } });
  expect(blocked.status).toBe(429);
  expect(blocked.headers.get('retry-after')).toBe('1');
  expect(((await blocked.json()) as { code: string }).code).toBe('too_many_requests');
  await new Promise((r) => setTimeout(r, 1_100));
  expect((await fetch(url, { headers: { authorization: basic('hammered', PASSWORD) } })).status).toBe(200);
});

it('serves the server’s own counters on METRICS_PORT only, with one reason for every kind of wrong credentials', async () => {
  expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.status).toBe(200);
  const failures = (await res.text()).split('\n').filter((line) => line.startsWith('accounts_auth_failures_total'));
  // The tests above sent unknown users, wrong passwords and a deactivated account: one label.
  expect(failures.some((line) => /^accounts_auth_failures_total\{reason="bad_credentials"\} [1-9]\d*$/.test(line))).toBe(true);
  expect(failures.filter((line) => /unknown_user|bad_password|inactive/.test(line))).toEqual([]);
});
