// The settings page's "Authorised applications": the applications the user
// allowed, through the real authorization flow, and revoking one ends its tokens at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listUserAuditEvents } from '../../src/users/users.service.ts';
import { bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';
import { browserFor } from '../support/inject-browser.ts';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t?.close();
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
    const events = await listUserAuditEvents(t.deps, user.username);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['oauth_grant', 'oauth_revoked']));
    expect(events.find((e) => e.event === 'oauth_revoked')).toMatchObject({ actor: 'self', detail: { client_id: client.client_id } });
  });
});
