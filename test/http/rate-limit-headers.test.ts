// RateLimit-Policy and RateLimit (IETF draft) on the API's limited operations — authentication
// (the client IP's budget of failures) and verification mails — and Retry-After on every 429 and
// 503. The sign-up and password-reset pages are checked in their own tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ env: { LOGIN_IP_MAX_FAILURES: '5' } });
});
afterAll(() => t?.close());

const get = (path: string, authorization: string | undefined, ip: string) => t.app.inject({ url: path, remoteAddress: ip, headers: authorization ? { authorization } : {} });
const remaining = (header: unknown) => Number(/r=(\d+)/.exec(String(header))?.[1]);

describe('RateLimit headers', () => {
  it('authentication: every answer to credentials says what is left of the IP budget of failures; a failure spends one; past it, 429 with Retry-After and r=0', async () => {
    const user = await makeUser(t.deps);
    const token = await makeToken(t.deps, user.username, ['profile_read']);
    const path = `/api/v1.1/users/${user.username}/`;
    const ok = await get(path, bearer(token), '203.0.113.7');
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['ratelimit-policy']).toBe('"auth-failures";q=5;w=60');
    expect(ok.headers.ratelimit).toBe('"auth-failures";r=5;t=0');
    const wrong = await get(path, basic(user.username, 'not the password at all'), '203.0.113.7');
    expect(wrong.statusCode).toBe(401);
    expect(remaining(wrong.headers.ratelimit)).toBe(4);
    expect(remaining((await get(path, bearer(token), '203.0.113.7')).headers.ratelimit)).toBe(4);
    for (let i = 0; i < 4; i++) await get(path, bearer('dapat_wrong'), '203.0.113.7');
    const limited = await get(path, bearer(token), '203.0.113.7');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers.ratelimit).toMatch(/^"auth-failures";r=0;t=\d+$/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address has its own budget; no credentials at all spend nothing and say nothing.
    expect(remaining((await get(path, bearer(token), '203.0.113.8')).headers.ratelimit)).toBe(5);
    expect((await get(path, undefined, '203.0.113.9')).headers.ratelimit).toBeUndefined();
  });

  it('verification mails: 5 an hour per address, counted down; the 429 has r=0 and Retry-After', async () => {
    const user = await makeUser(t.deps);
    const auth = { authorization: basic(user.username, user.password), 'content-type': 'application/json' };
    const path = `/api/v1.1/users/${user.username}/emails/`;
    const email = `${user.username}.second@example.com`;
    await t.app.inject({ method: 'POST', url: path, headers: auth, payload: { email } });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await t.app.inject({ method: 'POST', url: `${path}verification/`, headers: auth, payload: { email } }));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 202, 202, 429]);
    const mails = answers.map((a) => a.headers.ratelimit);
    // Each answer carries two RateLimit fields: authentication's and the mails'.
    expect(mails.map((m) => /"verification-mails";r=(\d+)/.exec(String(m))?.[1])).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(String(answers[0]!.headers['ratelimit-policy'])).toContain('"verification-mails";q=5;w=3600');
    expect(Number(answers[5]!.headers['retry-after'])).toBeGreaterThan(3000);
  });
});

describe('Retry-After', () => {
  it('on the 503 of /readyz while draining', async () => {
    const draining = await buildTestApp({ databaseUrl: t.config.databaseUrl, lifecycle: { draining: true } as never });
    try {
      const res = await draining.app.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await draining.close();
    }
  });
});
