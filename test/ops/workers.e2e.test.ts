// WORKERS=2: two processes serve one port, on either store, and stop together on SIGTERM.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, makeTempDir } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import { cliCreateUser, databaseEnv } from '../support/e2e.ts';
import { scaled } from '../support/time.ts';
import { get as httpGet } from 'node:http';

const PASSWORD = 'two workers password';
const dir = makeTempDir('accounts-e2e-workers-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
let server: ServerProcess | undefined;

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  await cliCreateUser(env, 'clustered', 'clustered@example.com', PASSWORD);
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('serves from two processes with one view of the data, and drains both on SIGTERM', async () => {
  server = await startServer({ ...env, WORKERS: '2' });
  const url = `${server.url}/api/v1.1/users/clustered/`;
  const authorization = basic('clustered', PASSWORD);
  // Wait until both workers said they are ready.
  const readyPids = () => new Set([...server!.output().matchAll(/"pid":(\d+)[^\n]*"msg":"accounts service ready"/g)].map((m) => m[1]));
  const deadline = Date.now() + scaled(20_000);
  while (readyPids().size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(readyPids().size).toBe(2);
  // A first start (the CLI made no keys): the primary makes the OAuth signing key, once, rather
  // than each worker making one of its own at once.
  expect(server.output().match(/[^\n]*"msg":"making the OAuth signing key \(first start only\)"/g)).toEqual([expect.stringContaining('"name":"primary"')]);

  // Each write is read back at once, whichever worker answers which request.
  for (let i = 0; i < 10; i++) {
    const patched = await fetch(url, { method: 'PATCH', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ location: `round ${i}` }) });
    expect(patched.status).toBe(200);
    const read = await fetch(url, { headers: { authorization } });
    expect(((await read.json()) as { location: string }).location).toBe(`round ${i}`);
  }
  // Twenty requests, each on a connection of its own (fetch would reuse its keep-alive ones when
  // answers are quick), which the primary deals out to both workers in turn.
  const onNewConnection = () =>
    new Promise<number>((resolve, reject) => {
      const request = httpGet(url, { headers: { authorization }, agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
    });
  // Which worker takes a connection is the primary's and the kernel's choice: when answers are
  // quick one may take a whole round, so up to ten rounds until both have answered.
  const answeredBy = () => new Set([...server!.output().matchAll(/"pid":(\d+)[^\n]*"msg":"request completed"/g)].map((m) => m[1]));
  for (let round = 0; round < 10 && answeredBy().size < 2; round++) {
    const reads = await Promise.all(Array.from({ length: 20 }, onNewConnection));
    expect(reads).toEqual(Array(20).fill(200));
  }
  expect(answeredBy().size).toBe(2);

  expect(await server.stop('SIGTERM')).toBe(0);
  expect(server.output()).toContain('"msg":"all workers stopped"');
  expect(server.output().match(/"msg":"stopped"/g)?.length).toBe(2);
});
