// One sign-in for the browser: signing in as someone else on the OAuth login page replaces the
// authorization server's sign-in, OpenID RP-initiated logout is served, and logging out of the
// account page ends the authorization server's sign-in of that browser too.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';
import type { Browser } from '../support/inject-browser.ts';

let t: TestApp;
let client: Awaited<ReturnType<typeof makeClient>>;

beforeAll(async () => {
  t = await buildTestApp();
  client = await makeClient(t.deps);
});
afterAll(() => t?.close());

const sessionsOf = (userId: number) =>
  t.store.db.selectFrom('oauth_artifacts').select('id').where('model', '=', 'Session').where('account_id', '=', String(userId)).execute();

function authorizeUrl(extra: Record<string, string> = {}): { url: string; verifier: string } {
  const { verifier, challenge } = pkcePair();
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: client.redirectUri, state: 's', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
  return { url: `/api/v1.1/o/authorize/?${query}`, verifier };
}

/** Follows this service's redirects until a page, or a redirect to the client. */
async function follow(browser: Browser, res: LightMyRequestResponse): Promise<LightMyRequestResponse> {
  for (let i = 0; i < 6 && res.statusCode === 303; i++) {
    const location = new URL(String(res.headers.location), t.config.publicUrl);
    if (location.origin !== t.config.publicUrl) break;
    res = await browser.get(location.pathname + location.search);
  }
  return res;
}

function formAction(page: LightMyRequestResponse, ending: string): string {
  const action = [...page.body.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]!).find((a) => a.endsWith(ending));
  if (!action) throw new Error(`no form posting to …${ending}:\n${page.body}`);
  return action.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))); // the attribute's escapes
}

describe('switching user with prompt=login', () => {
  it('signing in as another user replaces the sign-in (it ended on a page posting to /session/end/confirm, a 404)', async () => {
    const alice = await makeUser(t.deps);
    const bobby = await makeUser(t.deps);
    const { browser } = await authorize(t.app, client, alice, { challenge: pkcePair().challenge });
    expect(await sessionsOf(alice.id)).toHaveLength(1);

    const request = authorizeUrl({ prompt: 'login' });
    const login = await follow(browser, await browser.get(request.url));
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('name="password"');
    const consent = await follow(browser, await browser.post(formAction(login, '/login'), { username: bobby.username, password: bobby.password }));
    expect(consent.statusCode, consent.body).toBe(200);
    expect(consent.body).not.toContain('session/end');
    expect(consent.body).toContain(`<strong id="who">${bobby.username}</strong>`);

    const back = await browser.post(formAction(consent, '/consent'), { decision: 'allow' });
    const callback = await follow(browser, back);
    expect(callback.statusCode, callback.body).toBe(303);
    expect(String(callback.headers.location)).toMatch(new RegExp(`^${client.redirectUri}\\?code=`));
    const code = new URL(String(callback.headers.location)).searchParams.get('code')!;
    expect((await redeem(t.app, client, code, request.verifier)).body).toMatchObject({ username: bobby.username });
    // Alice's sign-in is over; this browser is Bobby's now.
    expect(await sessionsOf(alice.id)).toEqual([]);
    expect(await sessionsOf(bobby.id)).toHaveLength(1);
    const again = await authorize(t.app, client, bobby, { challenge: pkcePair().challenge, browser });
    expect(again).toMatchObject({ sawLogin: false, sawConsent: false });
  });
});

describe('OpenID RP-initiated logout', () => {
  it('is served at /api/v1.1/o/session/end/ and advertised (it was not served at all)', async () => {
    const metadata = (await t.app.inject({ url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>;
    expect(metadata.end_session_endpoint).toBe(`${t.config.publicUrl}/api/v1.1/o/session/end/`);

    const user = await makeUser(t.deps);
    const { browser } = await authorize(t.app, client, user, { challenge: pkcePair().challenge });
    expect((await browser.login(user.username, user.password)).statusCode).toBe(303);
    expect((await browser.get('/account/')).statusCode).toBe(200);

    const query = new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: client.redirectUri, state: 'bye' });
    const page = await browser.get(`/api/v1.1/o/session/end/?${query}`);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['content-security-policy']).toMatch(/form-action 'self' https:\/\/app\.example\.test;/);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.body).toContain(user.username);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(xsrf).toBeTruthy();

    const confirmed = await browser.post(formAction(page, '/session/end/confirm'), { xsrf: xsrf!, logout: 'yes' }, { csrf: null });
    expect(confirmed.statusCode, confirmed.body).toBe(303);
    expect(confirmed.headers.location).toBe(`${client.redirectUri}?state=bye`);

    expect(await sessionsOf(user.id)).toEqual([]);
    const again = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser });
    expect(again.sawLogin).toBe(true);
    // The account page's sign-in of that user is over too (see docs/explanation/decisions.md).
    const account = await browser.get('/account/');
    expect(account.statusCode).toBe(303);
    expect(account.headers.location).toBe('/account/login');
  });

  it('without a known client, says the user is signed out on a page of its own', async () => {
    const user = await makeUser(t.deps);
    const { browser } = await authorize(t.app, client, user, { challenge: pkcePair().challenge });
    const page = await browser.get('/api/v1.1/o/session/end/');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)![1]!;
    const confirmed = await browser.post(formAction(page, '/session/end/confirm'), { xsrf, logout: 'yes' }, { csrf: null });
    expect(confirmed.statusCode).toBe(303);
    const done = await browser.get(String(confirmed.headers.location));
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('You are signed out');
    expect(done.headers['content-security-policy']).toContain("default-src 'none'");
    expect(await sessionsOf(user.id)).toEqual([]);
  });

  it('refuses a post_logout_redirect_uri the client did not register, on an error page', async () => {
    const user = await makeUser(t.deps);
    const { browser } = await authorize(t.app, client, user, { challenge: pkcePair().challenge });
    const query = new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: 'https://evil.example/' });
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const page = await t.app.inject({ url: `/api/v1.1/o/session/end/?${query}`, headers: { cookie, accept: 'text/html' } });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('post_logout_redirect_uri');
    expect(await sessionsOf(user.id)).toHaveLength(1);
  });
});

describe('logging out of the account page', () => {
  it('ends the authorization server sign-in of that browser too (it lasted 12 hours)', async () => {
    const user = await makeUser(t.deps);
    const first = await authorize(t.app, client, user, { challenge: pkcePair().challenge });
    const { browser } = first;
    expect((await browser.login(user.username, user.password)).statusCode).toBe(303);
    await browser.get('/account/');
    const out = await browser.post('/account/logout', {});
    expect(out.statusCode).toBe(303);
    expect(await sessionsOf(user.id)).toEqual([]);

    const again = await authorize(t.app, client, user, { challenge: pkcePair().challenge, browser });
    expect(again.sawLogin).toBe(true);
  });
});
