// Every mail, through a real SMTP peer: multipart text and HTML, naming SERVICE_NAME in the
// subject, the text's signature and the HTML, the links clickable; and, with SMTP_URL set, no
// link in the log at any level.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_URL, basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { linkIn, startSmtpPeer, type SmtpPeer } from '../support/smtp.ts';
import { scaled } from '../support/time.ts';

let smtp: SmtpPeer;
let t: TestApp;
const lines: string[] = [];

beforeAll(async () => {
  smtp = await startSmtpPeer();
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, SERVICE_NAME: 'Example <Hub>', LOG_LEVEL: 'debug' }, logStream });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

describe('mail', () => {
  it('is multipart text and HTML, names SERVICE_NAME, and its links are clickable; the log has no link even at debug', async () => {
    const user = await makeUser(t.deps, { username: 'mailreader' });
    const url = '/api/v1.1/users/mailreader/emails/';
    const post = (path: string) =>
      t.app.inject({ method: 'POST', url: `${url}${path}`, headers: { authorization: basic('mailreader', user.password), 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'reader@example.com' }) });
    expect((await post('')).statusCode).toBe(201);
    expect((await post('verification/')).statusCode).toBe(202);
    const mail = await smtp.waitFor((m) => m.to.includes('reader@example.com'));
    expect(mail.contentType).toBe('multipart/alternative');
    expect(mail.subject).toBe('Example <Hub>: Confirm your email address');
    const link = linkIn(mail);
    expect(link.startsWith(`${PUBLIC_URL}/account/verify-email?token=`)).toBe(true);
    expect(mail.text).toContain('for the account "mailreader" at Example <Hub>.');
    expect(mail.text).toMatch(/\n-- \nExample <Hub>\nhttps:\/\/accounts\.example\.test\n$/);
    expect(mail.html).toMatch(/^<!doctype html>/);
    expect(mail.html).toContain('Example &#60;Hub&#62;');
    expect(mail.html).not.toContain('<Hub>');
    const escaped = link.replaceAll('=', '&#61;');
    expect(mail.html).toContain(`<a href="${escaped}">${escaped}</a>`);
    expect(mail.html).toContain('<p>Hello mailreader,</p>');
    // SMTP_URL is set: the link is never logged, whatever the level.
    const token = new URL(link).searchParams.get('token')!;
    const deadline = Date.now() + scaled(5000);
    while (!lines.some((l) => l.includes('"mail sent"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(lines.some((l) => l.includes('"mail sent"'))).toBe(true);
    expect(lines.join('\n')).not.toContain(token);
  });
});
