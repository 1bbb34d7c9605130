// The Sessions section of the settings page: where the account is signed in (the account page's
// sessions and the authorization server's logins), in words, and signing them out — one, or all
// but this browser's — with the refusals around it. On both stores (app.inject).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { createAdapterClass } from '../../src/oauth/adapter.ts';
import { listUserAuditEvents } from '../../src/users/users.service.ts';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { browserFor, type Browser } from '../support/inject-browser.ts';
import { authorize, makeClient, pkcePair } from '../support/oauth.ts';

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const CHROME_ANDROID = 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
let t: TestApp;
let client: Awaited<ReturnType<typeof makeClient>>;

beforeAll(async () => {
  t = await buildTestApp({ clock });
  client = await makeClient(t.deps);
});
afterAll(() => t?.close());

async function loggedIn(user: { username: string; password: string }, userAgent: string): Promise<Browser> {
  const browser = browserFor(t.app, { userAgent });
  const res = await browser.login(user.username, user.password);
  expect(res.statusCode, res.body).toBe(303);
  return browser;
}

/** The name the page gives the account-page session whose cookie `browser` holds. */
async function refOf(browser: Browser): Promise<string> {
  const digest = createHash('sha256').update(browser.cookies.get('account_session')!).digest('hex');
  const row = await t.store.db.selectFrom('sessions').select('id').where('session_digest', '=', digest).executeTakeFirstOrThrow();
  return `account-${row.id}`;
}

/** The rows of the Sessions section, by the name the page gives each. */
function rowsOf(page: string): Map<string, string> {
  const section = page.slice(page.indexOf('<h2 id="sessions-h">'));
  return new Map([...section.matchAll(/<li data-session="([^"]+)">([\s\S]*?)<\/li>/g)].map((m) => [m[1]!, m[2]!]));
}

const stillIn = async (browser: Browser) => (await browser.get('/account/')).statusCode === 200;

describe('the list of sessions', () => {
  it('shows each sign-in with its browser in words, its address and times, and which one is this session', async () => {
    const user = await makeUser(t.deps);
    const firefox = await loggedIn(user, FIREFOX_LINUX);
    const safari = await loggedIn(user, SAFARI_IPHONE);

    const page = await firefox.get('/account/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h2 id="sessions-h">Sessions</h2>');
    const rows = rowsOf(page.body);
    expect(rows.size).toBe(2);
    const mine = rows.get(await refOf(firefox))!;
    const other = rows.get(await refOf(safari))!;
    expect(mine).toContain('<strong>Firefox on Linux</strong><span class="badge">this session</span>');
    expect(mine).toContain('127.0.0.1');
    expect(mine).toMatch(/started <time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time> · last seen <time/);
    // This session is ended with Log out; the other has its own button.
    expect(mine).not.toContain('Sign out');
    expect(other).toContain('<strong>Safari on iPhone</strong>');
    expect(other).not.toContain('this session');
    expect(other).toContain(`name="session" value="${await refOf(safari)}"`);
    expect(page.body).toContain('Sign out all other sessions');

    // What was kept: the header cut short, and the address.
    const stored = await t.store.db.selectFrom('sessions').select(['user_agent', 'ip']).where('user_id', '=', user.id).execute();
    expect(stored).toEqual(expect.arrayContaining([{ user_agent: FIREFOX_LINUX, ip: '127.0.0.1' }, { user_agent: SAFARI_IPHONE, ip: '127.0.0.1' }]));
  });

  it('moves “last seen” forward as each session is used', async () => {
    const user = await makeUser(t.deps);
    const browser = await loggedIn(user, FIREFOX_LINUX);
    const phone = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: browserFor(t.app, { userAgent: CHROME_ANDROID }) });
    const started = new Date(now).toISOString().slice(0, 16).replace('T', ' ');
    now += 5 * 60_000;
    await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: phone.browser });
    const later = new Date(now).toISOString().slice(0, 16).replace('T', ' ');
    const rows = [...rowsOf((await browser.get('/account/')).body).values()];
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(new RegExp(`started <time[^>]*>${started} UTC</time> · last seen <time[^>]*>${later} UTC</time>`));
  });

  it('escapes a hostile User-Agent and keeps no more than 256 characters of it', async () => {
    const user = await makeUser(t.deps);
    const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>"'${'A'.repeat(1000)}`;
    const browser = await loggedIn(user, hostile);
    const page = await browser.get('/account/');
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<script>alert(1)');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src&#61;x onerror&#61;alert(2)&#62;&#34;&#39;AAA');
    expect(rowsOf(page.body).get(await refOf(browser))).toContain('<strong>Unknown browser</strong>');
    const row = await t.store.db.selectFrom('sessions').select('user_agent').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.user_agent).toHaveLength(256);
  });
});

describe('signing out', () => {
  it('signs out another session: its cookie no longer works, this one does, and it is audited', async () => {
    const user = await makeUser(t.deps);
    const firefox = await loggedIn(user, FIREFOX_LINUX);
    const safari = await loggedIn(user, SAFARI_IPHONE);
    await firefox.get('/account/');

    const res = await firefox.post('/account/sessions/end', { session: await refOf(safari) });
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/account/?done=session_ended');
    const after = await firefox.get('/account/?done=session_ended');
    expect(after.body).toContain('The session was signed out.');
    expect(rowsOf(after.body).size).toBe(1);
    expect(await stillIn(safari)).toBe(false);
    expect(await stillIn(firefox)).toBe(true);
    const [event] = (await listUserAuditEvents(t.deps, user.username)).filter((e) => e.event !== 'signed_in');
    expect(event).toMatchObject({ event: 'session_ended', actor: 'self', outcome: 'success', client_ip: '127.0.0.1', detail: { kind: 'account' } });
  });

  it('refuses the current session (Log out is for that), without its CSRF token, and a session of another account', async () => {
    const alice = await makeUser(t.deps);
    const bobby = await makeUser(t.deps);
    const browser = await loggedIn(alice, FIREFOX_LINUX);
    const bobbys = await loggedIn(bobby, SAFARI_IPHONE);
    const bobbysLogin = await authorize(t.app, client, bobby, { challenge: pkcePair().challenge, browser: browserFor(t.app, { userAgent: CHROME_ANDROID }) });
    const bobbysUid = (await t.store.db.selectFrom('oauth_artifacts').select('uid').where('model', '=', 'Session').where('account_id', '=', String(bobby.id)).executeTakeFirstOrThrow()).uid!;
    await browser.get('/account/');

    const current = await browser.post('/account/sessions/end', { session: await refOf(browser) });
    expect(current.statusCode).toBe(400);
    expect(current.body).toContain('This is the session you are using. Use Log out to end it.');
    expect((await browser.post('/account/sessions/end', { session: await refOf(bobbys) }, { csrf: 'forged' })).statusCode).toBe(403);

    for (const session of [await refOf(bobbys), `oauth-${bobbysUid}`, 'account-99999999', 'oauth-nothing', 'nonsense', '']) {
      const res = await browser.post('/account/sessions/end', { session });
      expect(res.statusCode, session).toBe(404);
      expect(res.body).toContain('You have no such session. It may have ended already.');
    }
    const again = await browser.post('/account/sessions/end-others', {});
    expect(again.statusCode).toBe(303);
    // Bobby is still signed in, on the account page and at the authorization server.
    expect(await stillIn(bobbys)).toBe(true);
    expect(await stillIn(browser)).toBe(true);
    const reuse = await authorize(t.app, client, bobby, { challenge: pkcePair().challenge, browser: bobbysLogin.browser });
    expect(reuse.sawLogin).toBe(false);
    expect((await listUserAuditEvents(t.deps, bobby.username)).map((e) => e.event)).not.toContain('session_ended');
    // Alice had no other session: nothing ended, nothing recorded.
    expect((await listUserAuditEvents(t.deps, alice.username)).map((e) => e.event)).not.toContain('sessions_ended');
  });

  it('signs out all other sessions: the account page’s and the authorization server’s logins, but not this browser’s', async () => {
    const user = await makeUser(t.deps);
    const firefox = await loggedIn(user, FIREFOX_LINUX);
    const safari = await loggedIn(user, SAFARI_IPHONE);
    // This browser signed in on the OAuth login page too, and so did a phone.
    const here = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: firefox });
    expect(here.sawLogin).toBe(true);
    const phone = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: browserFor(t.app, { userAgent: CHROME_ANDROID }) });
    expect(phone.sawLogin).toBe(true);

    const page = await firefox.get('/account/');
    const rows = [...rowsOf(page.body)];
    expect(rows).toHaveLength(4);
    const logins = rows.filter(([ref]) => ref.startsWith('oauth-')).map(([, row]) => row);
    expect(logins).toHaveLength(2);
    expect(logins.find((row) => row.includes('this browser'))).toContain('<strong>Firefox on Linux</strong>');
    expect(logins.find((row) => !row.includes('this browser'))).toContain('<strong>Chrome on Android</strong><span class="badge">application sign-in</span>');

    const res = await firefox.post('/account/sessions/end-others', {});
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/account/?done=sessions_ended');
    const after = await firefox.get('/account/?done=sessions_ended');
    expect(after.body).toContain('Your other sessions were signed out.');
    expect([...rowsOf(after.body).values()].every((row) => /this (session|browser)/.test(row))).toBe(true);
    expect(rowsOf(after.body).size).toBe(2);
    expect(after.body).not.toContain('Sign out all other sessions');

    expect(await stillIn(safari)).toBe(false);
    expect(await stillIn(firefox)).toBe(true);
    // The phone is asked to log in again; this browser is not.
    expect((await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: phone.browser })).sawLogin).toBe(true);
    expect((await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: firefox })).sawLogin).toBe(false);

    const events = await listUserAuditEvents(t.deps, user.username);
    expect(events.find((e) => e.event === 'sessions_ended')).toMatchObject({ actor: 'self', outcome: 'success', detail: { account_sessions: 1, login_sessions: 1 } });
  });

  it('signs out one login session of the authorization server', async () => {
    const user = await makeUser(t.deps);
    const browser = await loggedIn(user, FIREFOX_LINUX);
    const phone = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: browserFor(t.app, { userAgent: CHROME_ANDROID }) });
    const page = await browser.get('/account/');
    const [ref] = [...rowsOf(page.body).keys()].filter((r) => r.startsWith('oauth-'));
    expect((await browser.post('/account/sessions/end', { session: ref! })).statusCode).toBe(303);
    expect((await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: phone.browser })).sawLogin).toBe(true);
    expect((await listUserAuditEvents(t.deps, user.username)).find((e) => e.event === 'session_ended')).toMatchObject({ actor: 'self', detail: { kind: 'oauth' } });
  });
});

describe('what is kept about a login at the authorization server', () => {
  it('goes when the login does, however it ended: the adapter’s sweep deletes the details of sessions no longer there', async () => {
    const user = await makeUser(t.deps);
    const login = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: browserFor(t.app, { userAgent: CHROME_ANDROID }) });
    const details = () => t.store.db.selectFrom('oauth_login_session_details').select(['user_agent', 'ip']).where('account_id', '=', String(user.id)).execute();
    expect(await details()).toEqual([{ user_agent: CHROME_ANDROID, ip: '127.0.0.1' }]);
    // Signed out at the end-session endpoint, say: the provider deletes its Session alone.
    await t.store.db.deleteFrom('oauth_artifacts').where('model', '=', 'Session').where('account_id', '=', String(user.id)).execute();
    // A fresh adapter sweeps on its first write.
    const Adapter = createAdapterClass(t.deps);
    await new Adapter('Session').upsert('another-session', { accountId: String(user.id), uid: 'another-uid' }, 60);
    expect(await details()).toEqual([]);
    expect((await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: login.browser })).sawLogin).toBe(true);
  });
});
