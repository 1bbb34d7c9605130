// The invariants of the store hold under real concurrency: two
// server processes on one database of the project's dialect (a SQLite file, or one PostgreSQL
// database), each with many requests in flight at once. The database, not a
// read-then-write in the service, has to keep them: one account per address (case-insensitively),
// at most 20 addresses, exactly one primary, and PATCHes of different fields never lose each other.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTempDir } from '../support/app.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import type { TestDatabase } from '../support/database.ts';
import { ALL_SCOPES, cliCreateToken, cliCreateUser, databaseEnv, tally } from '../support/e2e.ts';

const dir = makeTempDir('accounts-e2e-concurrency-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
const USERS = ['samer', 'sharer', 'filler', 'profiler', 'deleter'] as const;
type Username = (typeof USERS)[number];

let servers: ServerProcess[] = [];
const tokens = {} as Record<Username, string>;

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  env = { ...env, LOG_LEVEL: 'warn' };
  // Both servers and the CLI start at once on an empty database: they race to migrate it.
  const starting = Promise.allSettled([startServer(env), startServer(env)]);
  const creating = Promise.allSettled(USERS.map((u) => cliCreateUser(env, u, `${u}@example.com`, 'concurrent creation password')));
  const [started, created] = await Promise.all([starting, creating]);
  servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])); // whatever started is stopped in afterAll
  for (const outcome of [...started, ...created]) if (outcome.status === 'rejected') throw outcome.reason;
  const made = await Promise.all(USERS.map((u) => cliCreateToken(env, u, ALL_SCOPES)));
  USERS.forEach((u, i) => (tokens[u] = made[i]!));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Answer = { status: number; body: unknown };

/** One request to server `which` (0 or 1) as `username`; a body goes as JSON, or as a form when `form`. */
async function call(which: number, method: string, username: Username, path: '' | 'emails/', body?: Record<string, string>, form = false): Promise<Answer> {
  const server = servers[which % servers.length]!;
  const headers: Record<string, string> = { authorization: bearer(tokens[username]) };
  let payload: string | undefined;
  if (body) {
    headers['content-type'] = form ? 'application/x-www-form-urlencoded' : 'application/json';
    payload = form ? new URLSearchParams(body).toString() : JSON.stringify(body);
  }
  const response = await fetch(`${server.url}/api/v1.1/users/${username}/${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/**
 * Opens `perServer` keep-alive connections to each server (fetch keeps them for the next
 * requests), so that a burst that follows reaches the servers at once instead of trickling in
 * behind TCP handshakes.
 */
async function warmUp(perServer: number): Promise<void> {
  await Promise.all(
    servers.flatMap((server) =>
      Array.from({ length: perServer }, async () => {
        await (await fetch(`${server.url}/healthz`)).arrayBuffer();
      }),
    ),
  );
}

type Email = { email: string; verified: boolean; primary: boolean };

async function emailsOf(username: Username, which = 0): Promise<Email[]> {
  const answer = await call(which, 'GET', username, 'emails/');
  expect(answer.status).toBe(200);
  return answer.body as Email[];
}

/** "a@x.com" → a different mix of upper and lower case for each n. */
function caseVariant(address: string, n: number): string {
  return [...address].map((c, i) => (((n >> i % 8) & 1) === 1 ? c.toUpperCase() : c.toLowerCase())).join('');
}

function codes(answers: Answer[], status: number): string[] {
  return answers.filter((a) => a.status === status).map((a) => (a.body as { code: string }).code);
}

describe('two servers on one database, many concurrent requests to each', () => {
  it('20 concurrent POSTs of one address (case variants) by one user: exactly one 201, the rest 400 invalid', async () => {
    const address = 'Same.Address@Example.com';
    await warmUp(10);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i, 'POST', 'samer', 'emails/', { email: caseVariant(address, i) }, i % 3 === 0)),
    );

    expect(tally(answers.map((a) => a.status))).toEqual({ 201: 1, 400: 19 });
    expect(codes(answers, 400)).toEqual(Array(19).fill('invalid'));
    const held = (await emailsOf('samer', 1)).filter((e) => e.email.toLowerCase() === address.toLowerCase());
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ verified: false, primary: false });
  });

  it('20 concurrent POSTs of one address (case variants) by three users: exactly one 201, one holder', async () => {
    const address = 'a@x.com';
    // (profiler's addresses are not looked at again; filler's and deleter's are.)
    const claimants = ['samer', 'sharer', 'profiler'] as const;
    await warmUp(10);
    const answers = await Promise.all(
      // Every user sends through both servers.
      Array.from({ length: 20 }, (_, i) => call(i, 'POST', claimants[Math.floor(i / 2) % claimants.length]!, 'emails/', { email: caseVariant(address, i) })),
    );

    expect(tally(answers.map((a) => a.status))).toEqual({ 201: 1, 400: 19 });
    expect(codes(answers, 400)).toEqual(Array(19).fill('invalid'));
    const holders = await Promise.all(claimants.map(async (u) => (await emailsOf(u)).filter((e) => e.email.toLowerCase() === address).length));
    expect(holders.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('30 concurrent POSTs of distinct addresses to a user with 1: exactly 19 succeed, 20 in all, one primary', async () => {
    const addresses = Array.from({ length: 30 }, (_, i) => `filler.${i}@example.com`);
    await warmUp(15);
    const answers = await Promise.all(addresses.map((email, i) => call(i, 'POST', 'filler', 'emails/', { email }, i % 4 === 0)));

    expect(tally(answers.map((a) => a.status))).toEqual({ 201: 19, 400: 11 });
    expect(codes(answers, 400)).toEqual(Array(11).fill('invalid'));
    const added = addresses.filter((_, i) => answers[i]!.status === 201);

    const emails = await emailsOf('filler', 1);
    expect(emails).toHaveLength(20);
    expect(emails.filter((e) => e.primary)).toEqual([{ email: 'filler@example.com', verified: true, primary: true }]);
    expect(emails[0]!.primary).toBe(true); // primary first
    expect(new Set(emails.filter((e) => !e.primary).map((e) => e.email))).toEqual(new Set(added));
    // Full is full, from either server.
    expect((await call(0, 'POST', 'filler', 'emails/', { email: 'one.more@example.com' })).status).toBe(400);
    expect((await call(1, 'POST', 'filler', 'emails/', { email: 'one.more@example.com' })).status).toBe(400);
  });

  it('concurrent PATCHes of different fields, in rounds across both servers, lose nothing', async () => {
    const md5 = (s: string) => createHash('md5').update(s.trim().toLowerCase()).digest('hex');
    const valuesFor = (round: number) => ({
      full_name: `Name ${round}`,
      location: `Place ${round}`,
      company: `Company ${round}`,
      profile_url: `https://example.com/${round}`,
      gravatar_email: `Avatar.${round}@Example.com`,
    });

    for (let round = 1; round <= 8; round++) {
      const values = valuesFor(round);
      await warmUp(5);
      const patches = Object.entries(values).map(([field, value], i) => call(round + i, 'PATCH', 'profiler', '', { [field]: value }, (round + i) % 3 === 0));
      // Readers in flight at the same time, on both servers.
      const reads = [0, 1, 2, 3].map((i) => call(i, 'GET', 'profiler', ''));
      const answers = await Promise.all([...patches, ...reads]);
      expect(answers.map((a) => a.status)).toEqual(Array(9).fill(200));

      for (const which of [0, 1]) {
        const user = (await call(which, 'GET', 'profiler', '')).body as Record<string, unknown>;
        expect(user).toMatchObject({
          full_name: values.full_name,
          location: values.location,
          company: values.company,
          profile_url: values.profile_url,
          gravatar_url: `https://secure.gravatar.com/avatar/${md5(values.gravatar_email)}.jpg?s=80&r=g&d=mm`,
          email: 'profiler@example.com',
        });
      }
    }
  });

  it('concurrent DELETEs of one secondary: exactly one 204, the rest 404; DELETE of the primary is always 400', async () => {
    for (let round = 1; round <= 3; round++) {
      const address = `gone.${round}@example.com`;
      expect((await call(round, 'POST', 'deleter', 'emails/', { email: address })).status).toBe(201);
      await warmUp(13);

      const deletes = Array.from({ length: 20 }, (_, i) => call(i, 'DELETE', 'deleter', 'emails/', { email: caseVariant(address, i) }, i % 3 === 0));
      const primaryDeletes = Array.from({ length: 6 }, (_, i) => call(i, 'DELETE', 'deleter', 'emails/', { email: caseVariant('deleter@example.com', i) }));
      const [answers, primaryAnswers] = await Promise.all([Promise.all(deletes), Promise.all(primaryDeletes)]);

      expect(tally(answers.map((a) => a.status))).toEqual({ 204: 1, 404: 19 });
      expect(codes(answers, 404)).toEqual(Array(19).fill('email_not_found'));
      expect(answers.find((a) => a.status === 204)!.body).toBeNull();
      expect(tally(primaryAnswers.map((a) => a.status))).toEqual({ 400: 6 });
      expect(codes(primaryAnswers, 400)).toEqual(Array(6).fill('primary_email'));

      for (const which of [0, 1]) {
        expect(await emailsOf('deleter', which)).toEqual([{ email: 'deleter@example.com', verified: true, primary: true }]);
      }
    }
  });

  it('logged no error on either server', () => {
    for (const server of servers) expect(server.output()).not.toMatch(/"level":(50|60)/);
  });
});
