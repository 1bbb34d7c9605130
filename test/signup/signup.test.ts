// Self-service sign-up (SIGNUP): the page in each mode, the verification mail through a real SMTP
// peer, no sign-in before the address is verified (API Basic, the account login form, the OAuth
// login page), a taken address answered the same (its owner is told), a taken username said
// beside its field, invitations (single use, for one address), and the per-IP limit.
import { oauthLoginPage } from '../../src/oauth/oauth.pages.ts';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/kernel/config.ts';
import { createInvitation } from '../../src/signup/signup.service.ts';
import { SIGNUPS_PER_IP_PER_HOUR } from '../../src/signup/signup-throttle.ts';
import { listUserAuditEvents } from '../../src/users/users.service.ts';
import { PUBLIC_URL, basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { browserFor, type Browser } from '../support/inject-browser.ts';
import { makeClient, pkcePair } from '../support/oauth.ts';
import { expectPageHeaders } from '../support/pages.ts';
import { linkIn, startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';

const PASSWORD = 'lantern orchard velvet'; // not common, no username in it
let smtp: SmtpPeer;
let open: TestApp;
let invite: TestApp;
let closed: TestApp;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  const mail = { SMTP_URL: smtp.url, MAIL_FROM: 'Accounts <accounts@example.test>' };
  [open, invite, closed] = await Promise.all([
    buildTestApp({ env: { ...mail, SIGNUP: 'open' } }),
    buildTestApp({ env: { ...mail, SIGNUP: 'invite' } }),
    buildTestApp({ env: { SIGNUP: 'closed' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.close(), invite?.close(), closed?.close()]);
  await smtp?.close();
});

let ipCounter = 0;
/** A browser from its own client address, so that each test has its own per-IP budget. */
function browserAt(app: FastifyInstance, ip = `192.0.2.${++ipCounter}`): Browser {
  const fromIp = { inject: (options: InjectOptions) => app.inject({ ...options, remoteAddress: ip }) } as unknown as FastifyInstance;
  return browserFor(fromIp);
}

async function signUp(browser: Browser, form: { username: string; email: string; password?: string }, path = '/account/signup'): Promise<LightMyRequestResponse> {
  const page = await browser.get(path);
  expect(page.statusCode, page.body).toBe(200);
  const invitation = /name="invitation" value="([^"]+)"/.exec(page.body)?.[1];
  return browser.post('/account/signup', { password: PASSWORD, ...form, ...(invitation ? { invitation } : {}) });
}

const mailTo = (address: string, after: number): Promise<ReceivedMail> => smtp.waitFor((m) => m.to.some((to) => to.toLowerCase() === address.toLowerCase()) && smtp.messages.indexOf(m) >= after);

async function confirm(app: FastifyInstance, mail: ReceivedMail): Promise<void> {
  const token = new URL(linkIn(mail)).searchParams.get('token')!;
  const res = await app.inject({ method: 'POST', url: '/account/verify-email', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${token}` });
  expect(res.statusCode, res.body).toBe(200);
}

const apiStatus = async (app: FastifyInstance, username: string, password = PASSWORD) =>
  (await app.inject({ url: `/api/v1.1/users/${username}/`, headers: { authorization: basic(username, password) } })).statusCode;

async function usernames(t: TestApp): Promise<string[]> {
  return (await t.store.db.selectFrom('users').select('username').execute()).map((r) => r.username);
}

describe('with REDIS_URL, the per-IP count of sign-ups is shared by every instance', () => {
  let redis: Redis;
  let a: TestApp;
  let b: TestApp;
  const prefix = `accounts-test-${randomBytes(4).toString('hex')}:`;
  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    await redis.connect();
    const env = { REDIS_PREFIX: prefix, SIGNUP: 'open' };
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

  it('forms sent to one instance count on the other', async () => {
    const [onA, onB] = [browserAt(a.app, '198.51.100.9'), browserAt(b.app, '198.51.100.9')];
    await Promise.all([onA.get('/account/signup'), onB.get('/account/signup')]);
    const statuses = [];
    const limits = [];
    for (let i = 0; i <= SIGNUPS_PER_IP_PER_HOUR; i++) {
      const browser = i % 2 === 0 ? onA : onB;
      const res = await browser.post('/account/signup', { username: 'x', email: `shared${i}@example.com`, password: PASSWORD });
      statuses.push(res.statusCode);
      limits.push(res.headers.ratelimit);
      expect(res.headers['ratelimit-policy']).toBe(`"signups";q=${SIGNUPS_PER_IP_PER_HOUR};w=3600`);
    }
    expect(statuses).toEqual([...Array<number>(SIGNUPS_PER_IP_PER_HOUR).fill(400), 429]);
    // RateLimit counts down, the same on both instances, and is 0 on the 429 (with Retry-After).
    expect(limits.map((l) => /r=(\d+)/.exec(String(l))?.[1])).toEqual([...Array.from({ length: SIGNUPS_PER_IP_PER_HOUR }, (_, i) => String(SIGNUPS_PER_IP_PER_HOUR - 1 - i)), '0']);
    expect(await redis.keys(`${prefix}signups*`)).toHaveLength(1);
  });
});

describe('SIGNUP=open', () => {
  it('shows the form with the username and password rules beside their fields; the login and landing pages link to it', async () => {
    const browser = browserAt(open.app);
    const page = await browser.get('/account/signup');
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page, { referrerPolicy: 'no-referrer', https: true });
    expect(page.body).toContain('<title>Create an account</title>');
    expect(page.body).toContain('id="signup-username-hint">Usernames are 4 to 30 characters: lowercase letters and digits.</p>');
    expect(page.body).toMatch(/id="signup-password-hint">At least 8 characters/);
    expect(page.body).toContain('name="csrf_token"');
    expect(page.body).not.toContain('<script');
    expect((await browser.get('/account/login')).body).toContain('<a href="/account/signup">Create an account</a>');
    expect((await open.app.inject({ url: '/' })).body).toContain('<a href="/account/signup">Create an account</a>');
    // The authorization server's login page offers it too (interaction.routes.ts passes the link when SIGNUP is not closed).
    const oauthLogin = oauthLoginPage({ action: '/a', abortAction: '/b', csrfToken: 'c', clientName: 'App', forgotPasswordHref: '/f', signupHref: '/account/signup' });
    expect(oauthLogin).toContain('<a href="/account/signup">Create an account</a>');
  });

  it('sign up → "check your mail" → the mail arrives → no sign-in anywhere yet → confirm the link → sign-in works; audited', async () => {
    const before = smtp.messages.length;
    const browser = browserAt(open.app);
    const res = await signUp(browser, { username: 'newcomer', email: 'New.Comer@example.com' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('<title>Check your mail</title>');
    expect(res.body).toContain('New.Comer@example.com');

    const mail = await mailTo('New.Comer@example.com', before);
    expect(mail.subject).toBe('Accounts: Confirm your email address');
    expect(linkIn(mail)).toMatch(new RegExp(`^${PUBLIC_URL}/account/verify-email\\?token=`));
    const [address] = await open.store.db.selectFrom('emails').innerJoin('users', 'users.id', 'emails.user_id').select(['emails.verified', 'emails.is_primary']).where('users.username', '=', 'newcomer').execute();
    expect(address).toEqual({ verified: 0, is_primary: 1 });

    // Not yet: the API's Basic (the same 401 as any wrong credentials), the login form (which says why), the OAuth login page.
    expect(await apiStatus(open.app, 'newcomer')).toBe(401);
    const beforeLogin = smtp.messages.length;
    const login = await browserAt(open.app).login('newcomer', PASSWORD);
    expect(login.statusCode).toBe(403);
    expect(login.body).toContain('Verify your email address first');
    // The right password at the login form sends a new link (a lost mail leaves a way in); either link works.
    const again = await mailTo('New.Comer@example.com', beforeLogin);
    expect(linkIn(again)).not.toBe(linkIn(mail));
    // A wrong password is not told that the address is unverified.
    const wrong = await browserAt(open.app).login('newcomer', 'not the password at all');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('Verify your email address');
    expect((await oauthLogin(open, 'newcomer')).statusCode).toBe(403);

    await confirm(open.app, mail);
    expect(await apiStatus(open.app, 'newcomer')).toBe(200);
    expect((await browserAt(open.app).login('newcomer', PASSWORD)).statusCode).toBe(303);
    expect((await oauthLogin(open, 'newcomer')).statusCode).toBe(303);

    const events = await listUserAuditEvents(open.deps, 'newcomer');
    expect(events[0]).toMatchObject({ event: 'signed_up', actor: 'self', outcome: 'success', client_ip: expect.stringMatching(/^192\.0\.2\./), detail: { email: 'New.Comer@example.com', invited: false } });
    expect(events.filter((e) => e.event === 'login_failed').map((e) => e.detail?.reason)).toContain('unverified');
    expect(events.some((e) => e.event === 'email_verified')).toBe(true);
  });

  it('a taken address: the same answer, no account made, and the owner is mailed that someone tried', async () => {
    await makeUser(open.deps, { username: 'owner', email: 'owner@example.com' });
    const before = smtp.messages.length;
    const res = await signUp(browserAt(open.app), { username: 'intruder', email: 'OWNER@example.com' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>Check your mail</title>');
    expect(await usernames(open)).not.toContain('intruder');
    const mail = await mailTo('OWNER@example.com', before);
    expect(mail.subject).toBe('Accounts: Someone tried to sign up with your address');
    expect(mail.text).toContain('no account was made');
    expect(mail.text).not.toContain('verify-email');
    // The owner's account is untouched.
    expect(await apiStatus(open.app, 'owner', 'correct horse battery staple')).toBe(200);
  });

  it('a taken username is said beside the field; other refusals too, each beside its field', async () => {
    await makeUser(open.deps, { username: 'takenname', email: 'taken.name@example.com' });
    const browser = browserAt(open.app);
    const res = await signUp(browser, { username: 'takenname', email: 'someone.new@example.com' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/id="signup-username-error" role="alert">A user with that username already exists./);
    expect(res.body).toContain('value="someone.new@example.com"');
    expect(await open.store.db.selectFrom('emails').select('id').where('email_key', '=', 'someone.new@example.com').execute()).toEqual([]);

    const bad = await signUp(browser, { username: 'No!', email: 'not an address', password: 'short' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/id="signup-username-error" role="alert">Usernames are 4 to 30/);
    expect(bad.body).toMatch(/id="signup-email-error" role="alert">/);
    expect(bad.body).toMatch(/id="signup-password-error" role="alert">The password must be at least 8 characters./);
    const named = await signUp(browser, { username: 'plainjane', email: 'plain.jane@example.com', password: 'plainjane rocks hard' });
    expect(named.body).toMatch(/id="signup-password-error" role="alert">The password must not contain the username/);
  });

  it('refuses a form without its CSRF token (403)', async () => {
    const browser = browserAt(open.app);
    await browser.get('/account/signup');
    const res = await browser.post('/account/signup', { username: 'forger', email: 'forger@example.com', password: PASSWORD }, { csrf: 'forged' });
    expect(res.statusCode).toBe(403);
    expect(await usernames(open)).not.toContain('forger');
  });

  it(`answers 429 with Retry-After, as a page, after ${SIGNUPS_PER_IP_PER_HOUR} sign-ups from one address in an hour`, async () => {
    const browser = browserAt(open.app, '198.51.100.7');
    for (let i = 0; i < SIGNUPS_PER_IP_PER_HOUR; i++) {
      // Refused forms count too (here: a username that is not valid), so nothing is made.
      expect((await signUp(browser, { username: 'x', email: `flood${i}@example.com` })).statusCode).toBe(400);
    }
    const res = await signUp(browser, { username: 'floodlast', email: 'flood.last@example.com' });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(3500);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('Too many sign-ups');
    expect(await usernames(open)).not.toContain('floodlast');
    // Another address is not affected.
    expect((await signUp(browserAt(open.app), { username: 'floodother', email: 'flood.other@example.com' })).statusCode).toBe(200);
  });
});

/** The OAuth login page's answer to the user's password: 303 when signed in. */
async function oauthLogin(t: TestApp, username: string): Promise<LightMyRequestResponse> {
  const client = await makeClient(t.deps);
  const browser = browserFor(t.app);
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, state: 's', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
  const start = await browser.get(`/api/v1.1/o/authorize/?${query}`);
  const location = String(start.headers.location);
  const uid = /\/interaction\/([^/]+)\/$/.exec(location)![1]!;
  await browser.get(location);
  return browser.post(`/api/v1.1/o/interaction/${uid}/login`, { username, password: PASSWORD });
}

describe('SIGNUP=invite', () => {
  it('without an invitation: refused, on GET and POST', async () => {
    const browser = browserAt(invite.app);
    const page = await browser.get('/account/signup');
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('Sign-up is by invitation');
    expect((await browser.get('/account/login')).body).toContain('Create an account');
    const forged = await browser.post('/account/signup', { username: 'uninvited', email: 'uninvited@example.com', password: PASSWORD });
    expect(forged.statusCode).toBe(403);
    expect(await usernames(invite)).not.toContain('uninvited');
  });

  it('with the link: works once, for its address only; a second use is refused; only the digest is stored', async () => {
    const created = await createInvitation(invite.deps, { email: 'Guest@example.com' });
    const path = created.link.slice(PUBLIC_URL.length);
    const token = new URL(created.link).searchParams.get('invitation')!;
    const stored = await invite.store.db.selectFrom('invitations').selectAll().execute();
    expect(stored.map((r) => r.token_digest)).not.toContain(token);

    const page = await browserAt(invite.app).get(path);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('value="Guest@example.com"');

    // Another address is refused, beside the field, and leaves the invitation unused.
    const other = await signUp(browserAt(invite.app), { username: 'gatecrasher', email: 'other@example.com' }, path);
    expect(other.statusCode).toBe(400);
    expect(other.body).toMatch(/id="signup-email-error" role="alert">This invitation is for Guest@example.com/);

    // A second browser opens the form now and sends it after the link is used.
    const late = browserAt(invite.app);
    expect((await late.get(path)).statusCode).toBe(200);

    const before = smtp.messages.length;
    const ok = await signUp(browserAt(invite.app), { username: 'guest', email: 'guest@EXAMPLE.com' }, path);
    expect(ok.statusCode, ok.body).toBe(200);
    await confirm(invite.app, await mailTo('guest@EXAMPLE.com', before));
    expect(await apiStatus(invite.app, 'guest')).toBe(200);
    expect((await listUserAuditEvents(invite.deps, 'guest'))[0]).toMatchObject({ event: 'signed_up', detail: { invited: true } });

    // Used: the page says so, and a form still holding the link is refused.
    const again = await browserAt(invite.app).get(path);
    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('This invitation has been used');
    const reused = await late.post('/account/signup', { username: 'guesttwo', email: 'guest@example.com', password: PASSWORD, invitation: token });
    expect(reused.statusCode).toBe(410);
    expect(reused.body).toContain('This invitation has been used');
    expect(await usernames(invite)).not.toContain('guesttwo');
  });

  it('an expired or unknown invitation is refused', async () => {
    const expired = await createInvitation(invite.deps, { email: 'late@example.com', expiresInMs: -1000 });
    expect((await browserAt(invite.app).get(expired.link.slice(PUBLIC_URL.length))).statusCode).toBe(410);
    expect((await browserAt(invite.app).get(`/account/signup?invitation=${'A'.repeat(43)}`)).statusCode).toBe(403);
  });
});

describe('at once', () => {
  it('two sign-ups with one username: one account, the other told beside the field', async () => {
    const [a, b] = [browserAt(open.app), browserAt(open.app)];
    await Promise.all([a.get('/account/signup'), b.get('/account/signup')]);
    const answers = await Promise.all([
      a.post('/account/signup', { username: 'racer', email: 'racer.one@example.com', password: PASSWORD }),
      b.post('/account/signup', { username: 'racer', email: 'racer.two@example.com', password: PASSWORD }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 400]);
    expect(answers.find((r) => r.statusCode === 400)!.body).toContain('A user with that username already exists.');
    expect((await usernames(open)).filter((u) => u === 'racer')).toHaveLength(1);
  });

  it('two sign-ups with one invitation: only one account', async () => {
    const created = await createInvitation(invite.deps, { email: 'twice@example.com' });
    const path = created.link.slice(PUBLIC_URL.length);
    const [a, b] = [browserAt(invite.app), browserAt(invite.app)];
    const pages = await Promise.all([a.get(path), b.get(path)]);
    const token = /name="invitation" value="([^"]+)"/.exec(pages[0]!.body)![1]!;
    const answers = await Promise.all([
      a.post('/account/signup', { username: 'twiceone', email: 'twice@example.com', password: PASSWORD, invitation: token }),
      b.post('/account/signup', { username: 'twicetwo', email: 'twice@example.com', password: PASSWORD, invitation: token }),
    ]);
    // The loser is refused, as a used invitation, or answered as for a taken address; either way one account.
    expect(answers.map((r) => r.statusCode)).toContain(200);
    const made = (await usernames(invite)).filter((u) => u.startsWith('twice'));
    expect(made).toHaveLength(1);
  });
});

describe('accounts invite create', () => {
  const env = () => ({ DATABASE_URL: invite.config.databaseUrl, PUBLIC_URL, SIGNUP: 'invite' });

  it('prints the link alone on the last line; the link opens the form for that address', async () => {
    const result = await runCliInProcess(['invite', 'create', '--email', 'Cli.Guest@example.com', '--expires-in', '2d'], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^Created an invitation for Cli\.Guest@example\.com, expiring \S+\. It works once/m);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${PUBLIC_URL}/account/signup\\?invitation=[A-Za-z0-9_-]{43}$`));
    const page = await browserAt(invite.app).get(lines[0]!.slice(PUBLIC_URL.length));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('value="Cli.Guest@example.com"');
  });

  it('refuses a bad address or duration, and warns when SIGNUP is not invite', async () => {
    expect((await runCliInProcess(['invite', 'create', '--email', 'not an address'], { env: env() })).code).not.toBe(0);
    expect((await runCliInProcess(['invite', 'create', '--email', 'a@example.com', '--expires-in', 'soon'], { env: env() })).code).not.toBe(0);
    expect((await runCliInProcess(['invite', 'create'], { env: env() })).code).not.toBe(0);
    const warned = await runCliInProcess(['invite', 'create', '--email', 'b@example.com'], { env: { ...env(), SIGNUP: 'closed' } });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('SIGNUP is closed; the link works only while SIGNUP=invite.');
  });
});

describe('the SIGNUP setting', () => {
  it('is closed by default, takes closed, open or invite in any case, and refuses anything else', () => {
    expect(loadConfig({}).signup).toBe('closed');
    expect(loadConfig({ SIGNUP: ' Open ' }).signup).toBe('open');
    expect(loadConfig({ SIGNUP: 'INVITE' }).signup).toBe('invite');
    expect(() => loadConfig({ SIGNUP: 'yes' })).toThrow(/SIGNUP: must be closed, open or invite \(got "yes"\)/);
  });
});

describe('SIGNUP=closed (the default)', () => {
  it('the sign-up page is a 404 page, and nothing links to it', async () => {
    const page = await closed.app.inject({ url: '/account/signup', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('Page not found');
    const post = await closed.app.inject({ method: 'POST', url: '/account/signup', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=abcd' });
    expect(post.statusCode).toBe(404);
    expect((await closed.app.inject({ url: '/account/login' })).body).not.toContain('/account/signup');
    expect((await closed.app.inject({ url: '/' })).body).not.toContain('/account/signup');
  });
});
