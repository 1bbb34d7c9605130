// Refresh tokens of the registry token endpoint (what `docker login` keeps as its identity token):
// GET offline_token=true and the POST (OAuth2) variant with both grants; what a refresh token
// carries and when it ends (password change, revoked personal access token, deactivation,
// revocation, expiry, another service, two-factor); audit events. Runs on both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USE_A_TOKEN_DETAIL } from '../../src/auth/sign-in.ts';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { listRefreshTokens, revokeRefreshToken } from '../../src/registry/refresh-tokens.ts';
import { revokeToken } from '../../src/tokens/tokens.service.ts';
import { deleteAccount } from '../../src/users/deletion.service.ts';
import { setActive, setPassword } from '../../src/users/users.service.ts';
import { basic, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { browserFor } from '../support/inject-browser.ts';

const SERVICE = 'registry.example';
let offsetMs = 0;
const clock: Clock = { nowMs: () => Date.now() + offsetMs, nowIso: () => formatMicros((Date.now() + offsetMs) * 1000) };
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ clock, env: { REGISTRY_SERVICES: `${SERVICE}, other.example`, REGISTRY_REFRESH_DAYS: '30' } });
});
afterAll(() => t?.close());

const form = (fields: Record<string, string>) => ({ method: 'POST' as const, url: '/registry/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
const post = (fields: Record<string, string>) => t.app.inject(form({ service: SERVICE, client_id: 'docker', ...fields }));
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { sub: string; access: unknown[] };
const refresh = (refreshToken: string, scope: string, service = SERVICE) => t.app.inject(form({ service, client_id: 'containers/image', grant_type: 'refresh_token', refresh_token: refreshToken, scope }));
const auditOf = async (username: string) => (await t.store.db.selectFrom('audit_events').select(['event', 'detail']).where('username', '=', username).orderBy('id').execute()).map((e) => e.event);

describe('refresh tokens (offline_token, access_type=offline)', () => {
  it('docker login over GET: offline_token=true with a password gives a refresh token; POST trades it for any scope the user has', async () => {
    const user = await makeUser(t.deps, { username: 'rtalice' });
    const login = await t.app.inject({ url: `/registry/token?service=${SERVICE}&client_id=docker&offline_token=true&account=rtalice`, headers: { authorization: basic('rtalice', user.password) } });
    expect(login.statusCode).toBe(200);
    const { refresh_token: refreshToken, token } = login.json() as { refresh_token: string; token: string };
    expect(refreshToken).toMatch(/^dareg_[0-9A-Za-z]{38}$/);
    expect(claimsOf(token).access).toEqual([]);
    // Without offline_token there is none.
    const plain = await t.app.inject({ url: `/registry/token?service=${SERVICE}&scope=repository:rtalice/app:pull`, headers: { authorization: basic('rtalice', user.password) } });
    expect(plain.json()).not.toHaveProperty('refresh_token');

    const pushed = await refresh(refreshToken, 'repository:rtalice/app:pull,push repository:bob/x:push');
    expect(pushed.statusCode).toBe(200);
    expect(pushed.headers['cache-control']).toBe('no-store');
    const body = pushed.json() as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'scope']);
    expect(body.scope).toBe('repository:rtalice/app:pull,push');
    expect(claimsOf(body.access_token as string)).toMatchObject({ sub: 'rtalice', access: [{ type: 'repository', name: 'rtalice/app', actions: ['pull', 'push'] }] });

    // Only for the registry it was made for.
    expect((await refresh(refreshToken, 'repository:rtalice/app:pull', 'other.example')).statusCode).toBe(401);
    const [listed] = await listRefreshTokens(t.deps, 'rtalice');
    expect(listed).toMatchObject({ service: SERVICE, client_id: 'docker', access_token: null, hint: refreshToken.slice(0, 10) });
    expect(listed!.last_used_at).not.toBeNull();
    expect(await auditOf('rtalice')).toContain('registry_refresh_token_issued');
  });

  it('POST grant_type=password: a password or a token; access_type=offline adds a refresh token; wrong credentials 401; bad forms 400', async () => {
    const user = await makeUser(t.deps, { username: 'rtbob' });
    const withPassword = await post({ grant_type: 'password', username: 'rtbob', password: user.password, scope: 'repository:rtbob/app:pull', access_type: 'offline' });
    expect(withPassword.statusCode).toBe(200);
    expect(withPassword.json()).toMatchObject({ scope: 'repository:rtbob/app:pull', expires_in: 300 });
    expect(withPassword.json().refresh_token).toMatch(/^dareg_/);
    const pat = await makeToken(t.deps, 'rtbob', ['repo_read']);
    const withToken = await post({ grant_type: 'password', username: 'rtbob', password: pat, scope: 'repository:rtbob/app:pull,push' });
    expect(withToken.json()).toMatchObject({ scope: 'repository:rtbob/app:pull' });
    expect(withToken.json()).not.toHaveProperty('refresh_token');
    const wrong = await post({ grant_type: 'password', username: 'rtbob', password: 'not the password, really', scope: '' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBeDefined();
    expect((await post({ grant_type: 'refresh_token', refresh_token: 'dareg_made-up' })).statusCode).toBe(401);
    for (const [fields, field] of [
      [{ grant_type: 'authorization_code' }, 'grant_type'],
      [{}, 'grant_type'],
      [{ grant_type: 'password', username: 'rtbob' }, 'password'],
      [{ grant_type: 'refresh_token' }, 'refresh_token'],
    ] as const) {
      const res = await post(fields);
      expect(res.statusCode, JSON.stringify(fields)).toBe(400);
      expect(Object.keys(res.json().errors)).toContain(field);
    }
    // scope may repeat (as in GET), another field may not (RFC 6749 §3.2); no body at all is a 400 too.
    const repeated = await t.app.inject({ ...form({}), payload: `service=${SERVICE}&client_id=docker&grant_type=password&username=rtbob&password=${encodeURIComponent(user.password)}&scope=repository:rtbob/a:pull&scope=repository:rtbob/b:push` });
    expect(repeated.json().scope).toBe('repository:rtbob/a:pull repository:rtbob/b:push');
    const twice = await t.app.inject({ ...form({}), payload: `service=${SERVICE}&client_id=docker&grant_type=password&grant_type=refresh_token` });
    expect(twice.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/registry/token' })).statusCode).toBe(400);
    const noClient = await t.app.inject(form({ service: SERVICE, grant_type: 'password', username: 'rtbob', password: user.password }));
    expect(noClient.statusCode).toBe(400);
    expect((await t.app.inject(form({ service: 'nope', client_id: 'docker', grant_type: 'password', username: 'rtbob', password: user.password }))).statusCode).toBe(400);
  });

  it("made with a personal access token: that token's scopes at most, and it ends when the token is revoked", async () => {
    await makeUser(t.deps, { username: 'rtcarol' });
    const pat = await makeToken(t.deps, 'rtcarol', ['repo_read']);
    const login = await post({ grant_type: 'password', username: 'rtcarol', password: pat, access_type: 'offline', scope: '' });
    const refreshToken = login.json().refresh_token as string;
    expect((await refresh(refreshToken, 'repository:rtcarol/a:pull,push')).json().scope).toBe('repository:rtcarol/a:pull');
    const [listed] = await listRefreshTokens(t.deps, 'rtcarol');
    expect(listed!.access_token).toBe('test');
    const tokenId = (await t.store.db.selectFrom('access_tokens').select('id').where('name', '=', 'test').orderBy('id', 'desc').executeTakeFirstOrThrow()).id;
    await revokeToken(t.deps, String(tokenId));
    expect((await refresh(refreshToken, 'repository:rtcarol/a:pull')).statusCode).toBe(401);
    expect(await listRefreshTokens(t.deps, 'rtcarol')).toEqual([]);
  });

  it('ends with a new password, is refused while the account is deactivated, and when revoked (audited)', async () => {
    const user = await makeUser(t.deps, { username: 'rtdave' });
    const login = async () => (await post({ grant_type: 'password', username: 'rtdave', password: user.password, access_type: 'offline', scope: '' })).json().refresh_token as string;
    const first = await login();
    await setActive(t.deps, 'rtdave', false);
    expect((await refresh(first, 'repository:rtdave/a:pull')).statusCode).toBe(401);
    await setActive(t.deps, 'rtdave', true);
    expect((await refresh(first, 'repository:rtdave/a:pull')).statusCode).toBe(200);

    const second = await login();
    const [newest] = await listRefreshTokens(t.deps, 'rtdave');
    await revokeRefreshToken(t.deps, newest!.id);
    expect((await refresh(second, 'repository:rtdave/a:pull')).statusCode).toBe(401);
    expect((await refresh(first, 'repository:rtdave/a:pull')).statusCode).toBe(200);
    expect(await auditOf('rtdave')).toContain('registry_refresh_token_revoked');

    await setPassword(t.deps, 'rtdave', 'a brand new password 42');
    expect((await refresh(first, 'repository:rtdave/a:pull')).statusCode).toBe(401);
    expect(await listRefreshTokens(t.deps, 'rtdave')).toEqual([]);
    // A deleted account's go with it.
    await login();
    const id = user.id;
    await deleteAccount(t.deps, 'rtdave');
    expect(await t.store.db.selectFrom('registry_refresh_tokens').select('id').where('user_id', '=', id).execute()).toEqual([]);
  });

  it('lasts REGISTRY_REFRESH_DAYS', async () => {
    const user = await makeUser(t.deps, { username: 'rterin' });
    const refreshToken = (await post({ grant_type: 'password', username: 'rterin', password: user.password, access_type: 'offline', scope: '' })).json().refresh_token as string;
    try {
      offsetMs = 29 * 86_400_000;
      expect((await refresh(refreshToken, 'repository:rterin/a:pull')).statusCode).toBe(200);
      offsetMs = 30 * 86_400_000 + 60_000;
      expect((await refresh(refreshToken, 'repository:rterin/a:pull')).statusCode).toBe(401);
      expect(await listRefreshTokens(t.deps, 'rterin')).toEqual([]);
    } finally {
      offsetMs = 0;
    }
  });

  it('made with the password, it is refused once two-factor is on (as the password is)', async () => {
    const user = await makeUser(t.deps, { username: 'rtfrank' });
    const refreshToken = (await post({ grant_type: 'password', username: 'rtfrank', password: user.password, access_type: 'offline', scope: '' })).json().refresh_token as string;
    const sealed = await t.deps.secrets.seal('JBSWY3DPEHPK3PXP', `totp:${user.id}`);
    await t.store.db.insertInto('totp_authenticators').values({ user_id: user.id, secret: sealed, created_at: new Date().toISOString(), confirmed_at: new Date().toISOString(), last_step: null }).execute();
    const refused = await refresh(refreshToken, 'repository:rtfrank/a:pull');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().detail).toBe(USE_A_TOKEN_DETAIL);
  });

  it('the settings page lists the registry logins and revokes one (only the user\'s own); the CLI lists and revokes them', async () => {
    const user = await makeUser(t.deps, { username: 'rtgina' });
    const login = async (clientId: string) => (await post({ grant_type: 'password', username: 'rtgina', password: user.password, access_type: 'offline', scope: '', client_id: clientId })).json().refresh_token as string;
    const laptop = await login('docker');
    const ci = await login('containers/image');
    const browser = browserFor(t.app);
    expect((await browser.login('rtgina', user.password)).statusCode).toBe(303);
    const page = await browser.get('/account/');
    expect(page.body).toContain('Registry logins');
    expect(page.body).toContain(laptop.slice(0, 10));
    expect(page.body).toContain(ci.slice(0, 10));
    expect(page.body).not.toContain(laptop);
    const [newest, oldest] = await listRefreshTokens(t.deps, 'rtgina');

    // Another account's login cannot be revoked from this page.
    const other = await makeUser(t.deps, { username: 'rthank' });
    await post({ grant_type: 'password', username: 'rthank', password: other.password, access_type: 'offline', scope: '' });
    const [othersLogin] = await listRefreshTokens(t.deps, 'rthank');
    expect((await browser.post('/account/registry-logins/revoke', { registry_login_id: String(othersLogin!.id) })).statusCode).toBe(404);
    expect((await browser.post('/account/registry-logins/revoke', { registry_login_id: 'junk' })).statusCode).toBe(404);
    expect(await listRefreshTokens(t.deps, 'rthank')).toHaveLength(1);

    const revoked = await browser.post('/account/registry-logins/revoke', { registry_login_id: String(newest!.id) });
    expect(revoked.statusCode).toBe(303);
    expect(revoked.headers.location).toBe('/account/?done=registry_login_revoked');
    expect((await refresh(ci, 'repository:rtgina/a:pull')).statusCode).toBe(401);
    expect((await refresh(laptop, 'repository:rtgina/a:pull')).statusCode).toBe(200);
    expect((await browser.get('/account/?done=registry_login_revoked')).body).toContain('that machine must log in again');

    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl };
    const listed = await runCliInProcess(['registry', 'logins', 'rtgina', '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: number; client_id: string })).toEqual([expect.objectContaining({ id: oldest!.id, client_id: 'docker' })]);
    const table = await runCliInProcess(['registry', 'logins', 'rtgina'], { env });
    expect(table.stdout).toMatch(/ID\s+TOKEN\s+SERVICE\s+CLIENT\s+MADE WITH/);
    expect(table.stdout).toContain('password');
    const gone = await runCliInProcess(['registry', 'revoke', String(oldest!.id)], { env });
    expect(gone.code, gone.stderr).toBe(0);
    expect((await refresh(laptop, 'repository:rtgina/a:pull')).statusCode).toBe(401);
    const again = await runCliInProcess(['registry', 'revoke', String(oldest!.id)], { env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('No such registry login');
    expect((await runCliInProcess(['registry', 'revoke', 'abc'], { env })).code).not.toBe(0);
  });

  it('keeps at most 100 per account: the oldest go', async () => {
    const user = await makeUser(t.deps, { username: 'rtivan' });
    const first = (await post({ grant_type: 'password', username: 'rtivan', password: user.password, access_type: 'offline', scope: '' })).json().refresh_token as string;
    for (let i = 0; i < 100; i++) await post({ grant_type: 'password', username: 'rtivan', password: user.password, access_type: 'offline', scope: '' });
    expect(await listRefreshTokens(t.deps, 'rtivan')).toHaveLength(100);
    expect((await refresh(first, 'repository:rtivan/a:pull')).statusCode).toBe(401);
  });

  it('throttled like every sign-in: past the limits GET and POST answer 429 with Retry-After, wrong refresh tokens count per IP', async () => {
    const limited = await buildTestApp({ databaseUrl: t.config.databaseUrl, env: { REGISTRY_SERVICES: SERVICE, LOGIN_MAX_FAILURES: '2', LOGIN_IP_MAX_FAILURES: '4' } });
    try {
      const user = await makeUser(t.deps, { username: 'rtjudy' });
      const tryPassword = (password: string) => limited.app.inject(form({ service: SERVICE, client_id: 'docker', grant_type: 'password', username: 'rtjudy', password }));
      expect((await tryPassword('wrong password one')).statusCode).toBe(401);
      expect((await tryPassword('wrong password two')).statusCode).toBe(401);
      const blocked = await tryPassword(user.password);
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      const viaGet = await limited.app.inject({ url: `/registry/token?service=${SERVICE}&scope=repository:rtjudy/a:pull`, headers: { authorization: basic('rtjudy', user.password) } });
      expect(viaGet.statusCode).toBe(429);
      // Refresh tokens are not guessed per account but per address: the IP's budget.
      const made = (n: number) => ({ ...form({ service: SERVICE, client_id: 'docker', grant_type: 'refresh_token', refresh_token: `dareg_${'x'.repeat(38)}${n}` }), remoteAddress: '192.0.2.9' });
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push((await limited.app.inject(made(i))).statusCode);
      expect(answers.slice(0, 4)).toEqual([401, 401, 401, 401]);
      expect(answers.slice(4)).toEqual([429, 429]);
    } finally {
      await limited.close();
    }
  });
});
