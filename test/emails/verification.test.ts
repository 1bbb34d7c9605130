// A verification mail through a real SMTP peer, its link's page, single use,
// expiry, the per-address limit, and making a verified address primary.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { PUBLIC_URL, basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { expectPageHeaders as expectHeadersOfPage } from '../support/pages.ts';
import { freePort } from '../support/processes.ts';
import { linkIn, startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp.ts';
import { scaled } from '../support/time.ts';

let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };

let smtp: SmtpPeer;
let t: TestApp;
let auth: string;
const base = '/api/v1.1/users/verifier/emails/';
type EmailList = Array<{ email: string; verified: boolean; primary: boolean }>;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'Accounts <accounts@example.test>' }, clock });
  const user = await makeUser(t.deps, { username: 'verifier', email: 'verifier@example.com' });
  await makeUser(t.deps, { username: 'someoneelse', email: 'someone.else@example.com' });
  auth = basic('verifier', user.password);
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const post = (url: string, body: unknown, authorization: string | null = auth) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { ...(authorization === null ? {} : { authorization }), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
const addEmail = (email: string) => post(base, { email });
const requestLink = (email: string, authorization?: string) => post(`${base}verification/`, { email }, authorization);
const promote = (email: string, authorization?: string) => post(`${base}primary/`, { email }, authorization);
const list = async () => (await t.app.inject({ method: 'GET', url: base, headers: { authorization: auth } })).json() as EmailList;
const open = (link: string) => t.app.inject({ method: 'GET', url: link.slice(PUBLIC_URL.length) });
const confirm = (token: string) =>
  t.app.inject({
    method: 'POST',
    url: '/account/verify-email',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${encodeURIComponent(token)}`,
  });
const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
const mailTo = (address: string, after = 0): Promise<ReceivedMail> => smtp.waitFor((m) => m.to.includes(address) && smtp.messages.indexOf(m) >= after);

async function linkFor(address: string): Promise<string> {
  const before = smtp.messages.length;
  const res = await requestLink(address);
  expect(res.statusCode, res.body).toBe(202);
  return linkIn(await mailTo(address, before));
}

function expectPageHeaders(res: { headers: Record<string, unknown>; body: string }) {
  // The service's page headers; the link's token is in the URL: no Referer, by header and by <meta>.
  expectHeadersOfPage(res, { referrerPolicy: 'no-referrer', https: true });
  expect(res.body).toContain('<meta name="referrer" content="no-referrer">');
}

describe('verification mail and link', () => {
  it('mails a link; GET shows the address and a Confirm button and changes nothing; POST verifies; the address can then become primary', async () => {
    expect((await addEmail('New.Address@example.com')).statusCode).toBe(201);
    const before = smtp.messages.length;
    const res = await requestLink('new.address@EXAMPLE.com');
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ detail: 'A verification link is on its way to New.Address@example.com.' });

    const mail = await mailTo('New.Address@example.com', before);
    expect(mail.from).toBe('accounts@example.test');
    expect(mail.subject).toBe('Accounts: Confirm your email address');
    expect(mail.contentType).toBe('multipart/alternative');
    const link = linkIn(mail);
    expect(link).toMatch(new RegExp(`^${PUBLIC_URL}/account/verify-email\\?token=[A-Za-z0-9_-]{43}$`));
    // Only the digest is stored.
    const stored = await t.store.db.selectFrom('email_verifications').select('token_digest').execute();
    expect(stored.map((r) => r.token_digest)).not.toContain(tokenOf(link));

    const page = await open(link);
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page);
    expect(page.body).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(page.body).toContain('<title>Confirm your email address</title>');
    expect(page.body).toContain('New.Address@example.com');
    expect(page.body).toMatch(/<form method="post"[^>]*>/);
    expect(page.body).toContain(`<input type="hidden" name="token" value="${tokenOf(link)}">`);
    expect(page.body).toContain('<button type="submit">Confirm</button>');
    expect(page.body).not.toContain('<script');
    expect((await list()).find((e) => e.email === 'New.Address@example.com')?.verified).toBe(false);

    const done = await confirm(tokenOf(link));
    expect(done.statusCode).toBe(200);
    expectPageHeaders(done);
    expect(done.body).toContain('<title>Email address verified</title>');
    expect(done.body).toContain('New.Address@example.com');
    expect((await list()).find((e) => e.email === 'New.Address@example.com')).toEqual({ email: 'New.Address@example.com', verified: true, primary: false });

    // Used: the same link again, opened or confirmed.
    for (const again of [await confirm(tokenOf(link)), await open(link)]) {
      expect(again.statusCode).toBe(410);
      expectPageHeaders(again);
      expect(again.body).toContain('This link has already been used');
    }

    const promoted = await promote('NEW.ADDRESS@example.com');
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toEqual([
      { email: 'New.Address@example.com', verified: true, primary: true },
      { email: 'verifier@example.com', verified: true, primary: false },
    ]);
    const user = await t.app.inject({ method: 'GET', url: '/api/v1.1/users/verifier/', headers: { authorization: auth } });
    expect(user.json().email).toBe('New.Address@example.com');

    const events = await t.store.db.selectFrom('audit_events').selectAll().where('username', '=', 'verifier').orderBy('id').execute();
    const verified = events.find((e) => e.event === 'email_verified');
    expect(verified).toMatchObject({ actor: 'self', outcome: 'success', detail: JSON.stringify({ email: 'New.Address@example.com' }) });
    expect(events.find((e) => e.event === 'email_made_primary')).toMatchObject({ actor: 'self', detail: JSON.stringify({ email: 'New.Address@example.com' }) });

    // Promote back: the old primary was kept, verified.
    expect((await promote('verifier@example.com')).json()[0]).toEqual({ email: 'verifier@example.com', verified: true, primary: true });
  });

  it('an expired link shows a page that says so, and verifies nothing', async () => {
    await addEmail('late@example.com');
    const link = await linkFor('late@example.com');
    const sent = now;
    try {
      now = sent + 24 * 60 * 60 * 1000 - 1000;
      expect((await open(link)).statusCode).toBe(200);
      now = sent + 24 * 60 * 60 * 1000 + 1000;
      for (const res of [await open(link), await confirm(tokenOf(link))]) {
        expect(res.statusCode).toBe(410);
        expectPageHeaders(res);
        expect(res.body).toContain('This link has expired');
      }
    } finally {
      now = sent;
    }
    expect((await list()).find((e) => e.email === 'late@example.com')?.verified).toBe(false);
  });

  it('an unknown or malformed token shows a 400 page without internals', async () => {
    const unknown = 'A'.repeat(43);
    for (const res of [
      await t.app.inject({ method: 'GET', url: `/account/verify-email?token=${unknown}` }),
      await t.app.inject({ method: 'GET', url: '/account/verify-email' }),
      await t.app.inject({ method: 'GET', url: '/account/verify-email?token=%3Cscript%3E&token=x' }),
      await confirm(unknown),
      await confirm('not a token'),
      await t.app.inject({ method: 'POST', url: '/account/verify-email' }),
      // A body that cannot be parsed is a page too, not the API's JSON.
      await t.app.inject({ method: 'POST', url: '/account/verify-email', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${unknown}&token=${unknown}` }),
      await t.app.inject({ method: 'POST', url: '/account/verify-email', headers: { 'content-type': 'text/plain' }, payload: unknown }),
    ]) {
      expect(res.statusCode).toBe(400);
      expectPageHeaders(res);
      expect(res.body).toContain('This link is not valid');
      expect(res.body).not.toMatch(/<script|Error|at \//);
    }
  });

  it('two concurrent confirmations of one link verify once', async () => {
    await addEmail('race@example.com');
    const link = await linkFor('race@example.com');
    const answers = await Promise.all([confirm(tokenOf(link)), confirm(tokenOf(link)), confirm(tokenOf(link))]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 410, 410]);
    const events = await t.store.db.selectFrom('audit_events').select('detail').where('event', '=', 'email_verified').execute();
    expect(events.filter((e) => e.detail?.includes('race@example.com'))).toHaveLength(1);
  });

  it('deleting the address makes its links unknown', async () => {
    await addEmail('gone@example.com');
    const link = await linkFor('gone@example.com');
    const res = await t.app.inject({ method: 'DELETE', url: base, headers: { authorization: auth, 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'gone@example.com' }) });
    expect(res.statusCode).toBe(204);
    expect((await open(link)).statusCode).toBe(400);
  });
});

describe('POST …/emails/verification/ refusals', () => {
  it('at most 5 mails per address per hour: the 6th is a 429 with Retry-After', async () => {
    await addEmail('often@example.com');
    for (let i = 0; i < 5; i++) expect((await requestLink('often@example.com')).statusCode).toBe(202);
    const res = await requestLink('OFTEN@example.com');
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('too_many_requests');
    const wait = Number(res.headers['retry-after']);
    expect(wait).toBeGreaterThan(3500);
    expect(wait).toBeLessThanOrEqual(3600);
    // Other addresses are counted on their own.
    await addEmail('seldom@example.com');
    expect((await requestLink('seldom@example.com')).statusCode).toBe(202);
  });

  it('400 naming email for an address the user does not have, an already-verified one, or no valid address', async () => {
    const cases: Array<[unknown, string]> = [
      ['never.added@example.com', 'This user has no such email address.'],
      ['someone.else@example.com', 'This user has no such email address.'],
      ['verifier@example.com', 'This email address is already verified.'],
      ['', 'This field is required.'],
      ['not an address', 'Enter a valid email address.'],
    ];
    for (const [email, message] of cases) {
      const res = await requestLink(email as string);
      expect(res.statusCode, String(email)).toBe(400);
      expect(res.json()).toEqual({ detail: 'Invalid input.', code: 'invalid', errors: { email: [message] } });
    }
    expect((await post(`${base}verification/`, {})).json().errors.email).toEqual(['This field is required.']);
    expect((await post(`${base}verification/`, { email: 'x@example.com', extra: 1 })).json().errors.extra).toEqual(['Unknown field.']);
    const form = await t.app.inject({
      method: 'POST',
      url: `${base}verification/`,
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=never.added%40example.com',
    });
    expect(form.statusCode).toBe(400);
  });

  it('401, 404, 403 and scope 403 like every account route; 405 for other methods', async () => {
    for (const path of ['verification/', 'primary/']) {
      expect((await post(`${base}${path}`, { email: 'verifier@example.com' }, null)).statusCode).toBe(401);
      expect((await post(`/api/v1.1/users/nobodyhere/emails/${path}`, { email: 'verifier@example.com' })).statusCode).toBe(404);
      expect((await post(`/api/v1.1/users/someoneelse/emails/${path}`, { email: 'someone.else@example.com' })).statusCode).toBe(403);
      const readOnly = await makeToken(t.deps, 'verifier', ['email_read', 'profile_write']);
      const scoped = await post(`${base}${path}`, { email: 'verifier@example.com' }, bearer(readOnly));
      expect(scoped.statusCode).toBe(403);
      expect(scoped.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="email_write"');
      const writer = await makeToken(t.deps, 'verifier', ['email_write']);
      expect((await post(`${base}${path}`, { email: 'verifier@example.com' }, bearer(writer))).statusCode).not.toBe(403);
      const get = await t.app.inject({ method: 'GET', url: `${base}${path}`, headers: { authorization: auth } });
      expect(get.statusCode).toBe(405);
      expect(get.headers.allow).toBe('POST');
    }
  });
});

describe('POST …/emails/primary/', () => {
  it('400 for an unverified address, 404 (email_not_found) for one the user does not have', async () => {
    await addEmail('unverified@example.com');
    const res = await promote('unverified@example.com');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'Invalid input.', code: 'invalid', errors: { email: ['Only a verified address can become the primary address.'] } });
    for (const email of ['never.added@example.com', 'someone.else@example.com']) {
      const missing = await promote(email);
      expect(missing.statusCode).toBe(404);
      expect(missing.json().code).toBe('email_not_found');
    }
    expect((await promote('')).statusCode).toBe(400);
    expect((await list()).filter((e) => e.primary).map((e) => e.email)).toEqual(['verifier@example.com']);
  });

  it('making the primary primary changes nothing', async () => {
    const res = await promote('verifier@example.com');
    expect(res.statusCode).toBe(200);
    expect(res.json()[0]).toEqual({ email: 'verifier@example.com', verified: true, primary: true });
  });

  it('concurrent promotions of different addresses leave exactly one primary, and the old primary can then be deleted', async () => {
    const u = await makeUser(t.deps, { username: 'racer', email: 'racer0@example.com' });
    const a = basic('racer', u.password);
    const url = '/api/v1.1/users/racer/emails/';
    for (let i = 1; i <= 4; i++) expect((await post(url, { email: `racer${i}@example.com` }, a)).statusCode).toBe(201);
    await t.store.db.updateTable('emails').set({ verified: 1 }).where('email', 'like', 'racer%@example.com').execute();
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([1, 2, 3, 4].map((i) => post(`${url}primary/`, { email: `racer${i}@example.com` }, a)));
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
      const rows = await t.store.db.selectFrom('emails').selectAll().where('email', 'like', 'racer%@example.com').execute();
      expect(rows.filter((r) => r.is_primary === 1), `round ${round}`).toHaveLength(1);
      expect(rows).toHaveLength(5);
    }
    const primary = ((await t.app.inject({ method: 'GET', url, headers: { authorization: a } })).json() as EmailList)[0]!;
    expect(primary.primary).toBe(true);
    const del = await t.app.inject({ method: 'DELETE', url, headers: { authorization: a, 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'racer0@example.com' }) });
    expect(del.statusCode).toBe(204);
    const delPrimary = await t.app.inject({ method: 'DELETE', url, headers: { authorization: a, 'content-type': 'application/json' }, payload: JSON.stringify({ email: primary.email }) });
    expect(delPrimary.statusCode).toBe(400);
  });
});

describe('mail delivery', () => {
  it('an SMTP failure does not fail the 202; it is retried, logged and counted in /metrics', async () => {
    const closedPort = await freePort();
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const broken = await buildTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${closedPort}`, LOG_LEVEL: 'info' }, mailRetryDelaysMs: [20, 20], logStream });
    try {
      const user = await makeUser(broken.deps, { username: 'unlucky' });
      const a = basic('unlucky', user.password);
      const url = '/api/v1.1/users/unlucky/emails/';
      const send = (path: string) => broken.app.inject({ method: 'POST', url: `${url}${path}`, headers: { authorization: a, 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'lost@example.com' }) });
      expect((await send('')).statusCode).toBe(201);
      const started = Date.now();
      const res = await send('verification/');
      expect(res.statusCode).toBe(202);
      expect(Date.now() - started).toBeLessThan(1000);
      const deadline = Date.now() + scaled(15_000);
      let metrics = '';
      while (Date.now() < deadline) {
        metrics = (await broken.app.inject({ method: 'GET', url: '/metrics' })).body;
        if (/^accounts_mail_send_failures_total 1$/m.test(metrics)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(metrics).toMatch(/^accounts_mail_send_failures_total 1$/m);
      expect(metrics).toMatch(/^accounts_mail_sent_total 0$/m);
      const mailLines = lines.map((l) => JSON.parse(l) as { msg: string; mail?: { attempt?: number; attempts?: number } }).filter((l) => l.mail);
      expect(mailLines.map((l) => l.msg)).toEqual(['mail could not be sent: will retry', 'mail could not be sent: will retry', 'mail could not be sent: giving up']);
      expect(lines.join('\n')).not.toContain('token=');
    } finally {
      await broken.close();
    }
  });

  it('without SMTP_URL a message goes to the log: recipient, subject and links at info, saying it was not sent; the body only at debug', async () => {
    for (const level of ['info', 'debug']) {
      const lines: string[] = [];
      const logStream = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      });
      const logged = await buildTestApp({ env: { LOG_LEVEL: level }, logStream });
      try {
        const user = await makeUser(logged.deps, { username: `logmail${level}` });
        const a = basic(`logmail${level}`, user.password);
        const url = `/api/v1.1/users/logmail${level}/emails/`;
        const send = (path: string) => logged.app.inject({ method: 'POST', url: `${url}${path}`, headers: { authorization: a, 'content-type': 'application/json' }, payload: JSON.stringify({ email: `log.${level}@example.com` }) });
        await send('');
        expect((await send('verification/')).statusCode).toBe(202);
        const deadline = Date.now() + scaled(5000);
        while (!lines.some((l) => l.includes('mail not sent')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string; mail?: Record<string, unknown> });
        const entry = entries.find((l) => l.msg === 'mail not sent (SMTP_URL is not set): written to the log');
        expect(entry?.level).toBe(30);
        expect(entry?.mail).toEqual({ transport: 'log', to: `log.${level}@example.com`, subject: 'Confirm your email address', links: [expect.stringMatching(new RegExp(`^${PUBLIC_URL}/account/verify-email\\?token=[A-Za-z0-9_-]{43}$`))] });
        // The whole body (with the link again) only at debug.
        const withToken = lines.filter((l) => l.includes('verify-email?token='));
        expect(withToken.length, level).toBe(level === 'debug' ? 2 : 1);
        const metrics = (await logged.app.inject({ method: 'GET', url: '/metrics' })).body;
        expect(metrics).toMatch(/^accounts_mail_sent_total 1$/m);
      } finally {
        await logged.close();
      }
    }
  });
});
