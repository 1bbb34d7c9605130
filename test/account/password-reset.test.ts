// Forgotten passwords, over HTTP (inject) with a real SMTP peer: the link by mail, the same answer
// whatever was asked, the new password ending every session, single use, expiry, the limits, the
// password-change notice, the CLI's reset-link, and the link in the development log.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { createSession, resumeSession } from '../../src/account/sessions.service.ts';
import { oauthLoginPage } from '../../src/oauth/oauth.pages.ts';
import { PUBLIC_URL, basic, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { browserFor } from '../support/inject-browser.ts';
import { expectPageHeaders } from '../support/pages.ts';
import { startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp.ts';
import { scaled } from '../support/time.ts';

let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
let smtp: SmtpPeer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, SERVICE_NAME: 'Example Hub' }, clock });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
// Each test asks from its own address: the per-IP limit counts across tests otherwise.
let ipCounter = 0;
const nextIp = () => `192.0.2.${++ipCounter}`;

const forgot = (identifier: string, ip: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/account/forgot-password', remoteAddress: ip, headers: { ...FORM, ...headers }, payload: new URLSearchParams({ identifier }).toString() });
const openLink = (link: string) => t.app.inject({ method: 'GET', url: link.slice(PUBLIC_URL.length) });
const setNew = (token: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/account/reset-password', headers: FORM, payload: new URLSearchParams({ token, password }).toString() });
const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
const mailTo = (address: string, after: number): Promise<ReceivedMail> => smtp.waitFor((m) => m.to.includes(address) && smtp.messages.indexOf(m) >= after);
const apiStatus = async (username: string, password: string) => (await t.app.inject({ url: `/api/v1.1/users/${username}/`, headers: { authorization: basic(username, password) } })).statusCode;

function resetLinkIn(mail: ReceivedMail): string {
  const link = /https?:\/\/\S+\/account\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  if (!link) throw new Error(`no reset link in:\n${mail.text}`);
  return link;
}

async function linkFor(address: string, identifier = address): Promise<string> {
  const before = smtp.messages.length;
  const res = await forgot(identifier, nextIp());
  expect(res.statusCode, res.body).toBe(200);
  return resetLinkIn(await mailTo(address, before));
}

/** No mail to the address arrives within a moment (the mailer sends in the background). */
async function expectNoMailTo(address: string, after: number) {
  await new Promise((r) => setTimeout(r, scaled(300)));
  expect(smtp.messages.slice(after).filter((m) => m.to.includes(address))).toEqual([]);
}

describe('forgotten password', () => {
  it('the login pages link to it; it asks for a username or address', async () => {
    const login = await t.app.inject({ url: '/account/login' });
    expect(login.body).toContain('<a href="/account/forgot-password">Forgot your password?</a>');
    const oauthLogin = oauthLoginPage({ action: '/a', abortAction: '/b', csrfToken: 'c', clientName: 'App', forgotPasswordHref: '/base/account/forgot-password' });
    expect(oauthLogin).toContain('<a href="/base/account/forgot-password">Forgot your password?</a>');
    const page = await t.app.inject({ url: '/account/forgot-password' });
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page, { referrerPolicy: 'no-referrer', https: true });
    expect(page.body).toContain('<title>Forgot your password?</title>');
    expect(page.body).toMatch(/<form method="post" action="\/account\/forgot-password">/);
    expect(page.body).toContain('name="identifier"');
  });

  it('mails a link (multipart, naming the service); the form sets a new password: the old one fails, the new one works, every session ends, tokens stay', async () => {
    const user = await makeUser(t.deps, { username: 'forgetful', email: 'forgetful@example.com' });
    const token = await makeToken(t.deps, 'forgetful', ['profile_read']);
    // Another session of the account page, and a login session at the authorization server.
    const otherSession = await createSession(t.deps, { id: user.id, username: user.username });
    const browser = browserFor(t.app);
    expect((await browser.login('forgetful', user.password)).statusCode).toBe(303);
    await t.store.write((trx) =>
      trx.insertInto('oauth_artifacts').values({ model: 'Session', id: 'a'.repeat(64), payload: '{}', grant_id: null, uid: null, user_code: null, account_id: String(user.id), client_id: null, expires_at: null, consumed_at: null }).execute(),
    );

    const before = smtp.messages.length;
    const asked = await forgot('Forgetful', nextIp());
    expect(asked.statusCode).toBe(200);
    expect(asked.body).toContain('If an account matches what you entered');
    const mail = await mailTo('forgetful@example.com', before);
    expect(mail.contentType).toBe('multipart/alternative');
    expect(mail.subject).toBe('Example Hub: Set a new password');
    expect(mail.text).toContain('for the account "forgetful" at Example Hub.');
    expect(mail.text).toContain('your personal access tokens and the applications you allowed keep working');
    expect(mail.html).toContain('Example Hub');
    const link = resetLinkIn(mail);
    expect(link).toMatch(new RegExp(`^${PUBLIC_URL}/account/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    expect(mail.html).toContain(`<a href="${link.replaceAll('=', '&#61;')}">`);
    // Only the digest is stored.
    const stored = await t.store.db.selectFrom('password_resets').select('token_digest').execute();
    expect(stored.map((r) => r.token_digest)).not.toContain(tokenOf(link));

    const form = await openLink(link);
    expect(form.statusCode).toBe(200);
    expectPageHeaders(form, { referrerPolicy: 'no-referrer', https: true });
    expect(form.body).toContain('<meta name="referrer" content="no-referrer">');
    expect(form.body).toContain('<title>Set a new password</title>');
    expect(form.body).toContain(`<input type="hidden" name="token" value="${tokenOf(link)}">`);
    expect(form.body).toContain('At least 8 characters');
    expect(form.body).toContain('Personal access tokens and the applications you allowed keep working');

    // A password the rules refuse: the form again, with the reason; the link stays good.
    const weak = await setNew(tokenOf(link), 'forgetful123');
    expect(weak.statusCode).toBe(400);
    expect(weak.body).toMatch(/<p class="error" id="reset-password-error" role="alert">[^<]*username/);
    expect(await apiStatus('forgetful', user.password)).toBe(200);

    const noticeFrom = smtp.messages.length;
    const done = await setNew(tokenOf(link), 'a whole new passphrase');
    expect(done.statusCode, done.body).toBe(200);
    expect(done.body).toContain('Your password was changed');
    expect(await apiStatus('forgetful', user.password)).toBe(401);
    expect(await apiStatus('forgetful', 'a whole new passphrase')).toBe(200);
    // Every session ended: the account page's (both), the authorization server's; the token stays.
    expect(await resumeSession(t.deps, otherSession)).toBeUndefined();
    expect((await browser.get('/account/')).statusCode).toBe(303);
    expect(await t.store.db.selectFrom('oauth_artifacts').select('id').where('account_id', '=', String(user.id)).where('model', '=', 'Session').execute()).toEqual([]);
    expect((await t.app.inject({ url: '/api/v1.1/users/forgetful/', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);

    const notice = await mailTo('forgetful@example.com', noticeFrom);
    expect(notice.subject).toBe('Example Hub: Your password was changed');
    expect(notice.text).toContain('with a password reset link');
    expect(notice.text).toContain(`${PUBLIC_URL}/account/forgot-password`);

    const events = await t.store.db.selectFrom('audit_events').select(['event', 'actor', 'client_ip', 'outcome', 'detail']).where('username', '=', 'forgetful').orderBy('id').execute();
    expect(events.filter((e) => e.event.startsWith('password'))).toEqual([
      { event: 'password_reset_requested', actor: 'self', client_ip: expect.stringMatching(/^192\.0\.2\./), outcome: 'success', detail: JSON.stringify({ via: 'mail' }) },
      { event: 'password_reset', actor: 'self', client_ip: '127.0.0.1', outcome: 'success', detail: null },
      { event: 'password_changed', actor: 'self', client_ip: '127.0.0.1', outcome: 'success', detail: null },
    ]);
  });

  it('a verified address finds the account; unknown names, unverified or unknown addresses get the same page and no mail', async () => {
    const user = await makeUser(t.deps, { username: 'seeker', email: 'seeker@example.com' });
    expect((await t.app.inject({ method: 'POST', url: '/api/v1.1/users/seeker/emails/', headers: { authorization: basic('seeker', user.password), 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'seeker.unverified@example.com' }) })).statusCode).toBe(201);
    const known = await forgot('SEEKER@example.com', nextIp());
    expect(resetLinkIn(await mailTo('seeker@example.com', 0))).toContain('/account/reset-password?token=');
    const before = smtp.messages.length;
    for (const identifier of ['nobodyatall', 'nobody@example.com', 'seeker.unverified@example.com', 'not an address@', 'x'.repeat(200)]) {
      const res = await forgot(identifier, nextIp());
      expect(res.statusCode, identifier).toBe(200);
      expect(res.body, identifier).toBe(known.body);
    }
    await expectNoMailTo('seeker.unverified@example.com', before);
    expect(smtp.messages.length).toBe(before);
    // A deactivated account gets no link either.
    await makeUser(t.deps, { username: 'sleeper', email: 'sleeper@example.com' });
    await t.store.db.updateTable('users').set({ is_active: 0 }).where('username', '=', 'sleeper').execute();
    expect((await forgot('sleeper', nextIp())).body).toBe(known.body);
    await expectNoMailTo('sleeper@example.com', before);
  });

  it('an empty field is asked again; a form from another site is refused', async () => {
    const empty = await forgot('   ', nextIp());
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('Enter your username or email address.');
    const cross = await forgot('forgetful', nextIp(), { 'sec-fetch-site': 'cross-site' });
    expect(cross.statusCode).toBe(403);
  });

  it('a used link, or one older than the one used, is a 410 page with a link to ask again', async () => {
    await makeUser(t.deps, { username: 'twice', email: 'twice@example.com' });
    const first = await linkFor('twice@example.com', 'twice');
    const second = await linkFor('twice@example.com', 'twice');
    expect((await setNew(tokenOf(second), 'the first new passphrase')).statusCode).toBe(200);
    for (const link of [second, first]) {
      for (const res of [await openLink(link), await setNew(tokenOf(link), 'the second new passphrase')]) {
        expect(res.statusCode).toBe(410);
        expectPageHeaders(res, { referrerPolicy: 'no-referrer', https: true });
        expect(res.body).toContain('This link has already been used');
        expect(res.body).toContain('<a href="/account/forgot-password">Ask for a new link</a>');
      }
    }
    expect(await apiStatus('twice', 'the first new passphrase')).toBe(200);
    // Unknown or malformed: 400.
    for (const res of [await openLink(`${PUBLIC_URL}/account/reset-password?token=${'A'.repeat(43)}`), await openLink(`${PUBLIC_URL}/account/reset-password`), await setNew('nonsense', 'whatever passphrase')]) {
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('This link is not valid');
    }
  });

  it('two concurrent uses of one link set one password', async () => {
    await makeUser(t.deps, { username: 'racing', email: 'racing@example.com' });
    const link = await linkFor('racing@example.com', 'racing');
    const answers = await Promise.all([setNew(tokenOf(link), 'concurrent passphrase one'), setNew(tokenOf(link), 'concurrent passphrase two')]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 410]);
    const events = await t.store.db.selectFrom('audit_events').select('event').where('username', '=', 'racing').where('event', '=', 'password_changed').execute();
    expect(events).toHaveLength(1);
  });

  it('a link expires after 1 hour: a 410 page, and nothing changes', async () => {
    const user = await makeUser(t.deps, { username: 'latecomer', email: 'latecomer@example.com' });
    const link = await linkFor('latecomer@example.com', 'latecomer');
    const sent = now;
    try {
      now = sent + 60 * 60 * 1000 - 1000;
      expect((await openLink(link)).statusCode).toBe(200);
      now = sent + 60 * 60 * 1000 + 1000;
      for (const res of [await openLink(link), await setNew(tokenOf(link), 'too late passphrase')]) {
        expect(res.statusCode).toBe(410);
        expect(res.body).toContain('This link has expired');
        expect(res.body).toContain('Ask for a new link');
      }
    } finally {
      now = sent;
    }
    expect(await apiStatus('latecomer', user.password)).toBe(200);
  });

  it('per account: past 3 mails an hour, the same page and no mail (audited as denied); per IP: past 20 requests an hour, a 429 page with Retry-After', async () => {
    await makeUser(t.deps, { username: 'popular', email: 'popular@example.com' });
    const ip = nextIp();
    const before = smtp.messages.length;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await forgot('popular', ip));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    // The RateLimit headers tell the per-IP budget only: the per-account count would tell that the account exists.
    expect(answers.map((a) => a.headers.ratelimit)).toEqual(['"password-reset-requests";r=19;', '"password-reset-requests";r=18;', '"password-reset-requests";r=17;', '"password-reset-requests";r=16;'].map((p) => expect.stringContaining(p)));
    expect(answers[0]!.headers['ratelimit-policy']).toBe('"password-reset-requests";q=20;w=3600');
    await smtp.waitFor(() => smtp.messages.slice(before).filter((m) => m.to.includes('popular@example.com')).length >= 3);
    await expectNoMailTo('nobody-else', before);
    expect(smtp.messages.slice(before).filter((m) => m.to.includes('popular@example.com'))).toHaveLength(3);
    const denied = await t.store.db.selectFrom('audit_events').select(['outcome']).where('username', '=', 'popular').where('event', '=', 'password_reset_requested').execute();
    expect(denied.map((e) => e.outcome).sort()).toEqual(['denied', 'success', 'success', 'success']);

    for (let i = 4; i < 20; i++) expect((await forgot(`someone${i}`, ip)).statusCode).toBe(200);
    const limited = await forgot('popular', ip);
    expect(limited.statusCode).toBe(429);
    expectPageHeaders(limited, { referrerPolicy: 'no-referrer', https: true });
    expect(limited.body).toContain('Too many password reset requests');
    expect(limited.headers.ratelimit).toMatch(/^"password-reset-requests";r=0;t=\d+$/);
    const wait = Number(limited.headers['retry-after']);
    expect(wait).toBeGreaterThan(3500);
    expect(wait).toBeLessThanOrEqual(3600);
    // Another address is counted on its own.
    expect((await forgot('popular', nextIp())).statusCode).toBe(200);
  });

  it('a password changed on the account page is told to the primary address', async () => {
    const user = await makeUser(t.deps, { username: 'changer', email: 'changer@example.com' });
    const browser = browserFor(t.app);
    expect((await browser.login('changer', user.password)).statusCode).toBe(303);
    await browser.get('/account/');
    const before = smtp.messages.length;
    const res = await browser.post('/account/password', { current_password: user.password, new_password: 'a changed passphrase' });
    expect(res.statusCode, res.body).toBe(303);
    const notice = await mailTo('changer@example.com', before);
    expect(notice.subject).toBe('Example Hub: Your password was changed');
    expect(notice.text).toContain('on the account page');
    expect(notice.text).toContain('Your other sessions were logged out.');
  });

  it('a personal access token made on the account page is told to the primary address, without the token', async () => {
    const user = await makeUser(t.deps, { username: 'tokenmaker', email: 'tokenmaker@example.com' });
    const browser = browserFor(t.app);
    expect((await browser.login('tokenmaker', user.password)).statusCode).toBe(303);
    await browser.get('/account/');
    const before = smtp.messages.length;
    const res = await browser.post('/account/tokens/create', { name: 'laptop', scope_profile_read: '1', expires_in: 'never' });
    expect(res.statusCode, res.body).toBe(303);
    const notice = await mailTo('tokenmaker@example.com', before);
    expect(notice.subject).toBe('Example Hub: A new personal access token was created');
    expect(notice.text).toContain('named "laptop"');
    expect(notice.text).toContain('Scopes: profile_read. Expires: never.');
    expect(notice.text).not.toContain('dapat_');
    expect(notice.html).not.toContain('dapat_');
  });

  it('`accounts user reset-link` prints a link that works once', async () => {
    const user = await makeUser(t.deps, { username: 'helped', email: 'helped@example.com' });
    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL };
    const before = smtp.messages.length;
    const result = await runCliInProcess(['user', 'reset-link', 'Helped'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^A password reset link for helped, valid once until \d{4}-\d\d-\d\dT/);
    const link = result.stdout.trim();
    expect(link).toMatch(new RegExp(`^${PUBLIC_URL}/account/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    expect((await openLink(link)).statusCode).toBe(200);
    expect((await setNew(tokenOf(link), 'handed over passphrase')).statusCode).toBe(200);
    expect(await apiStatus('helped', user.password)).toBe(401);
    expect((await setNew(tokenOf(link), 'handed over passphrase')).statusCode).toBe(410);
    const requested = await t.store.db.selectFrom('audit_events').select(['actor', 'detail']).where('username', '=', 'helped').where('event', '=', 'password_reset_requested').execute();
    expect(requested).toEqual([{ actor: 'admin', detail: JSON.stringify({ via: 'cli' }) }]);
    // No mail but the password-change notice.
    expect(smtp.messages.slice(before).map((m) => m.subject)).not.toContain('Example Hub: Set a new password');

    const unknown = await runCliInProcess(['user', 'reset-link', 'nosuchuser'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No user is called');
  });
});

describe('without SMTP_URL', () => {
  it('the reset link is in the log at info, with a line saying the mail was not sent', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const dev = await buildTestApp({ env: { LOG_LEVEL: 'info' }, logStream });
    try {
      await makeUser(dev.deps, { username: 'devuser', email: 'devuser@example.com' });
      const res = await dev.app.inject({ method: 'POST', url: '/account/forgot-password', headers: FORM, payload: 'identifier=devuser' });
      expect(res.statusCode).toBe(200);
      const deadline = Date.now() + scaled(5000);
      while (!lines.some((l) => l.includes('mail not sent')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const entry = lines.map((l) => JSON.parse(l) as { level: number; msg: string; mail?: { links?: string[] } }).find((l) => l.msg.startsWith('mail not sent'));
      expect(entry?.level).toBe(30);
      expect(entry?.mail?.links).toEqual([expect.stringMatching(new RegExp(`^${PUBLIC_URL}/account/reset-password\\?token=[A-Za-z0-9_-]{43}$`))]);
    } finally {
      await dev.close();
    }
  });
});
