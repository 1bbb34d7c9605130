// The caches of verified credentials: what they remember, and that every change that must end
// a credential's life empties them. Correctness only; speed is for the benchmark.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthCache, PASSWORD_ENTRY_IDLE_MS } from '../../src/auth/auth-cache.ts';
import { createLoginThrottle } from '../../src/auth/login-throttle.ts';
import { createServerSignIn } from '../../src/wiring.ts';
import { credentialEvents, subscribeToCredentialChanges } from '../../src/auth/credential-events.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { createTtlCache } from '../../src/auth/ttl-cache.ts';
import type { TokenWithOwner } from '../../src/tokens/tokens.repository.ts';
import { revokeToken } from '../../src/tokens/tokens.service.ts';
import { setActive, setPassword } from '../../src/users/users.service.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { scaled } from '../support/time.ts';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';

const principal = (userId: number): Principal => ({ userId, username: `u${userId}`, scopes: new Set(['profile_read']), method: 'password' });
const token = (id: number, userId: number) => ({ id, user_id: userId }) as TokenWithOwner;

describe('the cache itself', () => {
  it('forgets entries after their time and drops the least recently used when full', () => {
    let now = 0;
    const cache = createTtlCache<string, number>({ maxEntries: 2, ttlMs: 100, now: () => now });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3); // pushes out b
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('keeps what was used since the last eviction and drops what was not, once each (second chance)', () => {
    const cache = createTtlCache<string, number>({ maxEntries: 3, ttlMs: 1_000, now: () => 0 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.get('a');
    cache.set('d', 4); // a was used: moved behind d, its mark spent; b was not: dropped
    cache.set('e', 5); // c was not used: dropped
    cache.set('f', 6); // d was not used: dropped; a survives on its one second chance…
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBeUndefined();
    expect(cache.get('d')).toBeUndefined();
    expect(cache.size).toBe(3);
    // …and is now marked again, as are e and f by these reads. With every entry used, each gets
    // its second chance and the oldest goes, never the one just added.
    expect([cache.get('a'), cache.get('e'), cache.get('f')]).toEqual([1, 5, 6]);
    cache.set('g', 7);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('e'), cache.get('f'), cache.get('g')]).toEqual([5, 6, 7]);
  });

  it('keys passwords by the whole credential, and invalidates by user and by token', () => {
    const cache = createAuthCache();
    cache.setPassword('jane', 'secret one', principal(1), HASH, cache.generation());
    cache.setPassword('john', 'secret two', principal(2), HASH, cache.generation());
    expect(cache.getPassword('JANE', 'secret one')?.principal.userId).toBe(1);
    expect(cache.getPassword('jane', 'secret one ')).toBeUndefined();
    expect(cache.getPassword('jane', 'secret two')).toBeUndefined();
    cache.setToken('d1', token(10, 1), cache.generation());
    cache.setToken('d2', token(11, 1), cache.generation());
    cache.setToken('d3', token(12, 2), cache.generation());
    cache.invalidateToken(10);
    expect(cache.getToken('d1')).toBeUndefined();
    expect(cache.getToken('d2')?.id).toBe(11);
    cache.invalidateUser(1);
    expect(cache.getPassword('jane', 'secret one')).toBeUndefined();
    expect(cache.getToken('d2')).toBeUndefined();
    expect(cache.getPassword('john', 'secret two')?.principal.userId).toBe(2);
    expect(cache.getToken('d3')?.id).toBe(12);
  });

  it('keeps OAuth access tokens until any OAuth change or a change of their user, and refuses a lookup that raced one', () => {
    const cache = createAuthCache();
    const entry = (userId: number) => ({ principal: principal(userId), expiresAtMs: Infinity });
    cache.setOAuthToken('o1', entry(1), cache.generation());
    cache.setOAuthToken('o2', entry(2), cache.generation());
    cache.invalidateUser(1);
    expect(cache.getOAuthToken('o1')).toBeUndefined();
    expect(cache.getOAuthToken('o2')?.principal.userId).toBe(2);
    cache.invalidateOAuthTokens();
    expect(cache.getOAuthToken('o2')).toBeUndefined();
    // A lookup began, then something was revoked, then the lookup's (stale) answer arrived.
    for (const [name, invalidate] of [
      ['token', () => cache.invalidateToken(99)],
      ['user', () => cache.invalidateUser(99)],
      ['oauth', () => cache.invalidateOAuthTokens()],
    ] as const) {
      const before = cache.generation();
      invalidate();
      cache.setOAuthToken('o3', entry(3), before);
      cache.setToken('d9', token(90, 3), before);
      cache.setPassword('jim', 'pw', principal(3), HASH, before);
      expect([name, cache.getOAuthToken('o3'), cache.getToken('d9'), cache.getPassword('jim', 'pw')]).toEqual([name, undefined, undefined, undefined]);
    }
  });

  it('forgets the user a path names with its credentials (a deleted account), and after 3 seconds', () => {
    let now = 0;
    const cache = createAuthCache({ now: () => now });
    cache.setAccount({ id: 1, username: 'jane' });
    cache.setAccount({ id: 2, username: 'john' });
    cache.invalidateUser(1);
    expect(cache.getAccount('jane')).toBeUndefined();
    expect(cache.getAccount('john')?.id).toBe(2);
    now = 3_000;
    expect(cache.getAccount('john')).toBeUndefined();
  });

  it('lives 3 seconds at most, so a change nobody announced is seen within the 5 promised', () => {
    let now = 0;
    const cache = createAuthCache({ now: () => now });
    cache.setToken('d', token(10, 1), cache.generation());
    now = 2_999;
    expect(cache.getToken('d')).toBeDefined();
    now = 3_000;
    expect(cache.getToken('d')).toBeUndefined();
  });

  it('keeps a verified password with its hash: fresh for 3 seconds, then to be confirmed, and gone after 10 idle minutes', () => {
    let now = 0;
    const cache = createAuthCache({ now: () => now });
    cache.setPassword('jane', 'pw', principal(1), HASH, cache.generation());
    now = 2_999;
    expect(cache.getPassword('jane', 'pw')).toMatchObject({ fresh: true, passwordHash: HASH, principal: { userId: 1 } });
    now = 3_000;
    expect(cache.getPassword('jane', 'pw')).toMatchObject({ fresh: false, passwordHash: HASH });
    // Confirmed unchanged: fresh again from then.
    cache.setPassword('jane', 'pw', principal(1), HASH, cache.generation());
    now = 5_999;
    expect(cache.getPassword('jane', 'pw')?.fresh).toBe(true);
    now = 5_999 + PASSWORD_ENTRY_IDLE_MS;
    expect(cache.getPassword('jane', 'pw')).toBeUndefined();
  });
});

describe('through the API', () => {
  let t: TestApp;
  let password: string;
  beforeAll(async () => {
    t = await buildTestApp();
    password = (await makeUser(t.deps, { username: 'cached' })).password;
  });
  afterAll(() => t.close());
  const get = (authorization: string) => t.app.inject({ method: 'GET', url: '/api/v1.1/users/cached/', headers: { authorization } });

  it('a cached password stops working at once when it is changed, and a cached one when the account is deactivated', async () => {
    expect((await get(basic('cached', password))).statusCode).toBe(200);
    expect((await get(basic('cached', password))).statusCode).toBe(200); // from the cache
    await setPassword(t.deps, 'cached', 'the next password 2');
    expect((await get(basic('cached', password))).statusCode).toBe(401);
    expect((await get(basic('cached', 'the next password 2'))).statusCode).toBe(200);
    await setActive(t.deps, 'cached', false);
    expect((await get(basic('cached', 'the next password 2'))).statusCode).toBe(401);
    await setActive(t.deps, 'cached', true);
    password = 'the next password 2';
  });

  it('a cached token stops working at once when revoked or when its owner is deactivated', async () => {
    const a = await makeToken(t.deps, 'cached', ['profile_read']);
    const b = await makeToken(t.deps, 'cached', ['profile_read']);
    expect((await get(bearer(a))).statusCode).toBe(200);
    expect((await get(bearer(b))).statusCode).toBe(200);
    await revokeToken(t.deps, a);
    expect((await get(bearer(a))).statusCode).toBe(401);
    expect((await get(bearer(b))).statusCode).toBe(200);
    await setActive(t.deps, 'cached', false);
    expect((await get(bearer(b))).statusCode).toBe(401);
    await setActive(t.deps, 'cached', true);
    expect((await get(bearer(b))).statusCode).toBe(200);
  });

  it('never caches a failure: a wrong password is checked every time', async () => {
    expect((await get(basic('cached', 'wrong password here'))).statusCode).toBe(401);
    expect((await get(basic('cached', password))).statusCode).toBe(200);
  });

  it('runs the brute-force checks before the cache: a cached password is throttled too', async () => {
    expect((await get(basic('cached', password))).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) await t.app.inject({ method: 'GET', url: '/api/v1.1/users/cached/', headers: { authorization: basic('cached', `bad-${i}-password`) }, remoteAddress: `198.51.100.${i}` });
    expect((await get(basic('cached', password))).statusCode).toBe(429);
  });
});

describe('a verified password once its 3 seconds are over', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('is confirmed by one query, not hashed again, while the stored hash and the account are as they were; a change made elsewhere without a message is seen', async () => {
    const user = await makeUser(t.deps, { username: 'revalidated' });
    let now = 0;
    let hashed = 0;
    // The real hasher, counted.
    const passwords = { ...t.deps.passwords, verify: (hash: string | null | undefined, password: string) => ((hashed += 1), t.deps.passwords.verify(hash, password)) };
    const deps = { ...t.deps, passwords };
    const throttle = createLoginThrottle({ maxFailures: 10, ipFailuresPerMinute: 100, keyPrefix: 'test:', clock: t.deps.clock });
    const signIn = createServerSignIn(deps, throttle, createAuthCache({ now: () => now }));
    const tryPassword = (password: string) => signIn.authorization(basic('revalidated', password), '192.0.2.1').then((p) => p.userId, (error: { status?: number }) => error.status);

    expect(await tryPassword(user.password)).toBe(user.id);
    expect(hashed).toBe(1);
    now += 3_000;
    expect(await tryPassword(user.password)).toBe(user.id);
    now += 60_000;
    expect(await tryPassword(user.password)).toBe(user.id);
    expect(hashed).toBe(1);

    // Another instance changes the password, and no message comes (no Redis).
    const other = await t.deps.passwords.hash('a password set elsewhere');
    await t.store.db.updateTable('users').set({ password_hash: other }).where('id', '=', user.id).execute();
    expect(await tryPassword(user.password)).toBe(user.id); // still fresh: within the 3 s promised
    now += 3_000;
    expect(await tryPassword(user.password)).toBe(401);
    expect(await tryPassword('a password set elsewhere')).toBe(user.id);
    expect(hashed).toBe(3);
    expect(await tryPassword('a password set elsewhere')).toBe(user.id);

    // ... or a second factor is added there (the API then refuses the password).
    await t.store.db
      .insertInto('passkeys')
      .values({ user_id: user.id, credential_id: 'cred-revalidated', public_key: 'key', transports: '[]', name: 'Key', created_at: new Date().toISOString() })
      .execute();
    expect(await tryPassword('a password set elsewhere')).toBe(user.id); // the rule remembered while fresh
    now += 3_000;
    expect(await tryPassword('a password set elsewhere')).toBe(401);
    await t.store.db.deleteFrom('passkeys').where('user_id', '=', user.id).execute();
    now += 3_000;
    expect(await tryPassword('a password set elsewhere')).toBe(user.id);

    // ... or deactivates the account.
    await t.store.db.updateTable('users').set({ is_active: 0 }).where('id', '=', user.id).execute();
    now += 3_000;
    expect(await tryPassword('a password set elsewhere')).toBe(401);
  });
});

describe('announced over Redis to other processes', () => {
  let publisherConnection: Redis;
  let subscriberConnection: Redis;
  beforeAll(async () => {
    publisherConnection = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    subscriberConnection = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    await publisherConnection.connect();
  });
  afterAll(async () => {
    await publisherConnection.quit();
    subscriberConnection.disconnect();
  });

  it('empties the caches of every subscribed process', async () => {
    const prefix = `accounts-test-${randomBytes(4).toString('hex')}:`;
    const remote = createAuthCache();
    remote.setPassword('jane', 'pw', principal(7), HASH, remote.generation());
    remote.setToken('d', token(70, 7), remote.generation());
    await subscribeToCredentialChanges(subscriberConnection, remote, prefix);
    const events = credentialEvents({ cache: createAuthCache(), redis: publisherConnection, prefix });
    events.changed({ userId: 7, tokenId: 70, kind: 'token' });
    const deadline = Date.now() + scaled(5_000);
    while (remote.getToken('d') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(remote.getToken('d')).toBeUndefined();
    expect(remote.getPassword('jane', 'pw')?.principal.userId).toBe(7); // only the token was announced
    events.changed({ userId: 7, kind: 'password' });
    while (remote.getPassword('jane', 'pw') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(remote.getPassword('jane', 'pw')).toBeUndefined();
    // An OAuth change (a client deleted: no one user) forgets every OAuth access token.
    remote.setOAuthToken('o', { principal: principal(8), expiresAtMs: Infinity }, remote.generation());
    remote.setToken('d8', token(80, 8), remote.generation());
    events.changed({ userId: 0, kind: 'oauth' });
    while (remote.getOAuthToken('o') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(remote.getOAuthToken('o')).toBeUndefined();
    expect(remote.getToken('d8')?.id).toBe(80);
  });
});
