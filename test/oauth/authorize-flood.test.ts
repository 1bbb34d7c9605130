// Anonymous requests to the authorization endpoint store a sign-in record (the provider's
// Interaction, with every parameter) before anyone signs in. What one request may store, and how
// many records one client IP may start, are bounded, and the records expire after 10 minutes.
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair } from '../support/oauth.ts';

let t: TestApp;
let client: Awaited<ReturnType<typeof makeClient>>;
let challenge: string;

beforeAll(async () => {
  t = await buildTestApp();
  client = await makeClient(t.deps);
  challenge = pkcePair().challenge;
});
afterAll(() => t?.close());

/** How many sign-in records are stored, and how many bytes their payloads take. */
async function stored(): Promise<{ rows: number; bytes: number }> {
  const row = await t.store.db
    .selectFrom('oauth_artifacts')
    .select((eb) => [eb.fn.countAll().as('rows'), eb.fn.sum(eb.fn('length', ['payload'])).as('bytes')])
    .where('model', '=', 'Interaction')
    .executeTakeFirstOrThrow();
  return { rows: Number(row.rows), bytes: Number(row.bytes ?? 0) };
}

function request(extra: Record<string, string>, remoteAddress: string, method: 'GET' | 'HEAD' = 'GET'): Promise<LightMyRequestResponse> {
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', ...extra });
  return t.app.inject({ method, url: `/api/v1.1/o/authorize/?${query}`, remoteAddress });
}

describe('anonymous authorization requests cannot fill the database', () => {
  it('300 requests from one address with long parameters store at most 60 sign-ins of a few KB (800 with 7,000-character state and nonce grew SQLite by 10 MB)', async () => {
    const before = await stored();
    const statuses: Record<number, number> = {};
    let retryAfter: string | undefined;
    for (let i = 0; i < 300; i++) {
      const res = await request({ state: 's'.repeat(1000), nonce: 'n'.repeat(500), scope: 'openid profile email profile_read email_read' }, '192.0.2.1');
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 429) {
        retryAfter = String(res.headers['retry-after']);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.body).toContain('Too many sign-in requests');
      }
    }
    const after = await stored();
    expect(after.rows - before.rows).toBe(60);
    expect(after.bytes - before.bytes).toBeLessThan(60 * 4096);
    expect(statuses).toEqual({ 303: 60, 429: 240 });
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);

    // Another address is not held back by this one.
    expect((await request({ state: 'x' }, '192.0.2.2')).statusCode).toBe(303);
  });

  it('HEAD requests (answered like GET, sign-in record included) are counted as well', async () => {
    const before = await stored();
    const statuses: Record<number, number> = {};
    for (let i = 0; i < 80; i++) {
      const res = await request({ state: 's'.repeat(1000) }, '192.0.2.10', i % 2 === 0 ? 'HEAD' : 'GET');
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    }
    expect((await stored()).rows - before.rows).toBe(60);
    expect(statuses).toEqual({ 303: 60, 429: 20 });
  });

  it('over-long parameters are sent back as invalid_request, and nothing is stored', async () => {
    const before = await stored();
    for (const [name, value] of [['state', 's'.repeat(7000)], ['nonce', 'n'.repeat(1025)], ['login_hint', 'h'.repeat(600)], ['ui_locales', 'en '.repeat(200)]] as const) {
      const res = await request({ state: 'ok', scope: 'openid', [name]: value }, '192.0.2.3');
      expect(res.statusCode, name).toBe(303);
      const location = new URL(String(res.headers.location));
      expect(location.origin + location.pathname, name).toBe(client.redirectUri);
      expect(location.searchParams.get('error'), name).toBe('invalid_request');
      expect(location.searchParams.get('error_description'), name).toContain(name);
    }
    expect(await stored()).toEqual(before);
  });

  it('an over-long query is refused on the error page whoever sent it, and nothing is stored', async () => {
    const before = await stored();
    const res = await request({ state: 's'.repeat(7000), nonce: 'n'.repeat(7000) }, '192.0.2.4');
    expect(res.statusCode).toBe(414);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('invalid_request');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const unknown = await t.app.inject({ url: `/api/v1.1/o/authorize/?client_id=nobody&state=${'s'.repeat(9000)}`, remoteAddress: '192.0.2.4' });
    expect(unknown.statusCode).toBe(414);
    expect(await stored()).toEqual(before);
  });

  it('a sign-in record expires after 10 minutes (it was kept an hour)', async () => {
    const started = Date.now();
    expect((await request({ state: 'ttl' }, '192.0.2.5')).statusCode).toBe(303);
    const row = await t.store.db.selectFrom('oauth_artifacts').select('expires_at').where('model', '=', 'Interaction').orderBy('expires_at', 'desc').executeTakeFirstOrThrow();
    const lifetime = Date.parse(row.expires_at!) - started;
    expect(lifetime).toBeGreaterThan(9 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(10 * 60_000 + 5_000);
  });

  it('anonymous sign-out requests are bounded the same way: the end-session endpoint stores a record of its confirmation step', async () => {
    const sessions = async () => {
      const rows = await t.store.db.selectFrom('oauth_artifacts').select(['expires_at']).where('model', '=', 'Session').where('account_id', 'is', null).execute();
      return rows.map((r) => Date.parse(r.expires_at!));
    };
    const before = (await sessions()).length;
    const statuses: Record<number, number> = {};
    for (let i = 0; i < 100; i++) {
      const res = await t.app.inject({ url: `/api/v1.1/o/session/end/?state=${'s'.repeat(1000)}`, remoteAddress: '192.0.2.7' });
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    }
    expect(statuses).toEqual({ 200: 60, 429: 40 });
    const stored = await sessions();
    expect(stored.length - before).toBe(60);
    // Kept as long as a sign-in may take, not the 12 hours of a sign-in.
    for (const expires of stored) expect(expires - Date.now()).toBeLessThanOrEqual(10 * 60_000 + 5_000);
    const long = await t.app.inject({ url: `/api/v1.1/o/session/end/?state=${'s'.repeat(9000)}`, remoteAddress: '192.0.2.8' });
    expect(long.statusCode).toBe(414);
  });

  it('requests answered without a page (a signed-in user, consent remembered) do not count', async () => {
    const user = await makeUser(t.deps);
    const { browser } = await authorize(t.app, client, user, { challenge });
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    for (let i = 0; i < 70; i++) {
      const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: `r${i}` });
      const res = await t.app.inject({ url: `/api/v1.1/o/authorize/?${query}`, headers: { cookie }, remoteAddress: '192.0.2.6' });
      expect(res.statusCode).toBe(303);
      expect(String(res.headers.location)).toMatch(new RegExp(`^${client.redirectUri}\\?code=`));
    }
  });
});

describe('with REDIS_URL, the per-IP budget is shared by every instance', () => {
  let redis: Redis;
  let a: TestApp;
  let b: TestApp;
  const prefix = `accounts-test-${randomBytes(4).toString('hex')}:`;
  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    await redis.connect();
    const env = { REDIS_PREFIX: prefix, OAUTH_AUTHORIZE_PER_MINUTE: '4' };
    a = await buildTestApp({ redis, env });
    b = await buildTestApp({ redis, env, databaseUrl: a.config.databaseUrl });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('sign-ins started through one instance count on the other', async () => {
    const shared = await makeClient(a.deps);
    const start = (app: TestApp) => {
      const query = new URLSearchParams({ client_id: shared.client_id, response_type: 'code', redirect_uri: shared.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: 's' });
      return app.app.inject({ url: `/api/v1.1/o/authorize/?${query}`, remoteAddress: '198.51.100.1' });
    };
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await start(i % 2 === 0 ? a : b)).statusCode);
    expect(statuses).toEqual([303, 303, 303, 303, 429, 429]);
    expect(await redis.keys(`${prefix}oauth-authorize*`)).toHaveLength(1);
  });
});
