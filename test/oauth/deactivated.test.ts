// A deactivated account's OAuth access ends everywhere at once: the API (tested with the flow),
// introspection, userinfo, the refresh grant, and a browser still signed in as that account.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setActive } from '../../src/users/users.service.ts';
import { bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';

let t: TestApp;
let client: Awaited<ReturnType<typeof makeClient>>;

beforeAll(async () => {
  t = await buildTestApp();
  client = await makeClient(t.deps);
});
afterAll(() => t?.close());

const basicOf = (c: { client_id: string; client_secret?: string }) => `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`;

function postForm(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicOf(client) },
    payload: new URLSearchParams(form).toString(),
  });
}

/** A user who allowed the client `scope`, and the tokens the code gave. */
async function signedInUser(scope?: string) {
  const user = await makeUser(t.deps);
  const { verifier, challenge } = pkcePair();
  const flow = await authorize(t.app, client, user, { challenge, ...(scope !== undefined ? { scope } : {}) });
  const tokens = await redeem(t.app, client, flow.code!, verifier);
  expect(tokens.status).toBe(200);
  return { user, browser: flow.browser, access: String(tokens.body.access_token), refresh: String(tokens.body.refresh_token) };
}

describe("a deactivated user's OAuth tokens", () => {
  it('introspection says a deactivated user\'s access and refresh tokens are inactive (it said {"active": true})', async () => {
    const { user, access, refresh } = await signedInUser();
    const introspect = (token: string) => postForm('/api/v1.1/o/introspect/', { token });
    expect((await introspect(access)).json()).toMatchObject({ active: true, sub: String(user.id) });

    await setActive(t.deps, user.username, false);
    expect((await t.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization: bearer(access) } })).statusCode).toBe(401);
    for (const token of [access, refresh]) {
      const res = await introspect(token);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ active: false });
    }

    // Active again: what was granted works again (deactivation suspends, it does not revoke).
    await setActive(t.deps, user.username, true);
    expect((await introspect(access)).json()).toMatchObject({ active: true });
  });

  it('userinfo refuses a deactivated user\'s sign-in token with 401 invalid_token', async () => {
    const { user, access } = await signedInUser('openid profile');
    const userinfo = () => t.app.inject({ url: '/api/v1.1/o/userinfo/', headers: { authorization: bearer(access) } });
    expect((await userinfo()).statusCode).toBe(200);

    await setActive(t.deps, user.username, false);
    const res = await userinfo();
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it("the refresh grant refuses a deactivated user's refresh token with invalid_grant", async () => {
    const { user, refresh } = await signedInUser();
    await setActive(t.deps, user.username, false);
    const res = await postForm('/api/v1.1/o/token/', { grant_type: 'refresh_token', refresh_token: refresh });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('a browser still signed in as a since-deactivated user', () => {
  it('gets the login page from /authorize, not a 500 (TypeError reading getOIDCScopeEncountered), and its stale sign-in is ended', async () => {
    const { user, browser } = await signedInUser();
    const sessionRows = () =>
      t.store.db.selectFrom('oauth_artifacts').select('id').where('model', '=', 'Session').where('account_id', '=', String(user.id)).execute();
    expect(await sessionRows()).toHaveLength(1);

    await setActive(t.deps, user.username, false);
    const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, state: 'again', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    const res = await browser.get(`/api/v1.1/o/authorize/?${query}`);
    expect(res.statusCode, res.body).toBe(303);
    const page = await browser.get(String(res.headers.location));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('name="password"');
    expect(await sessionRows()).toEqual([]);

    // Someone else can sign in from this browser now.
    const other = await makeUser(t.deps);
    const action = /<form method="post" action="([^"]+\/login)"/.exec(page.body)![1]!;
    let next = await browser.post(action, { username: other.username, password: other.password });
    for (let i = 0; i < 3 && next.statusCode === 303 && !String(next.headers.location).startsWith(client.redirectUri); i++) next = await browser.get(String(next.headers.location));
    expect(next.statusCode, next.body).toBe(200);
    expect(next.body).toContain(`<strong id="who">${other.username}</strong>`);
  });
});
