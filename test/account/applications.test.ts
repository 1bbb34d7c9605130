// The settings page's "Authorised applications": the applications the user
// allowed, through the real authorization flow, and revoking one ends its tokens at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../../src/audit/audit.service.ts';
import { setPassword } from '../../src/users/users.service.ts';
import { bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';
import { browserFor } from './session.ts';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('the login session of the authorization server', () => {
  it('lets the same browser through without logging in again, until the password changes', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps);
    const first = await authorize(t.app, client, user, { challenge: pkcePair().challenge });
    expect(first).toMatchObject({ sawLogin: true, sawConsent: true });
    expect(first.code).toBeTruthy();
    const again = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser: first.browser });
    expect(again).toMatchObject({ sawLogin: false, sawConsent: false });
    expect(again.code).toBeTruthy();

    await setPassword(t.deps, user.username, 'a brand new password');
    const afterChange = await authorize(t.app, client, { ...user, password: 'a brand new password' }, { challenge: pkcePair().challenge, browser: first.browser });
    expect(afterChange.sawLogin).toBe(true);
    expect(afterChange.code).toBeTruthy();
  });
});

describe('authorised applications on the settings page', () => {
  it('lists what the user allowed, and Revoke ends the tokens and the grant', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps, { name: 'Registry <UI>' });
    const other = await makeClient(t.deps, { name: 'Not allowed' });
    const { verifier, challenge } = pkcePair();
    const { code } = await authorize(t.app, client, user, { challenge, scope: 'profile_read email_write' });
    const tokens = await redeem(t.app, client, code!, verifier);
    expect(tokens.status).toBe(200);
    const api = () => t.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization: bearer(String(tokens.body.access_token)) } });
    expect((await api()).statusCode).toBe(200);

    const browser = browserFor(t.app);
    expect((await browser.login(user.username, user.password)).statusCode).toBe(303);
    const page = await browser.get('/account/');
    expect(page.statusCode).toBe(200);
    const section = page.body.slice(page.body.indexOf('id="apps-h"'), page.body.indexOf('id="password-h"'));
    expect(section).toContain('<strong>Registry &#60;UI&#62;</strong>'); // escaped (src/web/html.ts)
    expect(section).not.toContain('<UI>');
    expect(section).toContain('email_write, profile_read');
    expect(section).not.toContain('Not allowed');
    expect(section).toContain(`name="client_id" value="${client.client_id}"`);

    // Someone else's client, or one never allowed: nothing to revoke.
    const notAllowed = await browser.post('/account/applications/revoke', { client_id: other.client_id });
    expect(notAllowed.statusCode).toBe(404);
    expect(notAllowed.body).toContain('has not authorised a client');
    // A forged form is refused.
    expect((await browser.post('/account/applications/revoke', { client_id: client.client_id }, { csrf: 'x'.repeat(43) })).statusCode).toBe(403);
    expect((await api()).statusCode).toBe(200);

    const revoked = await browser.post('/account/applications/revoke', { client_id: client.client_id });
    expect(revoked.statusCode).toBe(303);
    expect(revoked.headers.location).toBe('/account/?done=application_revoked');
    expect((await api()).statusCode).toBe(401);
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/v1.1/o/token/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token), client_id: client.client_id, client_secret: client.client_secret! }).toString(),
    });
    expect(refresh.statusCode).toBe(400);
    expect(refresh.json()).toMatchObject({ error: 'invalid_grant' });

    const after = await browser.get('/account/?done=application_revoked');
    expect(after.body).toContain('The application’s access was revoked.');
    expect(after.body).toContain('No applications.');
    const events = await listAuditEvents(t.deps, user.username);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['oauth_grant', 'oauth_revoked']));
    expect(events.find((e) => e.event === 'oauth_revoked')).toMatchObject({ actor: 'self', detail: { client_id: client.client_id } });
  });
});

describe('metrics of the authorization server', () => {
  it('counts token answers by grant type and errors by endpoint and code, and the requests by route', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps);
    const { verifier, challenge } = pkcePair();
    const { code } = await authorize(t.app, client, user, { challenge });
    expect((await redeem(t.app, client, code!, verifier)).status).toBe(200);
    expect((await redeem(t.app, client, code!, verifier)).status).toBe(400); // reused: invalid_grant
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/accounts_oauth_token_responses_total\{grant_type="authorization_code"\} [1-9]/);
    expect(metrics).toMatch(/accounts_oauth_errors_total\{endpoint="token",error="invalid_grant"\} [1-9]/);
    expect(metrics).toMatch(/accounts_http_requests_total\{method="POST",route="\/api\/v1\.1\/o\/token\/",status="200"\} [1-9]/);
  });
});


describe('what the authorization server stores and refuses', () => {
  it('never stores the login session cookie (its id), in a sign-in waiting for consent or anywhere else', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps);
    const browser = browserFor(t.app);
    const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    // Up to the consent page: the sign-in (Interaction) now names the login session.
    let res = await browser.get(`/api/v1.1/o/authorize/?${query}`);
    res = await browser.get(String(res.headers.location));
    res = await browser.post(/action="([^"]+\/login)"/.exec(res.body)![1]!, { username: user.username, password: user.password });
    for (let i = 0; i < 3 && res.statusCode === 303; i++) res = await browser.get(new URL(String(res.headers.location), 'http://x').pathname);
    expect(res.body).toContain('/consent');
    const session = browser.cookies.get('_session');
    expect(session).toBeTruthy();
    const rows = await t.store.db.selectFrom('oauth_artifacts').select(['model', 'id', 'payload']).execute();
    const waiting = rows.filter((r) => r.model === 'Interaction' && r.payload.includes(`"accountId":"${user.id}"`));
    expect(waiting.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.payload, row.model).not.toContain(session!);
      expect(row.id, row.model).not.toBe(session);
    }
  });

  it('two redemptions of one code at once: one gets tokens, the other invalid_grant, and the grant is revoked', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps);
    const { verifier, challenge } = pkcePair();
    const { code } = await authorize(t.app, client, user, { challenge });
    const answers = await Promise.all([redeem(t.app, client, code!, verifier), redeem(t.app, client, code!, verifier)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
    const winner = answers.find((a) => a.status === 200)!;
    expect(answers.find((a) => a.status === 400)!.body).toMatchObject({ error: 'invalid_grant' });
    const api = await t.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization: bearer(String(winner.body.access_token)) } });
    expect(api.statusCode).toBe(401);
    // The trail says the authorization server revoked it.
    const revoked = (await listAuditEvents(t.deps, user.username)).filter((e) => e.event === 'oauth_revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ actor: 'system', detail: { client_id: client.client_id, reason: 'revoked by the authorization server' } });
  });

  it('a replayed refresh token: the grant is revoked, and the audit trail records it', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps);
    const { verifier, challenge } = pkcePair();
    const { code } = await authorize(t.app, client, user, { challenge });
    const tokens = await redeem(t.app, client, code!, verifier);
    const refresh = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1.1/o/token/',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token), client_id: client.client_id, client_secret: client.client_secret! }).toString(),
      });
    expect((await refresh()).statusCode).toBe(200);
    const replay = await refresh();
    expect(replay.json()).toMatchObject({ error: 'invalid_grant' });
    const revoked = (await listAuditEvents(t.deps, user.username)).filter((e) => e.event === 'oauth_revoked');
    expect(revoked).toEqual([expect.objectContaining({ actor: 'system', detail: { client_id: client.client_id, reason: 'revoked by the authorization server' } })]);
  });

  it('refuses a repeated parameter in a token request, a POST to the authorization endpoint, and lets no cache keep a revocation answer', async () => {
    const client = await makeClient(t.deps);
    const form = (body: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1.1/o/token/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
    const repeated = await form(`grant_type=refresh_token&grant_type=code&refresh_token=x&client_id=${client.client_id}&client_secret=${client.client_secret}`);
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json()).toEqual({ error: 'invalid_request', error_description: 'grant_type must not be repeated' });
    const twoSecrets = await form(`grant_type=refresh_token&refresh_token=x&client_id=${client.client_id}&client_secret=a&client_secret=${client.client_secret}`);
    expect(twoSecrets.json()).toMatchObject({ error: 'invalid_request' });

    const post = await t.app.inject({ method: 'POST', url: '/api/v1.1/o/authorize/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `client_id=${client.client_id}` });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');

    const revoke = await t.app.inject({
      method: 'POST',
      url: '/api/v1.1/o/revoke/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=unknown&client_id=${client.client_id}&client_secret=${client.client_secret}`,
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.headers['cache-control']).toBe('no-store');
  });
});
