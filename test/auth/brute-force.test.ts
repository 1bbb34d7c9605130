// Brute-force protection: per-account consecutive failures and a per-IP failure budget, in
// memory and shared through Redis.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitAfterFailures } from '../../src/auth/login-throttle.ts';
import { listUserAuditEvents } from '../../src/users/users.service.ts';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

// The apps run on this clock: a lock-out ends when the test moves it past the wait, not when
// real time has passed.
let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
const path = (u: string) => `/api/v1.1/users/${u}/`;

function get(t: TestApp, username: string, authorization: string, ip = '203.0.113.7') {
  return t.app.inject({ method: 'GET', url: path(username), headers: { authorization }, remoteAddress: ip });
}

it('waits double with each failure past the limit, from 1 s to at most 15 minutes', () => {
  expect([9, 10, 11, 12, 13].map((n) => waitAfterFailures(n, 10))).toEqual([0, 1, 2, 4, 8]);
  expect(waitAfterFailures(20, 10)).toBe(900);
  expect(waitAfterFailures(1000, 10)).toBe(900);
});

describe('per account, in memory', () => {
  let t: TestApp;
  let password: string;
  beforeAll(async () => {
    t = await buildTestApp({ clock });
    password = (await makeUser(t.deps, { username: 'victim' })).password;
    await makeUser(t.deps, { username: 'bystander' });
  });
  afterAll(() => t.close());

  it('after 10 consecutive failures every attempt is 429 with Retry-After, the right password too; then it lets one through, and a success resets', async () => {
    for (let i = 0; i < 10; i++) expect((await get(t, 'victim', basic('victim', `wrong-${i}-password`), `198.51.100.${i}`)).statusCode).toBe(401);
    const blocked = await get(t, 'victim', basic('victim', password));
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('too_many_requests');
    expect(blocked.headers['retry-after']).toBe('1');
    expect(blocked.headers['www-authenticate']).toBeUndefined();
    // Other accounts are not affected.
    expect((await get(t, 'bystander', basic('bystander', 'correct horse battery staple'))).statusCode).toBe(200);
    // Case does not dodge the counter.
    expect((await get(t, 'victim', basic('VICTIM', password))).statusCode).toBe(429);

    // The lock-out lasts its whole second, and not a moment more.
    now += 999;
    expect((await get(t, 'victim', basic('victim', password))).statusCode).toBe(429);
    now += 1;
    expect((await get(t, 'victim', basic('victim', 'still wrong!!'))).statusCode).toBe(401); // the 11th failure
    const longer = await get(t, 'victim', basic('victim', password));
    expect(longer.statusCode).toBe(429);
    expect(longer.headers['retry-after']).toBe('2');
    // Retry-After counts down with the clock.
    now += 1500;
    const later = await get(t, 'victim', basic('victim', password));
    expect(later.statusCode).toBe(429);
    expect(later.headers['retry-after']).toBe('1');

    now += 500;
    expect((await get(t, 'victim', basic('victim', password))).statusCode).toBe(200);
    // The count starts again from zero.
    for (let i = 0; i < 9; i++) expect((await get(t, 'victim', basic('victim', `wrong-${i}-again`))).statusCode).toBe(401);
    expect((await get(t, 'victim', basic('victim', password))).statusCode).toBe(200);
  });

  it('audits each failed password attempt, and each throttle when it engages (not every 429)', async () => {
    await makeUser(t.deps, { username: 'audited' });
    for (let i = 0; i < 10; i++) await get(t, 'audited', basic('audited', `wrong-${i}-password`), '198.51.100.200');
    for (let i = 0; i < 5; i++) expect((await get(t, 'audited', basic('audited', 'anything'), '198.51.100.200')).statusCode).toBe(429);
    const events = await listUserAuditEvents(t.deps, 'audited', {});
    const failed = events.filter((e) => e.event === 'login_failed');
    const throttled = events.filter((e) => e.event === 'login_throttled');
    expect(failed).toHaveLength(10);
    expect(failed[0]).toMatchObject({ actor: 'self', client_ip: '198.51.100.200', outcome: 'failure', detail: { reason: 'bad_password' } });
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toMatchObject({ outcome: 'denied', detail: { wait_seconds: 1 } });
  });

  it('counts unknown usernames the same way, so a 429 does not reveal whether an account exists', async () => {
    for (let i = 0; i < 10; i++) expect((await get(t, 'victim', basic('ghostname', `wrong-${i}-password`), `198.51.100.${50 + i}`)).statusCode).toBe(401);
    expect((await get(t, 'victim', basic('ghostname', 'anything at all'))).statusCode).toBe(429);
  });

  it('does not lock a user’s tokens out: Bearer keeps working while passwords are blocked', async () => {
    const token = await makeToken(t.deps, 'bystander', ['profile_read']);
    for (let i = 0; i < 10; i++) await get(t, 'bystander', basic('bystander', `wrong-${i}-password`), `198.51.100.${100 + i}`);
    expect((await get(t, 'bystander', basic('bystander', 'correct horse battery staple'))).statusCode).toBe(429);
    expect((await get(t, 'bystander', bearer(token))).statusCode).toBe(200);
    expect((await get(t, 'bystander', basic('bystander', token))).statusCode).toBe(200);
  });
});

describe('per client IP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ env: { LOGIN_IP_MAX_FAILURES: '5' } });
    await makeUser(t.deps, { username: 'ipuser' });
  });
  afterAll(() => t.close());

  it('after the budget of failures in a minute, every attempt from that IP is 429; other IPs are not affected', async () => {
    for (let i = 0; i < 5; i++) expect((await get(t, 'ipuser', basic(`name${i}x`, 'wrong password'), '192.0.2.1')).statusCode).toBe(401);
    const res = await get(t, 'ipuser', basic('ipuser', 'correct horse battery staple'), '192.0.2.1');
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await get(t, 'ipuser', bearer('dapat_nonsense'), '192.0.2.1')).statusCode).toBe(429);
    expect((await get(t, 'ipuser', basic('ipuser', 'correct horse battery staple'), '192.0.2.2')).statusCode).toBe(200);
  });

  it('counts an IPv6 client by its /64: a fresh address from the same prefix does not reset the budget', async () => {
    for (let i = 0; i < 5; i++) expect((await get(t, 'ipuser', basic(`v6name${i}x`, 'wrong password'), `2001:db8:7:7::${i + 1}`)).statusCode).toBe(401);
    expect((await get(t, 'ipuser', basic('ipuser', 'correct horse battery staple'), '2001:db8:7:7:abcd::99')).statusCode).toBe(429);
    expect((await get(t, 'ipuser', basic('ipuser', 'correct horse battery staple'), '2001:db8:7:8::1')).statusCode).toBe(200);
  });

  it('requests without credentials do not spend the budget (a client waiting for the challenge cannot lock its IP out)', async () => {
    const token = await makeToken(t.deps, 'ipuser', ['profile_read']);
    const ip = '192.0.2.30';
    // Like curl --anyauth, or a page with many <img> tags: no Authorization header at all, or
    // one that is not a credential.
    for (let i = 0; i < 30; i++) {
      const res = await t.app.inject({ method: 'GET', url: path('ipuser'), remoteAddress: ip });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBeDefined();
    }
    for (let i = 0; i < 10; i++) expect((await get(t, 'ipuser', 'Negotiate abc', ip)).statusCode).toBe(401);
    expect((await get(t, 'ipuser', bearer(token), ip)).statusCode).toBe(200);
    expect((await get(t, 'ipuser', basic('ipuser', 'correct horse battery staple'), ip)).statusCode).toBe(200);
  });

  it('takes the client IP from X-Forwarded-For only when the peer is a trusted proxy', async () => {
    const proxied = await buildTestApp({ env: { LOGIN_IP_MAX_FAILURES: '2', TRUST_PROXY: '10.0.0.1' } });
    await makeUser(proxied.deps, { username: 'proxied' });
    const send = (remoteAddress: string, forwarded: string, password = 'wrong password') =>
      proxied.app.inject({ method: 'GET', url: path('proxied'), remoteAddress, headers: { authorization: basic('proxied', password), 'x-forwarded-for': forwarded } });
    // Through the trusted proxy: the forwarded address is the client.
    await send('10.0.0.1', '192.0.2.50');
    await send('10.0.0.1', '192.0.2.50');
    expect((await send('10.0.0.1', '192.0.2.50', 'correct horse battery staple')).statusCode).toBe(429);
    expect((await send('10.0.0.1', '192.0.2.51', 'correct horse battery staple')).statusCode).toBe(200);
    // From anyone else the header is ignored: spoofing it does not reset the budget.
    await send('192.0.2.99', '192.0.2.1');
    await send('192.0.2.99', '192.0.2.2');
    expect((await send('192.0.2.99', '192.0.2.3', 'correct horse battery staple')).statusCode).toBe(429);
    await proxied.close();
  });
});

describe('shared through Redis by several instances', () => {
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    await redis.connect();
    const prefix = `accounts-test-${randomBytes(4).toString('hex')}:`;
    a = await buildTestApp({ redis, clock, env: { REDIS_PREFIX: prefix } });
    await makeUser(a.deps, { username: 'shared' });
    await makeUser(a.deps, { username: 'sharedwait' });
    b = await buildTestApp({ redis, clock, env: { REDIS_PREFIX: prefix }, databaseUrl: a.config.databaseUrl });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await redis.quit();
  });

  it('failures through one instance count on the other', async () => {
    for (let i = 0; i < 10; i++) {
      const instance = i % 2 === 0 ? a : b;
      expect((await get(instance, 'shared', basic('shared', `wrong-${i}-password`), `198.51.100.${i}`)).statusCode).toBe(401);
    }
    expect((await get(a, 'shared', basic('shared', 'correct horse battery staple'))).statusCode).toBe(429);
    expect((await get(b, 'shared', basic('shared', 'correct horse battery staple'))).statusCode).toBe(429);
    const keys = await redis.keys(`${a.config.redisPrefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
  });

  it('a lock-out set through one instance holds on the other until its wait is over, and a success through either resets', async () => {
    const right = basic('sharedwait', 'correct horse battery staple');
    for (let i = 0; i < 10; i++) expect((await get(a, 'sharedwait', basic('sharedwait', `wrong-${i}-password`), `198.51.100.${20 + i}`)).statusCode).toBe(401);
    const blocked = await get(b, 'sharedwait', right);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBe('1');
    now += 999;
    expect((await get(b, 'sharedwait', right)).statusCode).toBe(429);
    now += 1;
    // The 11th failure, through the other instance: the next wait is 2 s, on both.
    expect((await get(b, 'sharedwait', basic('sharedwait', 'still wrong!!'))).statusCode).toBe(401);
    const longer = await get(a, 'sharedwait', right);
    expect(longer.statusCode).toBe(429);
    expect(longer.headers['retry-after']).toBe('2');
    now += 1999;
    expect((await get(b, 'sharedwait', right)).headers['retry-after']).toBe('1');
    now += 1;
    expect((await get(b, 'sharedwait', right)).statusCode).toBe(200);
    // The success reset the count that both instances keep.
    for (let i = 0; i < 9; i++) expect((await get(i % 2 === 0 ? a : b, 'sharedwait', basic('sharedwait', `wrong-${i}-again`), `198.51.100.${40 + i}`)).statusCode).toBe(401);
    expect((await get(a, 'sharedwait', right)).statusCode).toBe(200);
    await redis.del(...(await redis.keys(`${a.config.redisPrefix}*`)));
  });
});
