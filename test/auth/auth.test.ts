// Authentication: Basic with a password or a token, Bearer with a token; scopes; the challenges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { generateToken } from '../../src/auth/token-format.ts';
import { createToken, listTokens, revokeToken } from '../../src/tokens/tokens.service.ts';
import { setActive, setPassword } from '../../src/users/users.service.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
let t: TestApp;
const url = '/api/v1.1/users/authuser/';

beforeAll(async () => {
  t = await buildTestApp({ clock });
  await makeUser(t.deps, { username: 'authuser', password: 'pass:with:colons ünïcode' });
  await makeUser(t.deps, { username: 'otherauth' });
  await makeUser(t.deps, { username: 'tokenonly', password: null });
});
afterAll(() => t.close());

const get = (authorization: string | undefined, path = url) => t.app.inject({ method: 'GET', url: path, headers: authorization === undefined ? {} : { authorization } });

describe('HTTP Basic', () => {
  it('accepts a password with colons and non-ASCII characters (UTF-8), and a case-insensitive scheme', async () => {
    expect((await get(basic('authuser', 'pass:with:colons ünïcode'))).statusCode).toBe(200);
    const raw = Buffer.from('authuser:pass:with:colons ünïcode').toString('base64');
    expect((await get(`basic ${raw}`)).statusCode).toBe(200);
    expect((await get(`BASIC ${raw}`)).statusCode).toBe(200);
  });

  it('accepts the username in any case', async () => {
    expect((await get(basic('AuthUser', 'pass:with:colons ünïcode'))).statusCode).toBe(200);
  });

  it('401 for malformed credentials', async () => {
    for (const header of ['Basic', 'Basic !!!notbase64', `Basic ${Buffer.from('nocolon').toString('base64')}`, `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`, 'Digest abc', 'garbage', '']) {
      const res = await get(header);
      expect(res.statusCode, header).toBe(401);
      expect(res.headers['www-authenticate']).toEqual(['Basic realm="accounts", charset="UTF-8"', 'Bearer realm="accounts"']);
    }
  });

  it('accepts one of the user’s tokens as the password, with that token’s scopes only', async () => {
    const token = await makeToken(t.deps, 'authuser', ['email_read']);
    expect((await get(basic('authuser', token), `${url}emails/`)).statusCode).toBe(200);
    const res = await get(basic('authuser', token));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
  });

  it('refuses a token of another user in the password field', async () => {
    const token = await makeToken(t.deps, 'otherauth', ['profile_read']);
    expect((await get(basic('authuser', token))).statusCode).toBe(401);
  });

  it('an account without a password can only use tokens', async () => {
    expect((await get(basic('tokenonly', ''), '/api/v1.1/users/tokenonly/')).statusCode).toBe(401);
    const token = await makeToken(t.deps, 'tokenonly', ['profile_read']);
    expect((await get(bearer(token), '/api/v1.1/users/tokenonly/')).statusCode).toBe(200);
  });

  it('refuses a password that has the shape of a token (Basic would read it as a token)', async () => {
    await expect(setPassword(t.deps, 'otherauth', generateToken())).rejects.toMatchObject({ status: 400, fieldErrors: { password: [expect.stringMatching(/shape of an access token/)] } });
  });

  it('a changed password takes effect at once', async () => {
    const u = await makeUser(t.deps, { username: 'changer' });
    expect((await get(basic('changer', u.password), '/api/v1.1/users/changer/')).statusCode).toBe(200);
    await setPassword(t.deps, 'changer', 'a brand new password');
    expect((await get(basic('changer', u.password), '/api/v1.1/users/changer/')).statusCode).toBe(401);
    expect((await get(basic('changer', 'a brand new password'), '/api/v1.1/users/changer/')).statusCode).toBe(200);
  });
});

describe('Bearer tokens', () => {
  it('carry exactly their scopes; write does not imply read', async () => {
    const token = await makeToken(t.deps, 'authuser', ['profile_write', 'email_write']);
    const profile = await get(bearer(token));
    expect(profile.statusCode).toBe(403);
    expect(profile.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="profile_read"');
    expect((await get(bearer(token), `${url}emails/`)).statusCode).toBe(403);
    const all = await makeToken(t.deps, 'authuser', ['profile_read', 'profile_write', 'email_read', 'email_write']);
    expect((await get(bearer(all))).statusCode).toBe(200);
    expect((await get(`bearer ${all}`)).statusCode).toBe(200);
  });

  it('401 with error="invalid_token" for unknown, malformed, expired and revoked tokens', async () => {
    const expiring = await makeToken(t.deps, 'authuser', ['profile_read'], { expiresInMs: 60_000 });
    const revoked = await makeToken(t.deps, 'authuser', ['profile_read']);
    await revokeToken(t.deps, revoked);
    const valid = await makeToken(t.deps, 'authuser', ['profile_read']);
    const mistyped = valid.slice(0, -1) + (valid.endsWith('a') ? 'b' : 'a');
    expect((await get(bearer(expiring))).statusCode).toBe(200);
    now += 61_000;
    for (const token of [expiring, revoked, generateToken(), mistyped, 'zAy0BxC1wDv2EuF3tGs4HrI6qJp6KoL7nM', 'dapat_short', 'a b']) {
      const res = await get(bearer(token));
      expect(res.statusCode, token).toBe(401);
      expect(res.json().code).toBe('not_authenticated');
      expect(res.headers['www-authenticate']).toEqual(['Basic realm="accounts", charset="UTF-8"', 'Bearer realm="accounts", error="invalid_token"']);
    }
    expect((await get(bearer(valid))).statusCode).toBe(200);
  });

  it('stop working when the account is deactivated, and work again when it is activated', async () => {
    const u = await makeUser(t.deps, { username: 'pausable' });
    const token = await makeToken(t.deps, 'pausable', ['profile_read']);
    await setActive(t.deps, 'pausable', false);
    expect((await get(bearer(token), '/api/v1.1/users/pausable/')).statusCode).toBe(401);
    expect((await get(basic('pausable', token), '/api/v1.1/users/pausable/')).statusCode).toBe(401);
    expect((await get(basic('pausable', u.password), '/api/v1.1/users/pausable/')).statusCode).toBe(401);
    await setActive(t.deps, 'pausable', true);
    const res = await get(bearer(token), '/api/v1.1/users/pausable/');
    expect(res.statusCode).toBe(200);
    expect(res.json().is_active).toBe(true);
  });

  it('are never accepted from the query string', async () => {
    const token = await makeToken(t.deps, 'authuser', ['profile_read']);
    expect((await get(undefined, `${url}?access_token=${token}`)).statusCode).toBe(401);
  });

  it('have names without control characters, at most 100 characters', async () => {
    await expect(createToken(t.deps, { username: 'otherauth', scopes: ['profile_read'], name: 'bad\u001bname' })).rejects.toMatchObject({ status: 400 });
    await expect(createToken(t.deps, { username: 'otherauth', scopes: ['profile_read'], name: 'x'.repeat(101) })).rejects.toMatchObject({ status: 400 });
    expect((await createToken(t.deps, { username: 'otherauth', scopes: ['profile_read'], name: '  laptop  ' })).summary.name).toBe('laptop');
  });

  it('record when they were last used', async () => {
    const token = await makeToken(t.deps, 'otherauth', ['profile_read']);
    const before = (await listTokens(t.deps, 'otherauth')).find((x) => x.hint.startsWith(token.slice(0, 10)));
    expect(before?.last_used_at).toBeNull();
    await get(bearer(token), '/api/v1.1/users/otherauth/');
    const after = (await listTokens(t.deps, 'otherauth')).find((x) => x.id === before!.id);
    expect(after?.last_used_at).toBe(formatMicros(now * 1000));
  });
});
