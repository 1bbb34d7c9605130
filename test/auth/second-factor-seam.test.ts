// The sign-in core's seam for a second factor (src/auth/sign-in.ts, SecondFactorGate): asked only
// after the password was right, with the entry point; a refusal is a failed sign-in of its own
// reason, counted and audited like any other, while tokens never pass through it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthCache } from '../../src/auth/auth-cache.ts';
import { createLoginThrottle } from '../../src/auth/login-throttle.ts';
import { createSignIn, type SecondFactorGate, type SignInAuditEvent, type SignInVia } from '../../src/auth/sign-in.ts';
import { ApiError } from '../../src/kernel/errors.ts';
import { personalTokenVerifier } from '../../src/tokens/token-verifier.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

function signInWith(gate: SecondFactorGate, audited: SignInAuditEvent[] = []) {
  const cache = createAuthCache();
  return createSignIn(t.deps, {
    throttle: createLoginThrottle({ maxFailures: 10, ipFailuresPerMinute: 100, keyPrefix: 'seam:', clock: t.deps.clock }),
    cache,
    personalTokens: personalTokenVerifier(t.deps, cache),
    bearerTokens: [],
    audit: async (event) => {
      audited.push(event);
    },
    secondFactor: gate,
  });
}

describe('the second-factor seam of the sign-in core', () => {
  it('is asked only after a right password, with the account and the entry point', async () => {
    const user = await makeUser(t.deps);
    const asked: Array<[string, SignInVia]> = [];
    const signIn = signInWith(async (account, via) => {
      asked.push([account.username, via]);
      return 'none';
    });
    expect(await signIn.password({ username: user.username, password: 'wrong password here', ip: '192.0.2.1', via: 'account_page' })).toEqual({ ok: false, reason: 'invalid' });
    expect(asked).toEqual([]);
    expect(await signIn.password({ username: user.username, password: user.password, ip: '192.0.2.1', via: 'oauth_login' })).toEqual({ ok: true, account: { id: user.id, username: user.username } });
    await signIn.authorization(basic(user.username, user.password), '192.0.2.1');
    expect(asked).toEqual([
      [user.username, 'oauth_login'],
      [user.username, 'api'],
    ]);
  });

  it('a refusal fails the sign-in (401 for HTTP Basic, "invalid" for a form), audited with its reason; tokens do not pass through it', async () => {
    const user = await makeUser(t.deps);
    const audited: SignInAuditEvent[] = [];
    const signIn = signInWith(async () => 'refused', audited);
    const error = await signIn.authorization(basic(user.username, user.password), '192.0.2.2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'not_authenticated', internal: 'second_factor_required' });
    expect(await signIn.password({ username: user.username, password: user.password, ip: '192.0.2.2', via: 'account_page' })).toEqual({ ok: false, reason: 'invalid' });
    expect(audited.filter((e) => e.event === 'login_failed').map((e) => e.event === 'login_failed' && e.reason)).toEqual(['second_factor_required', 'second_factor_required']);
    const token = await makeToken(t.deps, user.username, ['profile_read']);
    expect((await signIn.authorization(bearer(token), '192.0.2.2')).method).toBe('token');
    expect((await signIn.authorization(basic(user.username, token), '192.0.2.2')).method).toBe('token');
  });
});
