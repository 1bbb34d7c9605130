// A flood of password checks beyond what the thread pool can take is answered 503 with
// Retry-After at once; nothing hangs, and the service answers normally afterwards.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, buildTestApp, makeToken, makeUser, bearer, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ env: { HASH_CONCURRENCY: '2', HASH_QUEUE: '4' } });
  await makeUser(t.deps, { username: 'flooded' });
});
afterAll(() => t.close());

it('answers 401 or 503 + Retry-After to every request of a flood, and recovers', async () => {
  const flood = Array.from({ length: 60 }, (_, i) =>
    t.app.inject({ method: 'GET', url: '/api/v1.1/users/flooded/', headers: { authorization: basic(`flood${i}x`, 'wrong password') }, remoteAddress: `10.1.${i}.1` }),
  );
  const token = await makeToken(t.deps, 'flooded', ['profile_read']);
  const tokenDuringFlood = t.app.inject({ method: 'GET', url: '/api/v1.1/users/flooded/', headers: { authorization: bearer(token) } });
  const answers = await Promise.all(flood);
  const statuses = answers.map((a) => a.statusCode);
  expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
  const busy = answers.filter((a) => a.statusCode === 503);
  expect(busy.length).toBeGreaterThan(0);
  expect(busy[0]!.headers['retry-after']).toBe('1');
  expect(busy[0]!.json()).toMatchObject({ code: 'service_unavailable' });
  // Tokens need no hashing: they are served during the flood.
  expect((await tokenDuringFlood).statusCode).toBe(200);
  // And afterwards passwords are checked again.
  expect((await t.app.inject({ method: 'GET', url: '/api/v1.1/users/flooded/', headers: { authorization: basic('flooded', 'correct horse battery staple') } })).statusCode).toBe(200);
});
