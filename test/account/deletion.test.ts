// Deleting an account: from the settings page (password and username asked again) and with
// `accounts user delete`. One transaction removes the profile and everything tied to it, a
// tombstone keeps the id and the username from ever being given again, the audit trail keeps the
// deletion, a mail confirms it, and every instance forgets the account at once.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../../src/audit/audit.service.ts';
import { exportDump, importDump } from '../../src/transfer/transfer.service.ts';
import { createUser } from '../../src/users/users.service.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { HAS_SCRIPT, runOnTerminal } from '../support/cli.ts';
import { browserFor } from '../support/inject-browser.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp.ts';
import { scaled } from '../support/time.ts';

let smtp: SmtpPeer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'Accounts <accounts@example.test>' } });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const profile = (username: string, authorization: string) => t.app.inject({ url: `/api/v1.1/users/${username}/`, headers: { authorization } });

async function loggedIn() {
  const user = await makeUser(t.deps);
  const browser = browserFor(t.app);
  expect((await browser.login(user.username, user.password)).statusCode).toBe(303);
  expect((await browser.get('/account/')).statusCode).toBe(200); // the page's CSRF token
  return { user, browser };
}

/** The rows of every table that still name the user. */
async function leftOf(userId: number) {
  const db = t.store.db;
  const count = async (query: { execute(): Promise<unknown[]> }) => (await query.execute()).length;
  return {
    users: await count(db.selectFrom('users').select('id').where('id', '=', userId)),
    emails: await count(db.selectFrom('emails').select('id').where('user_id', '=', userId)),
    verifications: await count(db.selectFrom('email_verifications').select('id').where('email_id', 'in', db.selectFrom('emails').select('id').where('user_id', '=', userId))),
    tokens: await count(db.selectFrom('access_tokens').select('id').where('user_id', '=', userId)),
    sessions: await count(db.selectFrom('sessions').select('id').where('user_id', '=', userId)),
    artifacts: await count(db.selectFrom('oauth_artifacts').select('id').where('account_id', '=', String(userId))),
  };
}

describe('the settings page', () => {
  it('has the section at the bottom, asking for the password and the username', async () => {
    const { browser } = await loggedIn();
    const page = await browser.get('/account/');
    expect(page.body).toContain('<h2 id="delete-h">Delete account</h2>');
    expect(page.body.indexOf('delete-h')).toBeGreaterThan(page.body.indexOf('password-h'));
    expect(page.body).toContain('action="/account/delete"');
    expect(page.body).toContain('name="current_password"');
    expect(page.body).toContain('name="confirm_username"');
  });

  it('refuses a wrong password (400, audited as login_failed) and a wrong username typed; nothing is deleted', async () => {
    const { user, browser } = await loggedIn();
    const wrongPassword = await browser.post('/account/delete', { current_password: 'not the password', confirm_username: user.username });
    expect(wrongPassword.statusCode).toBe(400);
    expect(wrongPassword.body).toMatch(/id="delete_account-current_password-error" role="alert">This is not your password./);
    const wrongName = await browser.post('/account/delete', { current_password: user.password, confirm_username: `${user.username}x` });
    expect(wrongName.statusCode).toBe(400);
    expect(wrongName.body).toMatch(/id="delete_account-confirm_username-error" role="alert">Type your username/);
    expect(wrongName.body).toContain(`value="${user.username}x"`);
    expect((await browser.post('/account/delete', { current_password: '', confirm_username: user.username })).statusCode).toBe(400);
    expect(await leftOf(user.id)).toMatchObject({ users: 1, emails: 1, sessions: 1 });
    expect((await profile(user.username, basic(user.username, user.password))).statusCode).toBe(200);
    const events = await listAuditEvents(t.deps, user);
    expect(events.map((e) => e.event)).toEqual(['signed_in', 'login_failed']);
    // Without the session's CSRF token: 403, nothing deleted.
    expect((await browser.post('/account/delete', { current_password: user.password, confirm_username: user.username }, { csrf: 'forged' })).statusCode).toBe(403);
    expect((await leftOf(user.id)).users).toBe(1);
  });

  it('is throttled like the login: after too many wrong passwords the right one is refused too (429)', async () => {
    const { user, browser } = await loggedIn();
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++) last = (await browser.post('/account/delete', { current_password: `wrong ${i} password`, confirm_username: user.username })).statusCode;
    expect(last).toBe(429);
    const res = await browser.post('/account/delete', { current_password: user.password, confirm_username: user.username });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
    expect((await leftOf(user.id)).users).toBe(1);
  });

  it('deletes everything of the account in one go: logged out, 404 for the username, 401 for the password and every token, a mail, the audit event kept', async () => {
    const { user, browser } = await loggedIn();
    const other = await makeUser(t.deps);
    const otherToken = await makeToken(t.deps, other.username, ['profile_read']);
    const token = await makeToken(t.deps, user.username, ['profile_read', 'email_write']);
    // An unverified address with a pending link, an OAuth grant and its access token, and the
    // path entry, the password and the token in this instance's caches.
    expect((await t.app.inject({ method: 'POST', url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: bearer(token), 'content-type': 'application/json' }, payload: { email: `${user.username}.second@example.com` } })).statusCode).toBe(201);
    expect((await browser.post('/account/emails/verify', { email: `${user.username}.second@example.com` })).statusCode).toBe(303);
    const client = await makeClient(t.deps);
    const pkce = pkcePair();
    const { code } = await authorize(t.app, client, user, { scope: 'profile_read', challenge: pkce.challenge });
    const issued = await redeem(t.app, client, code!, pkce.verifier);
    expect(issued.status).toBe(200);
    const oauthToken = String(issued.body.access_token);
    expect((await profile(user.username, bearer(oauthToken))).statusCode).toBe(200);
    expect((await profile(user.username, basic(user.username, user.password))).statusCode).toBe(200);
    expect((await profile(user.username, bearer(token))).statusCode).toBe(200);
    expect((await profile(user.username, bearer(otherToken))).statusCode).toBe(403);
    const before = await leftOf(user.id);
    expect(before).toMatchObject({ users: 1, emails: 2, verifications: 1, tokens: 1, sessions: 1 });
    expect(before.artifacts).toBeGreaterThanOrEqual(2); // the grant, the access token, the login session

    const res = await browser.post('/account/delete', { current_password: user.password, confirm_username: user.username.toUpperCase() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('Your account was deleted');
    expect(browser.cookies.get('account_session') ?? '').toBe('');
    expect((await browser.get('/account/')).headers.location).toBe('/account/login');

    expect(await leftOf(user.id)).toEqual({ users: 0, emails: 0, verifications: 0, tokens: 0, sessions: 0, artifacts: 0 });
    const tombstone = await t.store.db.selectFrom('deleted_accounts').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(tombstone).toMatchObject({ username: user.username, deleted_at: expect.stringMatching(/^\d{4}-/) });

    // The path user is forgotten: another caller gets 404, not 403.
    expect((await profile(user.username, bearer(otherToken))).statusCode).toBe(404);
    expect((await profile(user.username, basic(user.username, user.password))).statusCode).toBe(401);
    expect((await profile(user.username, bearer(token))).statusCode).toBe(401);
    expect((await profile(user.username, bearer(oauthToken))).statusCode).toBe(401);
    expect((await browser.login(user.username, user.password)).statusCode).toBe(401);

    const events = await listAuditEvents(t.deps, user);
    const deletion = events.find((e) => e.event === 'account_deleted');
    expect(deletion).toMatchObject({ username: user.username, actor: 'self', outcome: 'success', detail: null });
    const row = await t.store.db.selectFrom('audit_events').selectAll().where('event', '=', 'account_deleted').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ username: user.username, detail: null });
    // The earlier events of the account stay.
    expect(events.some((e) => e.event === 'oauth_grant')).toBe(true);

    const mail = await smtp.waitFor((m) => m.to.includes(user.email) && m.subject.endsWith('Your account was deleted'));
    expect(mail.text).toContain(`The account "${user.username}"`);
  });

  it('never gives the username or the id to anyone again', async () => {
    const { user, browser } = await loggedIn();
    expect((await browser.post('/account/delete', { current_password: user.password, confirm_username: user.username })).statusCode).toBe(200);
    await expect(createUser(t.deps, { username: user.username, email: `${user.username}.again@example.com` })).rejects.toMatchObject({
      code: 'invalid',
      fieldErrors: { username: ['This username belonged to a deleted account and cannot be used again.'] },
    });
    // The schema refuses it too, whoever inserts: the same username, or the same id.
    const now = new Date().toISOString();
    await expect(t.store.write((trx) => trx.insertInto('users').values({ username: user.username, password_hash: null, date_joined: now, updated_at: now }).execute())).rejects.toThrow(/account_deleted/);
    await expect(t.store.write((trx) => trx.insertInto('users').values({ id: user.id, username: 'someoneelse1', password_hash: null, date_joined: now, updated_at: now }).execute())).rejects.toThrow(
      /account_deleted/,
    );
    const next = await makeUser(t.deps);
    expect(next.id).toBeGreaterThan(user.id);
  });

  it('leaves the deleted account out of `accounts export`', async () => {
    const { user, browser } = await loggedIn();
    const kept = await makeUser(t.deps);
    expect((await browser.post('/account/delete', { current_password: user.password, confirm_username: user.username })).statusCode).toBe(200);
    let dump = '';
    await exportDump(t.deps, (chunk) => {
      dump += chunk;
    });
    expect(dump).toContain(`"username":"${kept.username}"`);
    expect(dump).not.toContain(user.username);
  });

  it('refuses to bring a deleted account back with `accounts import`, naming the line; nothing is imported', async () => {
    const { user, browser } = await loggedIn();
    let dump = '';
    await exportDump(t.deps, (chunk) => {
      dump += chunk;
    });
    expect(dump).toContain(`"username":"${user.username}"`);
    expect((await browser.post('/account/delete', { current_password: user.password, confirm_username: user.username })).statusCode).toBe(200);
    const usersBefore = (await t.store.db.selectFrom('users').select('id').execute()).length;
    await expect(importDump(t.deps, Readable.from([dump]))).rejects.toThrow(new RegExp(`user ${user.id} \\("${user.username}"\\) was deleted in the target`));
    expect((await t.store.db.selectFrom('users').select('id').execute()).length).toBe(usersBefore);
    expect((await leftOf(user.id)).users).toBe(0);
  });
});

describe('accounts user delete', () => {
  const cli = (args: string[], stdin?: string) =>
    runCliInProcess(args, { env: { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl, SMTP_URL: smtp.url, LOG_LEVEL: 'warn' }, ...(stdin !== undefined ? { stdin } : {}) });

  it('refuses without --yes when standard input is not a terminal, and an unknown user; deletes with --yes and prints what it deleted', async () => {
    const user = await makeUser(t.deps);
    const token = await makeToken(t.deps, user.username, ['profile_read']);
    expect((await profile(user.username, bearer(token))).statusCode).toBe(200);

    const refused = await cli(['user', 'delete', user.username], `${user.username}\n`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/pass --yes.*nothing was deleted/);
    expect((await leftOf(user.id)).users).toBe(1);

    const unknown = await cli(['user', 'delete', 'nosuchuser1', '--yes']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('No user named "nosuchuser1"');

    const done = await cli(['user', 'delete', user.username.toUpperCase(), '--yes']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`Deleted user ${user.username} (id ${user.id})`);
    expect(JSON.parse(done.stdout.trim())).toMatchObject({ id: user.id, username: user.username, email: user.email });
    expect(await leftOf(user.id)).toMatchObject({ users: 0, emails: 0, tokens: 0 });
    // The command sends the confirmation too, before it exits.
    expect(smtp.messages.some((m) => m.to.includes(user.email) && m.subject.endsWith('Your account was deleted'))).toBe(true);
    // The server is another process without Redis here: it forgets the token and the path user
    // when its cache entries expire (3 s).
    const deadline = Date.now() + scaled(5_000);
    let status = (await profile(user.username, bearer(token))).statusCode;
    while (status !== 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await profile(user.username, bearer(token))).statusCode;
    }
    expect(status).toBe(401);
    const events = await listAuditEvents(t.deps, user);
    expect(events.at(-1)).toMatchObject({ event: 'account_deleted', actor: 'admin', username: user.username });
    // The trail stays readable by the username.
    const audit = await cli(['audit', user.username, '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout.trim().split('\n').map((line) => JSON.parse(line).event)).toContain('account_deleted');

    const again = await cli(['user', 'create', user.username, '--email', `${user.username}.new@example.com`]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('belonged to a deleted account');
  });
});

describe('two deletions at once', () => {
  it('one deletes, the other is a 404; one tombstone, one audit event', async () => {
    const user = await makeUser(t.deps);
    const { deleteAccount } = await import('../../src/users/deletion.service.ts');
    const results = await Promise.allSettled([deleteAccount(t.deps, user.username), deleteAccount(t.deps, user.username)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'not_found' } });
    expect(await t.store.db.selectFrom('deleted_accounts').selectAll().where('user_id', '=', user.id).execute()).toHaveLength(1);
    expect((await listAuditEvents(t.deps, user)).filter((e) => e.event === 'account_deleted')).toHaveLength(1);
  });
});

describe('accounts user delete on a terminal', () => {
  it.skipIf(!HAS_SCRIPT)('asks for the username again: a different one deletes nothing, the same one deletes', async () => {
    const user = await makeUser(t.deps);
    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl };
    const prompt = 'Type the username to confirm: ';
    const refused = await runOnTerminal(['user', 'delete', user.username], env, [[prompt, 'someone\r']]);
    expect(refused.code, refused.screen).not.toBe(0);
    expect(refused.screen).toContain('the username typed differs; nothing was deleted');
    expect((await leftOf(user.id)).users).toBe(1);
    const done = await runOnTerminal(['user', 'delete', user.username], env, [[prompt, `${user.username}\r`]]);
    expect(done.code, done.screen).toBe(0);
    expect(done.screen).toContain(`Deleted user ${user.username} (id ${user.id})`);
    expect((await leftOf(user.id)).users).toBe(0);
  });
});

describe('two instances on one database, with Redis', () => {
  let b: TestApp;
  let a: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    await redis.connect();
    const prefix = `accounts-test-${randomBytes(4).toString('hex')}:`;
    a = await buildTestApp({ redis, env: { REDIS_PREFIX: prefix } });
    b = await buildTestApp({ redis, env: { REDIS_PREFIX: prefix }, databaseUrl: a.config.databaseUrl });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.quit();
  });

  it('the other instance stops answering for the deleted account at once: 401 for its password and token, 404 for its username', async () => {
    const user = await makeUser(a.deps);
    const other = await makeUser(a.deps);
    const token = await makeToken(a.deps, user.username, ['profile_read']);
    const otherToken = await makeToken(a.deps, other.username, ['profile_read']);
    const get = (authorization: string) => b.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization } });
    // b caches the password, the token and the path user.
    expect((await get(basic(user.username, user.password))).statusCode).toBe(200);
    expect((await get(bearer(token))).statusCode).toBe(200);
    expect((await get(bearer(otherToken))).statusCode).toBe(403);

    const { deleteAccount } = await import('../../src/users/deletion.service.ts');
    await deleteAccount(a.deps, user.username);
    // Well before the credential caches' 3 s; the path entry would otherwise never go.
    const deadline = Date.now() + scaled(1_000);
    const statuses = async () => [(await get(basic(user.username, user.password))).statusCode, (await get(bearer(token))).statusCode, (await get(bearer(otherToken))).statusCode];
    let seen = await statuses();
    while (seen.join() !== '401,401,404' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await statuses();
    }
    expect(seen).toEqual([401, 401, 404]);
  });
});
