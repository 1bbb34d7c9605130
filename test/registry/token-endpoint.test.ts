// GET /registry/token over HTTP (inject): off without REGISTRY_SERVICES; the service checked;
// anonymous requests; the JWT's header, signature and claims; the intersection of what was asked
// and what is allowed; two-factor's rule. Runs on both stores.
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USE_A_TOKEN_DETAIL } from '../../src/auth/sign-in.ts';
import { createRegistryTokens } from '../../src/registry/registry-token.service.ts';
import { basic, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';

const SERVICE = 'registry.example';
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ env: { REGISTRY_SERVICES: `${SERVICE}, other.example`, REGISTRY_TOKEN_SECONDS: '600' } });
});
afterAll(() => t?.close());

const tokenRequest = (query: string, authorization?: string) => t.app.inject({ url: `/registry/token?${query}`, headers: authorization ? { authorization } : {} });

/** The JWT's parts, its signature checked against the certificate in its own x5c header. */
function decode(jwt: string) {
  const [h, c, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { alg: string; typ: string; x5c: string[] };
  const claims = JSON.parse(Buffer.from(c!, 'base64url').toString()) as Record<string, unknown>;
  const certificate = new X509Certificate(Buffer.from(header.x5c[0]!, 'base64'));
  const valid = verify('sha256', Buffer.from(`${h}.${c}`), { key: createPublicKey(certificate.publicKey.export({ type: 'spki', format: 'pem' })), dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
  return { header, claims, certificate, valid };
}

describe('GET /registry/token', () => {
  it('is off (404) without REGISTRY_SERVICES', async () => {
    const off = await buildTestApp();
    try {
      expect((await off.app.inject({ url: `/registry/token?service=${SERVICE}` })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('refuses an unknown or missing service (400) and an anonymous request with no scope (401, as an anonymous `docker login`)', async () => {
    expect((await tokenRequest('service=nope&scope=repository:a1/b:pull')).statusCode).toBe(400);
    expect((await tokenRequest('scope=repository:a1/b:pull')).statusCode).toBe(400);
    const anonymousLogin = await tokenRequest(`service=${SERVICE}`);
    expect(anonymousLogin.statusCode).toBe(401);
    expect(String(anonymousLogin.headers['www-authenticate'])).toContain('Basic realm=');
  });

  it('signs an ES256 JWT carrying the certificate the CLI prints; claims as Distribution reads them', async () => {
    const user = await makeUser(t.deps, { username: 'jwtuser' });
    const before = Math.floor(Date.now() / 1000);
    const res = await tokenRequest(`service=${SERVICE}&scope=repository:jwtuser/app:pull,push&scope=repository:someone/else:pull,push,delete&scope=junk&account=jwtuser&client_id=docker`, basic('jwtuser', user.password));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json() as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(600);
    const { header, claims, certificate, valid } = decode(body.token);
    expect(valid).toBe(true);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(certificate.toString()).toBe(await createRegistryTokens(t.deps).certificate());
    expect(claims).toMatchObject({ iss: t.config.publicUrl, sub: 'jwtuser', aud: SERVICE });
    expect(typeof claims.aud).toBe('string');
    expect(claims.exp).toBe((claims.iat as number) + 600);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.iat as number).toBeGreaterThanOrEqual(before);
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.issued_at).toBe(new Date((claims.iat as number) * 1000).toISOString());
    // Its own namespace in full; elsewhere pull only (REGISTRY_PULL=users); junk left out.
    expect(claims.access).toEqual([
      { type: 'repository', name: 'jwtuser/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'someone/else', actions: ['pull'] },
    ]);
  });

  it('anonymous: subject "", nothing granted under REGISTRY_PULL=users; wrong credentials 401', async () => {
    const anonymous = await tokenRequest(`service=${SERVICE}&scope=repository:someone/else:pull`);
    expect(anonymous.statusCode).toBe(200);
    expect(decode(anonymous.json().token).claims).toMatchObject({ sub: '', access: [] });
    await makeUser(t.deps, { username: 'wrongpw' });
    expect((await tokenRequest(`service=${SERVICE}&scope=repository:wrongpw/a:pull`, basic('wrongpw', 'not the password at all'))).statusCode).toBe(401);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(new RegExp(`accounts_registry_token_requests_total\\{service="${SERVICE}",outcome="refused"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`accounts_registry_token_requests_total\\{service="${SERVICE}",outcome="nothing_granted"\\} [1-9]`));
  });

  it('a token grants what its registry scopes allow: repo_read pulls, an API-only token nothing', async () => {
    await makeUser(t.deps, { username: 'scoped' });
    const reader = await makeToken(t.deps, 'scoped', ['repo_read']);
    const apiOnly = await makeToken(t.deps, 'scoped', ['profile_read']);
    const scope = 'scope=repository:scoped/app:pull,push,delete';
    expect(decode((await tokenRequest(`service=${SERVICE}&${scope}`, basic('scoped', reader))).json().token).claims.access).toEqual([{ type: 'repository', name: 'scoped/app', actions: ['pull'] }]);
    expect(decode((await tokenRequest(`service=${SERVICE}&${scope}`, basic('scoped', apiOnly))).json().token).claims.access).toEqual([]);
  });

  it('the catalog only for an account an operator marked with `accounts user set-admin`', async () => {
    const user = await makeUser(t.deps, { username: 'catalogue' });
    const ask = async () => decode((await tokenRequest(`service=${SERVICE}&scope=registry:catalog:*`, basic('catalogue', user.password))).json().token).claims.access;
    expect(await ask()).toEqual([]);
    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl };
    const on = await runCliInProcess(['user', 'set-admin', 'catalogue'], { env });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stderr).toContain('may now list');
    expect(await ask()).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const off = await runCliInProcess(['user', 'set-admin', 'catalogue', '--off'], { env });
    expect(off.stderr).toContain('may no longer list');
    expect(await ask()).toEqual([]);
  });

  it('with two-factor on, the password is refused (the detail says to use a token) and a token works', async () => {
    const user = await makeUser(t.deps, { username: 'twofa' });
    const sealed = await t.deps.secrets.seal('JBSWY3DPEHPK3PXP', `totp:${user.id}`);
    await t.store.db.insertInto('totp_authenticators').values({ user_id: user.id, secret: sealed, created_at: new Date().toISOString(), confirmed_at: new Date().toISOString(), last_step: null }).execute();
    const refused = await tokenRequest(`service=${SERVICE}&scope=repository:twofa/app:push`, basic('twofa', user.password));
    expect(refused.statusCode).toBe(401);
    expect(refused.json().detail).toBe(USE_A_TOKEN_DETAIL);
    const token = await makeToken(t.deps, 'twofa', ['repo_write']);
    expect(decode((await tokenRequest(`service=${SERVICE}&scope=repository:twofa/app:push`, basic('twofa', token))).json().token).claims.access).toEqual([{ type: 'repository', name: 'twofa/app', actions: ['push'] }]);
  });
});
