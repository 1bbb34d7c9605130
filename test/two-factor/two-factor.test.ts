// Two-factor authentication over HTTP (app.inject, a cookie jar per browser) with a real SMTP peer
// and a clock the test moves: the authenticator app set up from the page (the otpauth:// URI read
// from it, codes computed here), the login's second step, replay, drift, recovery codes,
// brute force, HTTP Basic refused while tokens work, turning it off, REQUIRE_2FA, the operator's
// reset, and how the secret is kept. Runs on both stores.
import { Secret, TOTP, URI } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { USE_A_TOKEN_DETAIL } from '../../src/auth/sign-in.ts';
import { secondFactorChanged } from '../../src/two-factor/two-factor.service.ts';
import { PUBLIC_URL, basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { browserFor, type Browser } from '../support/inject-browser.ts';
import { startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp.ts';

let now = Date.parse('2026-12-02T12:00:00Z');
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
let smtp: SmtpPeer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, SERVICE_NAME: 'Example Hub', LOGIN_MAX_FAILURES: '5' }, clock });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

/** Moves the clock to the start of the next 30-second step (a new code). */
const nextStep = () => {
  now = (Math.floor(now / 30_000) + 1) * 30_000 + 1_000;
};
let ipCounter = 0;
const nextIp = () => `198.51.100.${++ipCounter}`;
const mailTo = (address: string, after: number): Promise<ReceivedMail> => smtp.waitFor((m) => m.to.includes(address) && smtp.messages.indexOf(m) >= after);
const apiStatus = async (username: string, authorization: string) => t.app.inject({ url: `/api/v1.1/users/${username}/`, headers: { authorization } });

/** Logs in with the password; the answer (a 303 to the second step when two-factor is on, whose page is then opened). */
async function passwordStep(browser: Browser, username: string, password: string) {
  await browser.get('/account/login');
  const res = await browser.post('/account/login', { username, password });
  if (res.headers.location === '/account/login/second-factor') await browser.get('/account/login/second-factor');
  return res;
}

/** Sets up an authenticator app from the settings page; its generator and the recovery codes shown. */
async function setUpTotp(browser: Browser): Promise<{ totp: TOTP; codes: string[] }> {
  await browser.get('/account/');
  const started = await browser.post('/account/two-factor/totp/start', {});
  expect(started.statusCode).toBe(303);
  expect(started.headers.location).toBe('/account/two-factor/totp');
  const page = await browser.get('/account/two-factor/totp');
  expect(page.statusCode).toBe(200);
  expect(page.body).toContain('<svg');
  const uri = /<code id="totp-uri">([^<]+)<\/code>/.exec(page.body)![1]!.replaceAll('&#38;', '&').replaceAll('&#61;', '=');
  const totp = URI.parse(uri) as TOTP;
  expect(totp).toBeInstanceOf(TOTP);
  expect({ algorithm: totp.algorithm, digits: totp.digits, period: totp.period, issuer: totp.issuer }).toEqual({ algorithm: 'SHA1', digits: 6, period: 30, issuer: 'Example Hub' });
  // The secret is offered as text too, for people who cannot scan.
  const shown = /<code id="totp-secret">([^<]+)<\/code>/.exec(page.body)![1]!.replace(/\s/g, '');
  expect(shown).toBe(totp.secret.base32);
  const wrong = await browser.post('/account/two-factor/totp/confirm', { code: '000000' === totp.generate({ timestamp: now }) ? '111111' : '000000' });
  expect(wrong.statusCode).toBe(400);
  expect(wrong.body).toContain('id="totp-code-error"');
  const confirmed = await browser.post('/account/two-factor/totp/confirm', { code: totp.generate({ timestamp: now }) });
  expect(confirmed.statusCode).toBe(200);
  const codes = [...confirmed.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => m[1]!);
  expect(codes).toHaveLength(10);
  expect(new Set(codes).size).toBe(10);
  nextStep();
  return { totp, codes };
}

async function userWithTotp(name: string) {
  const user = await makeUser(t.deps, { username: name, email: `${name}@example.com` });
  const browser = browserFor(t.app);
  expect((await passwordStep(browser, name, user.password)).statusCode).toBe(303);
  const { totp, codes } = await setUpTotp(browser);
  return { user, browser, totp, codes };
}

describe('an authenticator app', () => {
  it('is set up from the settings page: QR code, URI and secret, on only after a right code; recovery codes shown once; audited and mailed', async () => {
    const before = smtp.messages.length;
    const { user, browser } = await userWithTotp('totpsetup');
    const page = await browser.get('/account/');
    expect(page.body).toContain('Two-factor authentication is <strong>on</strong>');
    expect(page.body).toContain('<strong id="recovery-left">10</strong>');
    const mail = await mailTo('totpsetup@example.com', before);
    expect(mail.subject).toBe('Example Hub: An authenticator app was added to your account');
    const events = await t.store.db.selectFrom('audit_events').select(['event', 'detail']).where('user_id', '=', user.id).where('event', '=', 'second_factor_added').execute();
    expect(events).toEqual([{ event: 'second_factor_added', detail: JSON.stringify({ method: 'totp' }) }]);
    // Stored sealed: neither the base32 secret nor its bytes are in the row.
    const row = await t.store.db.selectFrom('totp_authenticators').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.secret).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    const codes = await t.store.db.selectFrom('recovery_codes').select('code_digest').where('user_id', '=', user.id).execute();
    expect(codes.every((c) => /^[0-9a-f]{64}$/.test(c.code_digest))).toBe(true);
    // A second set-up is refused while one is on.
    const again = await browser.post('/account/two-factor/totp/start', {});
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('already set up');
  });

  it('the login asks for a code after the password; a wrong one is said, a right one signs in and is remembered by the session; each code works once', async () => {
    const { user, totp } = await userWithTotp('totplogin');
    const browser = browserFor(t.app);
    const step = await passwordStep(browser, 'totplogin', user.password);
    expect(step.statusCode).toBe(303);
    expect(step.headers.location).toBe('/account/login/second-factor');
    // Nobody is signed in yet.
    expect((await browser.get('/account/')).headers.location).toBe('/account/login');
    const page = await browser.get('/account/login/second-factor');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Signing in as <strong id="who">totplogin</strong>');
    const wrong = await browser.post('/account/login/second-factor', { code: '123456' === totp.generate({ timestamp: now }) ? '654321' : '123456' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('This code is not right, or was used already.');
    const code = totp.generate({ timestamp: now });
    const done = await browser.post('/account/login/second-factor', { code: code.replace(/(\d{3})/, '$1 ') });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/account/');
    expect((await browser.get('/account/')).statusCode).toBe(200);
    const session = await t.store.db.selectFrom('sessions').select('second_factor').where('user_id', '=', user.id).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(session.second_factor).toBe('totp');
    expect((await browser.get('/account/')).body).toContain('<span class="badge">with an authenticator app</span>');

    // The same code again, from another browser within its window: refused (RFC 6238 §5.2).
    const replay = browserFor(t.app);
    await passwordStep(replay, 'totplogin', user.password);
    await replay.get('/account/login/second-factor');
    expect((await replay.post('/account/login/second-factor', { code })).statusCode).toBe(401);
    // One step of drift either way is accepted: the code of the previous step, once the clock moved on.
    nextStep();
    const previous = totp.generate({ timestamp: now - 30_000 });
    expect((await replay.post('/account/login/second-factor', { code: totp.generate({ timestamp: now - 60_000 }) })).statusCode).toBe(401);
    expect((await replay.post('/account/login/second-factor', { code: previous })).statusCode).toBe(previous === code ? 401 : 303);
  });

  it('a step is good for 5 minutes and once', async () => {
    const { user, totp } = await userWithTotp('totpstep');
    const browser = browserFor(t.app);
    await passwordStep(browser, 'totpstep', user.password);
    now += 5 * 60_000 + 1_000;
    const late = await browser.post('/account/login/second-factor', { code: totp.generate({ timestamp: now }) });
    expect(late.statusCode).toBe(401);
    expect(late.body).toContain('That took too long');
  });

  it('wrong codes count toward the account’s brute-force limit, and a right password does not reset the count', async () => {
    const { user, totp } = await userWithTotp('totpguess');
    const browser = browserFor(t.app);
    const wrongCode = () => String((Number(totp.generate({ timestamp: now })) + 1) % 1_000_000).padStart(6, '0');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      // The attacker knows the password and starts over each time: the right password does not
      // reset the count, so the limit is reached after LOGIN_MAX_FAILURES (5) wrong codes.
      const login = await passwordStep(browser, 'totpguess', user.password);
      if (login.statusCode === 429) {
        statuses.push(429);
        break;
      }
      statuses.push((await browser.post('/account/login/second-factor', { code: wrongCode() })).statusCode);
    }
    // Five wrong codes, then the sixth attempt is refused at the password already.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const failed = await t.store.db.selectFrom('audit_events').select('detail').where('username', '=', 'totpguess').where('event', '=', 'login_failed').execute();
    expect(failed.length).toBe(5);
    expect(failed.every((e) => e.detail === JSON.stringify({ reason: 'bad_second_factor' }))).toBe(true);
    // The password, right as it is, is now refused with the wait too.
    const locked = await passwordStep(browser, 'totpguess', user.password);
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBeDefined();
  });
});

describe('recovery codes', () => {
  it('each works once in place of a code; its use is audited and mailed; new ones replace the old', async () => {
    const { user, codes, browser: settings } = await userWithTotp('recoverer');
    const browser = browserFor(t.app);
    await passwordStep(browser, 'recoverer', user.password);
    const before = smtp.messages.length;
    expect((await browser.post('/account/login/second-factor', { code: codes[0]!.toUpperCase().replace('-', ' ') })).statusCode).toBe(303);
    const mail = await smtp.waitFor((m) => m.to.includes('recoverer@example.com') && m.subject === 'Example Hub: A recovery code was used' && smtp.messages.indexOf(m) >= before);
    expect(mail.text).toContain('9 of them are left');
    const again = browserFor(t.app);
    await passwordStep(again, 'recoverer', user.password);
    expect((await again.post('/account/login/second-factor', { code: codes[0]! })).statusCode).toBe(401);
    const used = await t.store.db.selectFrom('audit_events').select('detail').where('user_id', '=', user.id).where('event', '=', 'recovery_code_used').execute();
    expect(used).toEqual([{ detail: JSON.stringify({ left: 9 }) }]);

    await settings.get('/account/');
    const fresh = await settings.post('/account/two-factor/recovery-codes', {});
    expect(fresh.statusCode).toBe(200);
    const newCodes = [...fresh.body.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => m[1]!);
    expect(newCodes).toHaveLength(10);
    expect((await again.post('/account/login/second-factor', { code: codes[1]! })).statusCode).toBe(401);
    expect((await again.post('/account/login/second-factor', { code: newCodes[1]! })).statusCode).toBe(303);
  });
});

describe('the API with two-factor on', () => {
  it('counts a confirmed authenticator app or any passkey as two-factor on, not an app still being set up', async () => {
    const user = await makeUser(t.deps, { username: 'factorcount', email: 'factorcount@example.com' });
    const now = new Date().toISOString();
    const password = () => apiStatus('factorcount', basic('factorcount', user.password)).then((r) => r.statusCode);
    // Each change made in SQL, then announced as the services announce theirs.
    const change = async (write: () => Promise<unknown>) => {
      await write();
      secondFactorChanged(t.deps, user.id);
    };
    expect(await password()).toBe(200);
    await change(() => t.store.db.insertInto('totp_authenticators').values({ user_id: user.id, secret: 'sealed', created_at: now }).execute());
    expect(await password()).toBe(200); // pending: not confirmed
    await change(() => t.store.db.insertInto('passkeys').values({ user_id: user.id, credential_id: 'cred-factorcount', public_key: 'key', transports: '[]', name: 'Key', created_at: now }).execute());
    expect(await password()).toBe(401);
    await change(() => t.store.db.deleteFrom('passkeys').where('user_id', '=', user.id).execute());
    expect(await password()).toBe(200);
    await change(() => t.store.db.updateTable('totp_authenticators').set({ confirmed_at: now }).where('user_id', '=', user.id).execute());
    expect(await password()).toBe(401);
  });

  it('a password the API took a moment ago (cached) is refused as soon as an authenticator app is set up, and taken again once two-factor is off', async () => {
    const user = await makeUser(t.deps, { username: 'cachedfactor', email: 'cachedfactor@example.com' });
    const password = () => apiStatus('cachedfactor', basic('cachedfactor', user.password)).then((r) => r.statusCode);
    expect(await password()).toBe(200);
    expect(await password()).toBe(200); // from the cache, the rule remembered
    const browser = browserFor(t.app);
    expect((await passwordStep(browser, 'cachedfactor', user.password)).statusCode).toBe(303);
    const { codes } = await setUpTotp(browser);
    expect(await password()).toBe(401);
    // Turned off on the account page, confirmed with a recovery code.
    expect((await browser.post('/account/two-factor/disable', { code: codes[0]! })).statusCode).toBe(303);
    expect(await password()).toBe(200);
  });

  it('refuses HTTP Basic with the password (401, the detail says to use a token); a personal access token works, as Basic and as Bearer', async () => {
    const { user } = await userWithTotp('apiuser');
    const refused = await apiStatus('apiuser', basic('apiuser', user.password));
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'not_authenticated', detail: USE_A_TOKEN_DETAIL });
    expect(refused.headers['www-authenticate']).toBeDefined();
    // A wrong password says nothing of two-factor.
    const wrong = await apiStatus('apiuser', basic('apiuser', 'not the password at all'));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().detail).not.toBe(USE_A_TOKEN_DETAIL);
    const token = await makeToken(t.deps, 'apiuser', ['profile_read']);
    expect((await apiStatus('apiuser', basic('apiuser', token))).statusCode).toBe(200);
    expect((await apiStatus('apiuser', bearer(token))).statusCode).toBe(200);
  });
});

describe('turning it off', () => {
  it('asks for a factor; then the password alone signs in again and works on the API', async () => {
    const { user, browser, totp } = await userWithTotp('turnoff');
    await browser.get('/account/');
    const refused = await browser.post('/account/two-factor/disable', { code: '' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('Enter a code from your authenticator app');
    expect((await browser.post('/account/two-factor/disable', { code: '999999' === totp.generate({ timestamp: now }) ? '888888' : '999999' })).statusCode).toBe(400);
    const off = await browser.post('/account/two-factor/disable', { code: totp.generate({ timestamp: now }) });
    expect(off.statusCode).toBe(303);
    expect(off.headers.location).toBe('/account/?done=two_factor_off');
    expect(await t.store.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
    expect((await passwordStep(browserFor(t.app), 'turnoff', user.password)).headers.location).toBe('/account/');
    expect((await apiStatus('turnoff', basic('turnoff', user.password))).statusCode).toBe(200);
  });

  it('deleting the account asks for a factor too', async () => {
    const { user, browser, totp } = await userWithTotp('deleter');
    await browser.get('/account/');
    const without = await browser.post('/account/delete', { current_password: user.password, confirm_username: 'deleter' });
    expect(without.statusCode).toBe(400);
    expect(without.body).toContain('Enter a code from your authenticator app');
    expect((await browser.post('/account/delete', { current_password: user.password, confirm_username: 'deleter', code: totp.generate({ timestamp: now }) })).statusCode).toBe(200);
    expect(await t.store.db.selectFrom('totp_authenticators').select('user_id').where('user_id', '=', user.id).execute()).toEqual([]);
  });

  it('a password reset leaves it on', async () => {
    const { user } = await userWithTotp('resetter');
    const result = await runCliInProcess(['user', 'reset-link', 'resetter'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL } });
    expect(result.code, result.stderr).toBe(0);
    const token = new URL(result.stdout.trim()).searchParams.get('token')!;
    const set = await t.app.inject({ method: 'POST', url: '/account/reset-password', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token, password: 'a brand new passphrase' }).toString() });
    expect(set.statusCode).toBe(200);
    expect((await passwordStep(browserFor(t.app), 'resetter', 'a brand new passphrase')).headers.location).toBe('/account/login/second-factor');
    expect((await apiStatus('resetter', basic('resetter', 'a brand new passphrase'))).json().detail).toBe(USE_A_TOKEN_DETAIL);
    expect(user.id).toBeGreaterThan(0);
  });

  it('`accounts user 2fa-reset` removes every factor for someone who lost them: audited, mailed', async () => {
    const { user } = await userWithTotp('lostphone');
    const before = smtp.messages.length;
    const result = await runCliInProcess(['user', '2fa-reset', 'LostPhone'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL, SMTP_URL: smtp.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Turned two-factor authentication off for lostphone');
    await smtp.waitFor((m) => m.to.includes('lostphone@example.com') && m.subject === 'Accounts: Two-factor authentication was turned off' && smtp.messages.indexOf(m) >= before);
    const events = await t.store.db.selectFrom('audit_events').select(['event', 'actor', 'detail']).where('user_id', '=', user.id).where('event', '=', 'two_factor_reset').execute();
    expect(events).toEqual([{ event: 'two_factor_reset', actor: 'admin', detail: JSON.stringify({ factors_removed: 1 }) }]);
    expect((await passwordStep(browserFor(t.app), 'lostphone', user.password)).headers.location).toBe('/account/');
    const again = await runCliInProcess(['user', '2fa-reset', 'lostphone'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL } });
    expect(again.stderr).toContain('had no second factor');
    expect((await runCliInProcess(['user', '2fa-reset', 'nosuchuser'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL } })).code).not.toBe(0);
  });
});

it('`accounts export` says that it leaves second factors out, and for how many accounts', async () => {
  await userWithTotp('exported');
  const result = await runCliInProcess(['export'], { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL } });
  expect(result.code, result.stderr).toBe(0);
  const withFactors = Number(/the second factors of (\d+) accounts? with two-factor/.exec(result.stderr)?.[1]);
  expect(withFactors).toBeGreaterThanOrEqual(1);
  const types = new Set(result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { type?: string }).type ?? 'header'));
  expect([...types].every((type) => ['header', 'user', 'email', 'token', 'client', 'end'].includes(type))).toBe(true);
  expect(result.stdout).toContain('"username":"exported"');
});

describe('how the secret is kept', () => {
  it('is sealed for its account: moved to another account’s row it no longer opens', async () => {
    const a = await t.deps.secrets.seal('JBSWY3DPEHPK3PXP', 'totp:1');
    expect(await t.deps.secrets.open(a, 'totp:1')).toBe('JBSWY3DPEHPK3PXP');
    expect(await t.deps.secrets.open(a, 'totp:2')).toBeUndefined();
    expect(await t.deps.secrets.open(a.slice(0, -2) + (a.endsWith('AA') ? 'BB' : 'AA'), 'totp:1')).toBeUndefined();
    expect(await t.deps.secrets.open('v2.x.y', 'totp:1')).toBeUndefined();
  });

  it('SECRET_KEY, when set, is the key (a malformed one is refused at start-up)', async () => {
    const key = Buffer.alloc(32, 7);
    const withKey = await buildTestApp({ env: { SECRET_KEY: key.toString('base64') } });
    try {
      const sealed = await withKey.deps.secrets.seal('JBSWY3DPEHPK3PXP', 'totp:5');
      const again = await buildTestApp({ env: { SECRET_KEY: key.toString('hex') } });
      try {
        expect(await again.deps.secrets.open(sealed, 'totp:5')).toBe('JBSWY3DPEHPK3PXP');
      } finally {
        await again.close();
      }
      expect(await t.deps.secrets.open(sealed, 'totp:5')).toBeUndefined();
      expect(await withKey.store.db.selectFrom('service_keys').selectAll().execute()).toEqual([]);
    } finally {
      await withKey.close();
    }
    await expect(buildTestApp({ env: { SECRET_KEY: 'too short' } })).rejects.toThrow(/SECRET_KEY: must be 32 random bytes/);
  });
});

describe('REQUIRE_2FA', () => {
  it('an account without a second factor may only set one up on the pages; the OAuth login page sends it there', async () => {
    const strict = await buildTestApp({ env: { REQUIRE_2FA: 'true', SMTP_URL: smtp.url }, clock });
    try {
      const user = await makeUser(strict.deps, { username: 'enrollee', email: 'enrollee@example.com' });
      const browser = browserFor(strict.app);
      await browser.get('/account/login');
      expect((await browser.post('/account/login', { username: 'enrollee', password: user.password })).headers.location).toBe('/account/');
      const page = await browser.get('/account/');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('id="must-enrol"');
      expect(page.body).not.toContain('Personal access tokens');
      expect((await browser.post('/account/tokens/create', { name: 'x', scope_profile_read: '1', expires_in: 'never' })).statusCode).toBe(403);
      const started = await browser.post('/account/two-factor/totp/start', {});
      expect(started.statusCode).toBe(303);
      const setup = await browser.get('/account/two-factor/totp');
      const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(setup.body)![1]!.replace(/\s/g, '');
      const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: now });
      expect((await browser.post('/account/two-factor/totp/confirm', { code })).statusCode).toBe(200);
      const settings = await browser.get('/account/');
      expect(settings.body).toContain('Personal access tokens');
      expect(settings.body).not.toContain('id="must-enrol"');
    } finally {
      await strict.close();
      nextStep();
    }
  });

  it('REQUIRE_2FA must be true or false', async () => {
    await expect(buildTestApp({ env: { REQUIRE_2FA: 'yes' } })).rejects.toThrow(/REQUIRE_2FA: must be true or false/);
  });
});

it('an unknown or foreign passkey answer never signs anyone in', async () => {
  const browser = browserFor(t.app);
  await browser.get('/account/login');
  const options = await browser.post('/account/login/passkey-options', {});
  expect(options.statusCode).toBe(200);
  const ceremony = options.json() as { step: string; mode: string; publicKey: { challenge: string; rpId: string; userVerification: string; allowCredentials: unknown[] } };
  expect(ceremony.mode).toBe('get');
  expect(ceremony.publicKey.rpId).toBe(new URL(PUBLIC_URL).hostname);
  expect(ceremony.publicKey.userVerification).toBe('required');
  expect(ceremony.publicKey.allowCredentials).toEqual([]);
  const forged = JSON.stringify({ id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' }, clientExtensionResults: {} });
  for (const response of [forged, 'not json', '{"response":1}']) {
    const res = await browser.post('/account/login/passkey', { passkey_step: ceremony.step, passkey_response: response });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('The passkey could not be used to sign in.');
  }
  // Without the login form's token: refused before anything is looked at.
  expect((await browser.post('/account/login/passkey-options', {}, { csrf: null })).statusCode).toBe(403);
  expect(nextIp()).toBeDefined();
});
