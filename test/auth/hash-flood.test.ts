// A flood of password checks beyond what the thread pool can take is answered 503 with
// Retry-After at once, by the API and by the login pages alike; nothing hangs, the log hears of
// it once a second at most, and the service answers normally afterwards.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, buildTestApp, makeToken, makeUser, bearer, type TestApp } from '../support/app.ts';
import { browserFor } from '../support/inject-browser.ts';

let t: TestApp;
const logLines: string[] = [];
beforeAll(async () => {
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  t = await buildTestApp({ env: { HASH_CONCURRENCY: '2', HASH_QUEUE: '4', LOG_LEVEL: 'info' }, logStream });
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

it('the account login page answers a saturated queue with an HTML 503 and Retry-After, never a 500; the log says so once a second at most', async () => {
  logLines.length = 0;
  // Each simulated browser has its own login form (cookie and CSRF token) and address.
  const browsers = await Promise.all(
    Array.from({ length: 60 }, async () => {
      const browser = browserFor(t.app);
      await browser.get('/account/login');
      return browser;
    }),
  );
  const started = Date.now();
  const answers = await Promise.all(browsers.map((browser, i) => browser.post('/account/login', { username: `page${i}x`, password: 'wrong password' })));
  const floodMs = Date.now() - started;
  // The summary of what was refused while a report was due comes within a second.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const statuses = answers.map((a) => a.statusCode);
  expect(statuses.filter((s) => s !== 401 && s !== 503)).toEqual([]);
  const busy = answers.filter((a) => a.statusCode === 503);
  expect(busy.length).toBeGreaterThan(0);
  expect(busy[0]!.headers['retry-after']).toBe('1');
  expect(busy[0]!.headers['content-type']).toMatch(/^text\/html/);
  expect(busy[0]!.body).toContain('too busy');
  // The person can simply send the form again: it is shown again, with what they typed.
  expect(busy[0]!.body).toMatch(/name="username" value="page\d+x"/);
  const saturation = logLines.filter((line) => line.includes('password hashing saturated'));
  // Dozens of refusals, a few lines: one at once (or the summary of the previous second), then
  // one per second at most, each with the count it stands for.
  const refused = busy.length;
  expect(saturation.length).toBeGreaterThanOrEqual(1);
  expect(saturation.length).toBeLessThanOrEqual(Math.ceil((floodMs + 1_100) / 1_000) + 1);
  expect(saturation.length).toBeLessThan(refused);
  expect(saturation.every((line) => /"refused":\d+/.test(line))).toBe(true);
  expect(logLines.filter((line) => /"level":50/.test(line))).toEqual([]);
});
