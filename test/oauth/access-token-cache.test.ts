// OAuth access tokens are kept in the auth cache once verified (src/oauth/access-tokens.ts), as
// personal access tokens are; every way access ends must still be seen by the very next request:
// a revocation (RFC 7009), a grant revoked by its user or an operator, a refresh token replayed,
// a client deleted, the account deactivated, the token's expiry, and changes made by another
// process (the CLI) announced over Redis.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { createAuthCache } from '../../src/auth/auth-cache.ts';
import { createDeps } from '../../src/wiring.ts';
import { revokeGrant } from '../../src/oauth/grants.service.ts';
import { deleteClient } from '../../src/oauth/clients.service.ts';
import { setActive } from '../../src/users/users.service.ts';
import { bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';

let offsetMs = 0;
const clock: Clock = { nowMs: () => Date.now() + offsetMs, nowIso: () => formatMicros((Date.now() + offsetMs) * 1000) };
let t: TestApp;
let redis: Redis;
const prefix = `accounts-test-${process.pid}-${Date.now()}:`;

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  t = await buildTestApp({ clock, redis, env: { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: prefix } });
});
afterAll(async () => {
  await t?.close();
  redis?.disconnect();
});

type Issued = { user: Awaited<ReturnType<typeof makeUser>>; client: Awaited<ReturnType<typeof makeClient>>; accessToken: string; refreshToken: string };

async function issue(): Promise<Issued> {
  const user = await makeUser(t.deps);
  const client = await makeClient(t.deps);
  const { verifier, challenge } = pkcePair();
  const { code } = await authorize(t.app, client, user, { challenge, scope: 'openid offline_access profile_read' });
  const tokens = await redeem(t.app, client, code!, verifier);
  expect(tokens.status).toBe(200);
  return { user, client, accessToken: String(tokens.body.access_token), refreshToken: String(tokens.body.refresh_token) };
}

const getUser = (issued: Issued) => t.app.inject({ url: `/api/v1.1/users/${issued.user.username}/`, headers: { authorization: bearer(issued.accessToken) } });

/** Used (so cached) and answering 200, twice. */
async function inUse(issued: Issued): Promise<void> {
  expect((await getUser(issued)).statusCode).toBe(200);
  expect((await getUser(issued)).statusCode).toBe(200);
}

async function refused(issued: Issued): Promise<void> {
  const res = await getUser(issued);
  expect(res.statusCode, res.body).toBe(401);
  expect(String(res.headers['www-authenticate'])).toContain('error="invalid_token"');
}

const form = (body: Record<string, string>) => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(body).toString(),
});

describe('a cached OAuth access token ends at once', () => {
  it('when revoked at the revocation endpoint (RFC 7009)', async () => {
    const issued = await issue();
    await inUse(issued);
    const res = await t.app.inject({ url: '/api/v1.1/o/revoke/', ...form({ token: issued.accessToken, client_id: issued.client.client_id, client_secret: issued.client.client_secret! }) });
    expect(res.statusCode).toBe(200);
    await refused(issued);
  });

  it('when its grant is revoked (the settings page and `accounts grant revoke`)', async () => {
    const issued = await issue();
    await inUse(issued);
    await revokeGrant(t.deps, issued.user.id, issued.user.username, issued.client.client_id);
    await refused(issued);
  });

  it('when its refresh token is replayed (the whole grant goes)', async () => {
    const issued = await issue();
    await inUse(issued);
    const refresh = () => t.app.inject({ url: '/api/v1.1/o/token/', ...form({ grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: issued.client.client_id, client_secret: issued.client.client_secret! }) });
    const renewed = await refresh();
    expect(renewed.statusCode).toBe(200);
    expect((await refresh()).json()).toMatchObject({ error: 'invalid_grant' });
    await refused(issued);
    await refused({ ...issued, accessToken: String(renewed.json<{ access_token: string }>().access_token) });
  });

  it('when its client is deleted', async () => {
    const issued = await issue();
    await inUse(issued);
    await deleteClient(t.deps, issued.client.client_id);
    await refused(issued);
  });

  it('when the account is deactivated', async () => {
    const issued = await issue();
    await inUse(issued);
    await setActive(t.deps, issued.user.username, false);
    const res = await getUser(issued);
    expect(res.statusCode).toBe(401);
  });

  it('when it expires, cached or not', async () => {
    const issued = await issue();
    await inUse(issued);
    offsetMs = 2 * 60 * 60_000; // access tokens live an hour
    try {
      await refused(issued);
    } finally {
      offsetMs = 0;
    }
  });

  it('when another process (the CLI, with its own caches) revokes the grant and announces it over Redis', async () => {
    const issued = await issue();
    await inUse(issued);
    const cli = createDeps({ config: t.config, store: t.store, cache: createAuthCache(), redis });
    await revokeGrant(cli, issued.user.id, issued.user.username, issued.client.client_id);
    const deadline = Date.now() + 5_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await getUser(issued)).statusCode;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(status).toBe(401);
    // Well before the cache entry would have expired on its own (3 s).
    expect(Date.now()).toBeLessThan(deadline - 2_000);
  });

  it('while other tokens of the same user and client stay in use', async () => {
    const first = await issue();
    const other = await issue();
    await inUse(first);
    await inUse(other);
    await t.app.inject({ url: '/api/v1.1/o/revoke/', ...form({ token: first.accessToken, client_id: first.client.client_id, client_secret: first.client.client_secret! }) });
    await refused(first);
    await inUse(other);
  });
});
