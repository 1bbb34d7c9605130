// Two instances on one database and one Redis: a password reset on one is seen by the other at
// once (its credential cache would otherwise answer the old password for up to 3 seconds), and the
// per-account limit on reset mails is shared.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_URL, basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp.ts';
import { eventually } from '../support/e2e.ts';
import { scaled } from '../support/time.ts';

let smtp: SmtpPeer;
let a: TestApp;
let b: TestApp;
const connections: Redis[] = [];

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  smtp = await startSmtpPeer();
  const env = { SMTP_URL: smtp.url, REDIS_PREFIX: `test-reset-${process.pid}-${Date.now()}:` };
  const redis = () => {
    const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    connections.push(connection);
    return connection;
  };
  a = await buildTestApp({ env, redis: redis() });
  b = await buildTestApp({ env, redis: redis(), databaseUrl: a.config.databaseUrl });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  for (const connection of connections) connection.disconnect();
  await smtp?.close();
});

const forgot = (app: TestApp, identifier: string) =>
  app.app.inject({ method: 'POST', url: '/account/forgot-password', headers: FORM, payload: new URLSearchParams({ identifier }).toString() });
const status = async (app: TestApp, username: string, password: string) =>
  (await app.app.inject({ url: `/api/v1.1/users/${username}/`, headers: { authorization: basic(username, password) } })).statusCode;

function resetTokenIn(mail: ReceivedMail): string {
  const link = /https?:\/\/\S+\/account\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  if (!link?.startsWith(PUBLIC_URL)) throw new Error(`no reset link in:\n${mail.text}`);
  return new URL(link).searchParams.get('token')!;
}

describe('a password reset across instances', () => {
  it('the other instance refuses the old password at once, and takes the new one', async () => {
    const user = await makeUser(a.deps, { username: 'everywhere', email: 'everywhere@example.com' });
    // Instance b checks the old password, and caches it.
    expect(await status(b, 'everywhere', user.password)).toBe(200);
    const checkedAt = Date.now();

    expect((await forgot(a, 'everywhere')).statusCode).toBe(200);
    const token = resetTokenIn(await smtp.waitFor((m) => m.to.includes('everywhere@example.com')));
    const done = await a.app.inject({ method: 'POST', url: '/account/reset-password', headers: FORM, payload: new URLSearchParams({ token, password: 'a fresh and shared passphrase' }).toString() });
    expect(done.statusCode, done.body).toBe(200);

    // Well inside the 3 seconds b's cache would keep the old password without Redis.
    expect(await eventually(async () => (await status(b, 'everywhere', user.password)) === 401, 1_000, 20)).toBe(true);
    if (scaled(1) === 1) expect(Date.now() - checkedAt).toBeLessThan(3_000);
    expect(await status(b, 'everywhere', 'a fresh and shared passphrase')).toBe(200);
  });

  it('the per-account limit counts the requests of both instances', async () => {
    await makeUser(a.deps, { username: 'twoplaces', email: 'twoplaces@example.com' });
    const before = smtp.messages.length;
    for (const app of [a, b, a, b]) expect((await forgot(app, 'twoplaces')).statusCode).toBe(200);
    await smtp.waitFor(() => smtp.messages.slice(before).filter((m) => m.to.includes('twoplaces@example.com')).length >= 3);
    await new Promise((r) => setTimeout(r, scaled(300)));
    expect(smtp.messages.slice(before).filter((m) => m.to.includes('twoplaces@example.com'))).toHaveLength(3);
  });
});
