// Issue 7, items 4–6, over HTTP (inject): login and logout, sessions and their timeouts, CSRF,
// every form of the settings page on its success and error paths, brute force on the login form.
import { createHash } from 'node:crypto';
import { WEBAUTHN_SCRIPT } from '../../src/web/webauthn-script.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { listUserAuditEvents } from '../../src/users/users.service.ts';
import { setActive } from '../../src/users/users.service.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import type { LightMyRequestResponse } from 'fastify';
import { expectPageHeaders as expectHeadersOfPage, parseSetCookie } from '../support/pages.ts';
import { browserFor, setCookies } from '../support/inject-browser.ts';

let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ clock, env: { LOGIN_MAX_FAILURES: '3', SESSION_IDLE_MINUTES: '30', SESSION_MAX_MINUTES: '720' } });
});
afterAll(async () => {
  await t?.close();
});

function expectPageHeaders(res: { headers: Record<string, unknown> }) {
  expectHeadersOfPage(res, { referrerPolicy: 'same-origin', https: true, webauthn: true });
}

/** The cookie the answer sets by that name, parsed. */
function cookieSet(res: LightMyRequestResponse, name: string) {
  const line = setCookies(res).find((c) => c.startsWith(`${name}=`));
  expect(line, `Set-Cookie ${name}`).toBeDefined();
  return parseSetCookie(line!);
}

async function profileOf(user: { username: string; password: string }) {
  return (await t.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization: basic(user.username, user.password) } })).json();
}

async function loggedIn(username?: string) {
  const user = await makeUser(t.deps, username ? { username } : {});
  const browser = browserFor(t.app);
  const res = await browser.login(user.username, user.password);
  expect(res.statusCode, res.body).toBe(303);
  return { user, browser };
}

describe('login and logout', () => {
  it('sends a visitor without a session to the login form, which has username and password inputs', async () => {
    const browser = browserFor(t.app);
    const res = await browser.get('/account/');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account/login');
    const page = await browser.get('/account/login');
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page);
    expect(page.body).toContain('name="username"');
    expect(page.body).toContain('name="password"');
    expect(page.body).toMatch(/<label for="login-username">/);
    // On https a __Host- cookie, which no other host (a subdomain included) can set.
    expect(cookieSet(page, '__Host-account_login_csrf')).toEqual({
      name: '__Host-account_login_csrf',
      value: expect.stringMatching(/^\d+\.[\w-]+$/),
      attributes: { path: '/', httponly: true, samesite: 'Lax', secure: true },
    });
  });

  it('logs in: a session cookie (HttpOnly, SameSite=Lax, Secure, Path=/account) whose id is stored only as a digest', async () => {
    const user = await makeUser(t.deps);
    const browser = browserFor(t.app);
    const res = await browser.login(user.username, user.password);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account/');
    expect(cookieSet(res, 'account_session')).toEqual({
      name: 'account_session',
      value: expect.stringMatching(/^[\w-]{43}$/),
      attributes: { path: '/account', httponly: true, samesite: 'Lax', secure: true },
    });
    // The login form's cookie is done with.
    expect(cookieSet(res, '__Host-account_login_csrf')).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/' } });
    const id = browser.cookies.get('account_session')!;
    const rows = await t.store.db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.session_digest).toBe(createHash('sha256').update(id).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(id);

    const page = await browser.get('/account/');
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page);
    expect(page.body).toContain(`Signed in as <strong id="who">${user.username}</strong>`);
    for (const section of ['Profile', 'Email addresses', 'Personal access tokens', 'Authorised applications', 'Change password']) expect(page.body).toContain(section);
    expect(page.body).toContain('No applications.');
    // /account without the slash lands on the page too.
    expect((await browser.get('/account')).headers.location).toBe('/account/');
  });

  it('leaves out the Secure attribute when PUBLIC_URL is http', async () => {
    const plain = await buildTestApp({ env: { PUBLIC_URL: 'http://localhost:8080' } });
    try {
      const res = await plain.app.inject({ method: 'GET', url: '/account/login' });
      expect(setCookies(res)[0]).not.toContain('Secure');
    } finally {
      await plain.close();
    }
  });

  it('refuses a wrong password with a message beside the field, audited as login_failed', async () => {
    const user = await makeUser(t.deps);
    const browser = browserFor(t.app);
    const res = await browser.login(user.username, 'not the password');
    expect(res.statusCode).toBe(401);
    expectPageHeaders(res);
    expect(res.body).toMatch(/id="login-password-error" role="alert">The username or password is not right./);
    expect(res.body).toContain(`value="${user.username}"`);
    expect(browser.cookies.has('account_session')).toBe(false);
    const events = await listUserAuditEvents(t.deps, user.username);
    expect(events[0]).toMatchObject({ event: 'login_failed', outcome: 'failure', actor: 'self', detail: { reason: 'bad_password' } });
    expect((await browser.login(user.username, '')).statusCode).toBe(400);
  });

  it('refuses a login without the login form’s CSRF token (403)', async () => {
    const user = await makeUser(t.deps);
    const browser = browserFor(t.app);
    await browser.get('/account/login');
    expect((await browser.post('/account/login', { username: user.username, password: user.password }, { csrf: 'forged' })).statusCode).toBe(403);
    expect((await browser.post('/account/login', { username: user.username, password: user.password }, { csrf: null })).statusCode).toBe(403);
    const fresh = browserFor(t.app);
    const noCookie = await fresh.post('/account/login', { username: user.username, password: user.password }, { csrf: 'anything' });
    expect(noCookie.statusCode).toBe(403);
    expectPageHeaders(noCookie);
  });

  it('login CSRF: a cookie planted by someone else, with a form token to match it, does not log the victim in', async () => {
    // What a plain double-submit check accepted: any value, as long as cookie and field agree.
    const attacker = await makeUser(t.deps);
    const victim = browserFor(t.app);
    for (const name of ['account_login_csrf', '__Host-account_login_csrf']) {
      victim.cookies.clear();
      victim.cookies.set(name, 'planted-by-the-attacker');
      const res = await victim.post('/account/login', { username: attacker.username, password: attacker.password }, { csrf: 'planted-by-the-attacker' });
      expect(res.statusCode, name).toBe(403);
      expect(victim.cookies.has('account_session')).toBe(false);
    }
  });

  it('login CSRF: a form posted from another site is refused even with a valid cookie and token', async () => {
    const user = await makeUser(t.deps);
    const browser = browserFor(t.app);
    await browser.get('/account/login');
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const post = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/account/login',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', host: 'accounts.example.test', ...headers },
        payload: new URLSearchParams({ csrf_token: browser.csrf!, username: user.username, password: user.password }).toString(),
      });
    expect((await post({ 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-site' })).statusCode).toBe(403); // a sibling subdomain
    expect((await post({ origin: 'https://evil.example' })).statusCode).toBe(403);
    // From our own page it works, also behind a proxy that rewrote Host (Origin is PUBLIC_URL's).
    expect((await post({ host: '127.0.0.1:8080', origin: 'https://accounts.example.test' })).statusCode).toBe(303);
  });

  it('login CSRF: a same-origin form is accepted whether the browser sends Fetch Metadata, Origin, both or neither', async () => {
    const user = await makeUser(t.deps);
    const variants: Array<Record<string, string>> = [
      { 'sec-fetch-site': 'same-origin', origin: 'https://accounts.example.test' },
      { 'sec-fetch-site': 'same-origin' },
      { origin: 'https://accounts.example.test' },
      { origin: 'null' }, // a page with Referrer-Policy: no-referrer
      { host: '127.0.0.1:8080', origin: 'https://accounts.example.test' }, // Host rewritten by a proxy
      {},
    ];
    for (const headers of variants) {
      const browser = browserFor(t.app);
      await browser.get('/account/login');
      const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await t.app.inject({
        method: 'POST',
        url: '/account/login',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', host: 'accounts.example.test', ...headers },
        payload: new URLSearchParams({ csrf_token: browser.csrf!, username: user.username, password: user.password }).toString(),
      });
      expect(res.statusCode, JSON.stringify(headers)).toBe(303);
    }
  });

  it('login CSRF: a login form older than an hour is refused', async () => {
    const user = await makeUser(t.deps);
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clocked = await buildTestApp({ clock: { nowMs: () => now, nowIso: () => formatMicros(now * 1000) } });
    try {
      await makeUser(clocked.deps, { username: user.username });
      const browser = browserFor(clocked.app);
      await browser.get('/account/login');
      now += 61 * 60 * 1000;
      expect((await browser.post('/account/login', { username: user.username, password: user.password })).statusCode).toBe(403);
      await browser.get('/account/login');
      expect((await browser.post('/account/login', { username: user.username, password: user.password })).statusCode).toBe(303);
    } finally {
      await clocked.close();
    }
  });

  it('does not log in with a token as the password', async () => {
    const user = await makeUser(t.deps);
    const token = await makeToken(t.deps, user.username, ['profile_read']);
    expect((await browserFor(t.app).login(user.username, token)).statusCode).toBe(401);
  });

  it('logs out (POST with the CSRF token): the session is deleted and the cookie cleared', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    expect((await browser.post('/account/logout', {}, { csrf: 'wrong' })).statusCode).toBe(403);
    const res = await browser.post('/account/logout', {});
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account/login');
    expect(cookieSet(res, 'account_session')).toEqual({
      name: 'account_session',
      value: '',
      attributes: { path: '/account', httponly: true, samesite: 'Lax', secure: true, 'max-age': '0' },
    });
    expect(await t.store.db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).execute()).toEqual([]);
    expect((await browser.get('/account/')).statusCode).toBe(303);
  });
});

describe('sessions', () => {
  it('end after the idle timeout', async () => {
    const { browser } = await loggedIn();
    now += 29 * 60_000;
    expect((await browser.get('/account/')).statusCode).toBe(200);
    now += 29 * 60_000; // 29 minutes since the last request
    expect((await browser.get('/account/')).statusCode).toBe(200);
    now += 31 * 60_000;
    const res = await browser.get('/account/');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account/login');
  });

  it('end after the absolute timeout, however active', async () => {
    const { browser } = await loggedIn();
    for (let minutes = 0; minutes < 700; minutes += 20) {
      now += 20 * 60_000;
      expect((await browser.get('/account/')).statusCode).toBe(200);
    }
    now += 25 * 60_000; // 725 minutes after login
    expect((await browser.get('/account/')).statusCode).toBe(303);
  });

  it('of a deactivated user stop working at once, and a deactivated user cannot log in', async () => {
    const { user, browser } = await loggedIn();
    expect((await browser.get('/account/')).statusCode).toBe(200);
    await setActive(t.deps, user.username, false);
    expect((await browser.get('/account/')).statusCode).toBe(303);
    expect((await browserFor(t.app).login(user.username, user.password)).statusCode).toBe(401);
  });

  it('a POST after the session ended is not carried out', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    now += 31 * 60_000;
    const res = await browser.post('/account/profile', { full_name: 'Too Late' });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Your session has ended');
    expect((await profileOf(user)).full_name).toBe('');
  });
});

describe('CSRF', () => {
  it('refuses every form without the session’s token, or with a wrong one (403)', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    const forms: Array<[string, Record<string, string>]> = [
      ['/account/profile', { full_name: 'Forged' }],
      ['/account/emails/add', { email: 'forged@example.com' }],
      ['/account/emails/remove', { email: user.email }],
      ['/account/emails/verify', { email: user.email }],
      ['/account/emails/primary', { email: user.email }],
      ['/account/tokens/create', { name: 'forged', scope_profile_read: '1' }],
      ['/account/tokens/revoke', { token_id: '1' }],
      ['/account/password', { current_password: user.password, new_password: 'another long password' }],
      ['/account/logout', {}],
    ];
    for (const [url, form] of forms) {
      for (const csrf of [null, 'x'.repeat(43)]) {
        const res = await browser.post(url, form, { csrf });
        expect(res.statusCode, `${url} with ${csrf}`).toBe(403);
        expectPageHeaders(res);
      }
    }
    // Another session's token is no good either.
    const other = await loggedIn();
    await other.browser.get('/account/');
    expect((await browser.post('/account/profile', { full_name: 'Forged' }, { csrf: other.browser.csrf! })).statusCode).toBe(403);
    expect((await profileOf(user)).full_name).toBe('');
  });
});

describe('the settings forms', () => {
  it('escapes what the user typed: a profile and a token name holding markup come out as text', async () => {
    const hostile = '<script>alert("x")</script>';
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    expect((await browser.post('/account/profile', { full_name: hostile, location: '"><img src=x onerror=alert(1)>' })).statusCode).toBe(303);
    expect((await browser.post('/account/tokens/create', { name: hostile, scope_profile_read: '1', expires_in: 'never' })).statusCode).toBe(303);
    const page = await browser.get('/account/?done=token_created');
    expect(page.statusCode).toBe(200);
    // Markup typed by the user never becomes markup (the page's one script is the passkey script).
    expect(page.body.replace(`<script>${WEBAUTHN_SCRIPT}</script>`, '')).not.toMatch(/<script|<img/);
    expect(page.body).toContain('<h1>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</h1>');
    expect(page.body).toContain('value="&#34;&#62;&#60;img src&#61;x onerror&#61;alert(1)&#62;"');
    expect(page.body).toContain('Token “&#60;script&#62;');
    expect(page.body).toContain(`Signed in as <strong id="who">${user.username}</strong>`);
    // A ?done= that names no notice (not even an inherited property) shows none.
    for (const done of ['constructor', '__proto__', 'toString']) expect((await browser.get(`/account/?done=${done}`)).body).not.toContain('class="notice"');
  });

  it('profile: saves the PATCH fields (Post/Redirect/Get) and shows validation messages beside each field', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    const ok = await browser.post('/account/profile', { full_name: 'Jane Doe', location: 'Paris', company: 'ACME', profile_url: 'https://jane.example', gravatar_email: 'jane@example.org' });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/account/?done=profile');
    const page = await browser.get('/account/?done=profile');
    expect(page.body).toContain('Your profile was saved.');
    expect(page.body).toContain('value="Jane Doe"');
    const api = await profileOf(user);
    expect(api).toMatchObject({ full_name: 'Jane Doe', location: 'Paris', company: 'ACME', profile_url: 'https://jane.example' });
    expect(api.gravatar_url).toContain(createHash('md5').update('jane@example.org').digest('hex'));

    const bad = await browser.post('/account/profile', { full_name: 'x'.repeat(256), location: 'Lyon', company: '', profile_url: 'ftp://nope', gravatar_email: 'not an address' });
    expect(bad.statusCode).toBe(400);
    expectPageHeaders(bad);
    expect(bad.body).toMatch(/id="profile-full_name"[^>]*aria-invalid="true"[^>]*aria-describedby="profile-full_name-error"/);
    expect(bad.body).toMatch(/id="profile-full_name-error" role="alert">Ensure this field has no more than 255 characters/);
    expect(bad.body).toMatch(/id="profile-profile_url-error" role="alert">/);
    expect(bad.body).toMatch(/id="profile-gravatar_email-error" role="alert">/);
    expect(bad.body).toContain('value="Lyon"'); // what was typed is kept
    expect((await profileOf(user)).location).toBe('Paris');
  });

  it('addresses: add, send verification, make primary, remove — and their errors beside the address', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    const bad = await browser.post('/account/emails/add', { email: 'not an address' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/id="email_add-email-error" role="alert">/);
    expect(bad.body).toContain('value="not an address"');
    const taken = await browser.post('/account/emails/add', { email: user.email });
    expect(taken.body).toContain('This email address is already in use.');

    const added = await browser.post('/account/emails/add', { email: 'Second@example.com' });
    expect(added.statusCode).toBe(303);
    expect(added.headers.location).toBe('/account/?done=email_added');
    let page = await browser.get('/account/?done=email_added');
    expect(page.body).toContain('Second@example.com');
    expect(page.body).toContain('aria-label="Send verification link: Second@example.com"');

    const unverified = await browser.post('/account/emails/primary', { email: 'Second@example.com' });
    expect(unverified.statusCode).toBe(400);
    expect(unverified.body).toContain('Only a verified address can become the primary address.');

    const sent = await browser.post('/account/emails/verify', { email: 'Second@example.com' });
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe('/account/?done=verification_sent');
    const verifiedAlready = await browser.post('/account/emails/verify', { email: user.email });
    expect(verifiedAlready.statusCode).toBe(400);
    expect(verifiedAlready.body).toContain('This email address is already verified.');

    await t.store.db.updateTable('emails').set({ verified: 1 }).where('email', '=', 'Second@example.com').execute();
    const promoted = await browser.post('/account/emails/primary', { email: 'Second@example.com' });
    expect(promoted.statusCode).toBe(303);
    expect((await profileOf(user)).email).toBe('Second@example.com');

    const primary = await browser.post('/account/emails/remove', { email: 'Second@example.com' });
    expect(primary.statusCode).toBe(400);
    expect(primary.body).toContain('The primary email address cannot be deleted.');
    const removed = await browser.post('/account/emails/remove', { email: user.email });
    expect(removed.statusCode).toBe(303);
    page = await browser.get('/account/?done=email_removed');
    expect(page.body).toContain('The address was removed.');
    // Gone from the addresses (the security log below still tells that it was removed).
    expect(page.body.slice(0, page.body.indexOf('id="security-log-h"'))).not.toContain(user.email);
    const events = (await listUserAuditEvents(t.deps, user.username)).map((e) => `${e.event}/${e.actor}`);
    expect(events).toEqual(expect.arrayContaining(['email_added/self', 'email_made_primary/self', 'email_removed/self']));
  });

  it('addresses: the sixth verification mail in an hour is refused beside the address, with the wait', async () => {
    const { browser } = await loggedIn();
    await browser.get('/account/');
    expect((await browser.post('/account/emails/add', { email: 'often@example.com' })).statusCode).toBe(303);
    for (let i = 0; i < 5; i++) expect((await browser.post('/account/emails/verify', { email: 'often@example.com' })).statusCode).toBe(303);
    const res = await browser.post('/account/emails/verify', { email: 'often@example.com' });
    expect(res.statusCode).toBe(429);
    expectPageHeaders(res);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toMatch(/often@example\.com<\/span>.*<p class="error" role="alert">Too many verification mails for this address. Try again in \d+ minutes?\./s);
  });

  it('tokens: created with the chosen scopes and expiry, shown once, usable, listed, revoked', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    const none = await browser.post('/account/tokens/create', { name: 'ci' });
    expect(none.statusCode).toBe(400);
    expect(none.body).toMatch(/id="token_create-scopes-error" role="alert">Choose at least one scope./);
    const badExpiry = await browser.post('/account/tokens/create', { name: 'ci', scope_email_read: '1', expires_in: 'forever' });
    expect(badExpiry.statusCode).toBe(400);
    expect(badExpiry.body).toContain('Choose one of the listed periods.');

    const created = await browser.post('/account/tokens/create', { name: 'ci', scope_profile_read: '1', scope_email_read: '1', expires_in: '30d' });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe('/account/?done=token_created');
    expect(cookieSet(created, 'account_new_token')).toEqual({
      name: 'account_new_token',
      value: expect.stringMatching(/^\d+\.dapat_\w+$/),
      attributes: { path: '/account', httponly: true, samesite: 'Lax', secure: true, 'max-age': '60' },
    });
    const shown = await browser.get('/account/?done=token_created');
    expectPageHeaders(shown);
    expect(cookieSet(shown, 'account_new_token')).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/account' } });
    const token = /<code class="token" id="new-token">([^<]+)<\/code>/.exec(shown.body)![1]!;
    expect((await t.app.inject({ url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: bearer(token) } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PATCH', url: `/api/v1.1/users/${user.username}/`, headers: { authorization: bearer(token) }, payload: {} })).statusCode).toBe(403);
    const page = await browser.get('/account/');
    expect(page.body).not.toContain(token); // shown once
    expect(page.body).toContain('profile_read, email_read');
    const row = await t.store.db.selectFrom('access_tokens').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(Date.parse(row.expires_at!) - now).toBeCloseTo(30 * 86_400_000, -3);

    // Another user's token cannot be revoked from this page.
    const other = await makeUser(t.deps);
    const otherToken = await makeToken(t.deps, other.username, ['profile_read']);
    const otherRow = await t.store.db.selectFrom('access_tokens').select('id').where('user_id', '=', other.id).executeTakeFirstOrThrow();
    expect((await browser.post('/account/tokens/revoke', { token_id: String(otherRow.id) })).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/api/v1.1/users/${other.username}/`, headers: { authorization: bearer(otherToken) } })).statusCode).toBe(200);

    const revoked = await browser.post('/account/tokens/revoke', { token_id: String(row.id) });
    expect(revoked.statusCode).toBe(303);
    expect(revoked.headers.location).toBe('/account/?done=token_revoked');
    expect((await t.app.inject({ url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: bearer(token) } })).statusCode).toBe(401);
  });

  it('password: asks for the current one, checks the new one, ends the other sessions and the old password', async () => {
    const { user, browser } = await loggedIn();
    const elsewhere = browserFor(t.app);
    expect((await elsewhere.login(user.username, user.password)).statusCode).toBe(303);
    expect((await t.app.inject({ url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: basic(user.username, user.password) } })).statusCode).toBe(200);
    await browser.get('/account/');

    const wrong = await browser.post('/account/password', { current_password: 'not it at all', new_password: 'a brand new password' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toMatch(/id="password-current_password-error" role="alert">This is not your current password./);
    expect(wrong.body).not.toContain('a brand new password');
    const weak = await browser.post('/account/password', { current_password: user.password, new_password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.body).toMatch(/id="password-new_password-error" role="alert">/);

    const ok = await browser.post('/account/password', { current_password: user.password, new_password: 'a brand new password' });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/account/?done=password');
    expect((await browser.get('/account/?done=password')).body).toContain('Your password was changed.');
    expect((await elsewhere.get('/account/')).statusCode).toBe(303);
    expect((await t.app.inject({ url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: basic(user.username, user.password) } })).statusCode).toBe(401);
    expect((await browserFor(t.app).login(user.username, 'a brand new password')).statusCode).toBe(303);
    expect((await listUserAuditEvents(t.deps, user.username)).map((e) => e.event)).toContain('password_changed');
  });

  it('password: shows the rules beside the new password, and why a new password is refused', async () => {
    const { user, browser } = await loggedIn();
    const page = await browser.get('/account/');
    expect(page.body).toMatch(/aria-describedby="password-new_password-hint"/);
    expect(page.body).toMatch(/id="password-new_password-hint">At least 8 characters; no rules about digits or symbols. It must not contain your username or this service’s name \(“docker”, “accounts”\), nor be one of the passwords most often found in data breaches./);

    const refused: Array<[string, string]> = [
      ['password123', 'This password is one of the most common in data breaches, so attackers try it first; choose another.'],
      [`${user.username.toUpperCase()} forever and ever`, 'The password must not contain the username; choose another.'],
      ['my Docker password', 'The password must not contain this service’s name (“docker”); choose another.'],
    ];
    for (const [newPassword, reason] of refused) {
      const res = await browser.post('/account/password', { current_password: user.password, new_password: newPassword });
      expect(res.statusCode, newPassword).toBe(400);
      expect(res.body).toContain(`id="password-new_password-error" role="alert">${reason}</p>`);
      // The rules stay beside the field, and the refused password is not echoed back.
      expect(res.body).toContain('id="password-new_password-hint"');
      expect(res.body).not.toContain(newPassword);
    }
    expect((await listUserAuditEvents(t.deps, user.username)).map((e) => e.event)).not.toContain('password_changed');
  });

  it('answers a malformed form body with a page, not JSON', async () => {
    const { browser } = await loggedIn();
    await browser.get('/account/');
    const res = await t.app.inject({
      method: 'POST',
      url: '/account/profile',
      headers: { cookie: `account_session=${browser.cookies.get('account_session')}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'full_name=a&full_name=b',
    });
    expect(res.statusCode).toBe(400);
    expectPageHeaders(res);
  });
});

describe('brute force on the login form', () => {
  it('counts failures toward the same per-account limit as Basic: 429 page with the wait, for the form and the API', async () => {
    const user = await makeUser(t.deps);
    const browser = browserFor(t.app);
    for (let i = 0; i < 2; i++) expect((await browser.login(user.username, `wrong ${i}`)).statusCode).toBe(401);
    // The third failure comes through Basic: the two doors share one counter.
    expect((await t.app.inject({ url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: basic(user.username, 'wrong 3') } })).statusCode).toBe(401);
    const res = await browser.login(user.username, user.password);
    expect(res.statusCode).toBe(429);
    expectPageHeaders(res);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toContain('Too many failed attempts. Wait 1 second, then try again.');
    expect(browser.cookies.has('account_session')).toBe(false);
    const events = (await listUserAuditEvents(t.deps, user.username)).map((e) => e.event);
    expect(events.filter((e) => e === 'login_failed')).toHaveLength(3);
    expect(events).toContain('login_throttled');
  });

  it('the change-password form answers like the login form once the password is throttled: 429 with the wait, beside the field', async () => {
    const { user, browser } = await loggedIn();
    await browser.get('/account/');
    for (let i = 0; i < 3; i++) {
      const wrong = await browser.post('/account/password', { current_password: `wrong ${i}`, new_password: 'another long password' });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.body).toContain('This is not your current password.');
    }
    const throttled = await browser.post('/account/password', { current_password: user.password, new_password: 'another long password' });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect(throttled.body).toContain('Too many failed attempts. Wait 1 second, then try again.');
  });

  it('counts failures toward the per-IP budget', async () => {
    const limited = await buildTestApp({ env: { LOGIN_IP_MAX_FAILURES: '2' } });
    try {
      const user = await makeUser(limited.deps);
      const browser = browserFor(limited.app);
      expect((await browser.login('nobody-here', 'x')).statusCode).toBe(401);
      expect((await browser.login('nobody-either', 'x')).statusCode).toBe(401);
      const res = await browser.login(user.username, user.password);
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
