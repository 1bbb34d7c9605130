// The whole OAuth flow against a running `accounts serve`, with a real OAuth
// client library (openid-client) and a real browser (headless Chromium through playwright-core):
// authorize (login page, consent page), redeem, call the API, refresh with rotation and a narrower
// scope, replay a refresh token, revoke, introspect, read the metadata, OpenID Connect; Deny; a
// second authorization; failed logins on the login page counting toward the Basic auth limit.
// Runs on each store (the sqlite and postgres vitest projects).
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic } from '../support/app.ts';
import {
  DEFAULT_SCOPE,
  api,
  authorizationRequest,
  authorizeInBrowser,
  clickAndWait,
  cliCreateClient,
  cliCreateUser,
  cliGrants,
  oauthFailure,
  openBrowserSession,
  post,
  redeem,
  relyingParty,
  startOAuthScenario,
  submitLogin,
  type AuthorizationRequest,
  type BrowserSession,
  type CallbackServer,
  type OAuthScenario,
  type OAuthServer,
  type RegisteredClient,
  type Relying,
  type TestUser,
} from './helpers.ts';

const APP_NAME = 'Registry Front End';
const MAX_FAILURES = 3;

let scenario: OAuthScenario | undefined;
let server: OAuthServer;
let callback: CallbackServer;
let chromium: Browser;
let client: RegisteredClient;
let rp: Relying;

beforeAll(async () => {
  scenario = await startOAuthScenario({ LOGIN_MAX_FAILURES: String(MAX_FAILURES) });
  ({ server, callback, browser: chromium } = scenario);
  client = await cliCreateClient(server.env, APP_NAME, [callback.uri]);
  rp = await relyingParty(server.issuer, client);
});

afterAll(() => scenario?.close());

const tokenEndpoint = () => `${server.issuer}/api/v1.1/o/token/`;

/** The last exchange openid-client had with an endpoint, raw. */
function lastExchange(relying: Relying, path: string) {
  const exchange = relying.exchanges.findLast((e) => e.url === `${server.issuer}${path}`);
  expect(exchange, `openid-client called ${path}`).toBeDefined();
  return exchange!;
}

describe('authorize in Chromium, redeem with openid-client, call the API, refresh, replay, revoke, introspect', () => {
  let jane: TestUser;
  let browserSession: BrowserSession;
  let first: AuthorizationRequest;
  let firstCallback: URL;
  let tokens: Awaited<ReturnType<typeof redeem>>;
  let second: Awaited<ReturnType<typeof redeem>>;
  /** Tokens of the grant made in another browser: revoked below. */
  let other: Awaited<ReturnType<typeof redeem>>;

  beforeAll(async () => {
    jane = await cliCreateUser(server.env, 'janedoe');
    browserSession = await openBrowserSession(chromium);
  });
  afterAll(async () => {
    await browserSession?.close();
  });

  it('shows the login page (a wrong password is refused there), then the consent page naming the application and each scope in plain words; Allow sends the browser to the redirect URI with a code and the state', async () => {
    const { page } = browserSession;
    first = await authorizationRequest(rp.config, callback.uri);
    expect(first.url.origin + first.url.pathname).toBe(`${server.issuer}/api/v1.1/o/authorize/`);

    const opened = await page.goto(first.url.href);
    expect(opened?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toMatch(/^\/api\/v1\.1\/o\/interaction\/[\w-]+\/$/);
    expect(await page.title()).toBe('Log in');
    expect(await page.locator('#client-name').innerText()).toBe(APP_NAME);
    // The inputs are labelled, and named username and password.
    expect(await page.getByLabel('Username').getAttribute('name')).toBe('username');
    expect(await page.getByLabel('Password').getAttribute('name')).toBe('password');

    await page.getByLabel('Username').fill('janedoe');
    await page.getByLabel('Password').fill('not the password');
    expect(await clickAndWait(page, 'Log in')).toBe(401);
    expect(await page.locator('#login-error').innerText()).toBe('The username or password is not right.');
    expect(await page.getByLabel('Username').inputValue()).toBe('janedoe');

    await page.getByLabel('Password').fill(jane.password);
    expect(await clickAndWait(page, 'Log in')).toBe(200);

    // The consent page.
    expect(await page.title()).toBe(`Allow ${APP_NAME}?`);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(`Allow ${APP_NAME} to use your account?`);
    expect(await page.locator('#who').innerText()).toBe('janedoe');
    const scopes = await page.locator('#scopes li').allInnerTexts();
    expect(scopes).toHaveLength(2);
    expect(scopes[0]).toMatch(/^See your profile: .*\(profile_read\)$/);
    expect(scopes[1]).toMatch(/^See your email addresses and which of them are verified\. \(email_read\)$/);
    expect(await page.getByRole('button', { name: 'Allow', exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Deny', exact: true }).isVisible()).toBe(true);
    expect(callback.received.some((u) => u.searchParams.get('state') === first.state)).toBe(false);

    expect(await clickAndWait(page, 'Allow')).toBe(200);
    firstCallback = await callback.waitFor(first.state);
    expect(page.url()).toBe(firstCallback.href);
    expect(firstCallback.origin + firstCallback.pathname).toBe(callback.uri);
    expect(firstCallback.searchParams.get('code')).toMatch(/^[\w-]{20,}$/);
    expect(firstCallback.searchParams.get('state')).toBe(first.state);
    expect(firstCallback.searchParams.get('iss')).toBe(server.issuer); // RFC 9207
    expect(browserSession.cspViolations, 'a page breaks its own Content-Security-Policy').toEqual([]);
  });

  it('redeems the code: the docker.io fields beside the standard ones, Bearer, 3600 s, the scopes, Cache-Control: no-store', async () => {
    tokens = await redeem(rp.config, first, firstCallback);
    const exchange = lastExchange(rp, '/api/v1.1/o/token/');
    expect(exchange.requestHeaders.authorization).toMatch(/^Basic /);
    expect(exchange.status).toBe(200);
    expect(exchange.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(exchange.body)).toEqual({
      username: 'janedoe',
      user_id: jane.id,
      access_token: expect.stringMatching(/^[\w-]{43}$/),
      refresh_token: expect.stringMatching(/^[\w-]{43}$/),
      expires_in: 3600,
      token_type: 'Bearer',
      scope: DEFAULT_SCOPE,
    });
    expect(tokens.access_token).toBe(JSON.parse(exchange.body).access_token);
    expect(tokens.id_token).toBeUndefined(); // no openid scope, no ID token
  });

  it('the API accepts the access token with exactly its scopes: reads yes, writes 403 insufficient_scope', async () => {
    const profile = await api(server.issuer, 'janedoe/', tokens.access_token);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ id: jane.id, username: 'janedoe' });
    const emails = await api(server.issuer, 'janedoe/emails/', tokens.access_token);
    expect(emails.status).toBe(200);
    expect(emails.body).toEqual([{ email: 'janedoe@example.com', verified: true, primary: true }]);

    const patch = await api(server.issuer, 'janedoe/', tokens.access_token, { method: 'PATCH', body: { full_name: 'Jane Doe' } });
    expect(patch.status).toBe(403);
    expect(patch.body).toMatchObject({ code: 'insufficient_scope' });
    expect(patch.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const add = await api(server.issuer, 'janedoe/emails/', tokens.access_token, { method: 'POST', body: { email: 'jane.2@example.com' } });
    expect(add.status).toBe(403);
    // Nothing was changed.
    expect((await api(server.issuer, 'janedoe/', tokens.access_token)).body).toMatchObject({ full_name: '' });
  });

  it('a second authorization in the same browser, for the same scopes, shows neither page: straight back to the redirect URI (and without `scope` the docker.io default applies)', async () => {
    const { page } = browserSession;
    const request = await authorizationRequest(rp.config, callback.uri, { scope: undefined });
    expect(request.url.searchParams.has('scope')).toBe(false);
    const result = await authorizeInBrowser(page, callback, request, jane);
    expect(result).toMatchObject({ sawLogin: false, sawConsent: false });
    second = await redeem(rp.config, request, result.callback);
    expect(second.scope).toBe(DEFAULT_SCOPE);
    expect((await api(server.issuer, 'janedoe/emails/', second.access_token)).status).toBe(200);
  });

  it('a new browser (no login session) is asked to log in, and then to consent again (as the docker.io flow did); each consent is its own grant', async () => {
    const fresh = await openBrowserSession(chromium);
    try {
      const request = await authorizationRequest(rp.config, callback.uri);
      const result = await authorizeInBrowser(fresh.page, callback, request, jane);
      expect(result).toMatchObject({ sawLogin: true, sawConsent: true });
      other = await redeem(rp.config, request, result.callback);
      expect((await api(server.issuer, 'janedoe/', other.access_token)).status).toBe(200);
      expect(fresh.cspViolations).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('introspection (RFC 7662, client authenticated) tells the token is active, with its scope, client and subject; after revocation (RFC 7009) it is not, and the API refuses it', async () => {
    const before = await oidc.tokenIntrospection(rp.config, other.access_token);
    expect(lastExchange(rp, '/api/v1.1/o/introspect/').requestHeaders.authorization).toMatch(/^Basic /);
    expect(before).toMatchObject({
      active: true,
      scope: DEFAULT_SCOPE,
      client_id: client.client_id,
      sub: String(jane.id),
      iss: server.issuer,
      aud: `${server.issuer}/api/v1.1/`,
      token_type: 'Bearer',
    });
    expect(before.exp! - before.iat!).toBe(3600);
    expect(await oidc.tokenIntrospection(rp.config, other.refresh_token!)).toMatchObject({ active: true, client_id: client.client_id, sub: String(jane.id) });

    // Without client authentication, introspection is refused (an RFC 6749 error, nothing about the token).
    const anonymous = await post(`${server.issuer}/api/v1.1/o/introspect/`, { token: other.access_token });
    expect([400, 401]).toContain(anonymous.status);
    expect(anonymous.body).toEqual({ error: expect.stringMatching(/^invalid_(request|client)$/), error_description: expect.any(String) });

    await oidc.tokenRevocation(rp.config, other.access_token);
    expect(lastExchange(rp, '/api/v1.1/o/revoke/').status).toBe(200);
    expect((await api(server.issuer, 'janedoe/', other.access_token)).status).toBe(401);
    expect(await oidc.tokenIntrospection(rp.config, other.access_token)).toEqual({ active: false });
    // RFC 7009 §2.2: revoking a token again (or an unknown one) is not an error.
    await oidc.tokenRevocation(rp.config, other.access_token);
    expect(lastExchange(rp, '/api/v1.1/o/revoke/').status).toBe(200);
    // The provider revokes every token of that grant with it (RFC 7009 §2.1 allows it): its refresh
    // token too. The user's other grant to the same client, made in the first browser, is untouched.
    expect(await oauthFailure(oidc.refreshTokenGrant(rp.config, other.refresh_token!))).toEqual({ error: 'invalid_grant', status: 400 });
    expect((await api(server.issuer, 'janedoe/', tokens.access_token)).status).toBe(200);
    expect((await api(server.issuer, 'janedoe/', second.access_token)).status).toBe(200);
  });

  let refreshed: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;

  it('a refresh rotates the refresh token and may narrow the scope', async () => {
    refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!, { scope: 'profile_read' });
    const exchange = lastExchange(rp, '/api/v1.1/o/token/');
    expect(exchange.status).toBe(200);
    expect(exchange.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(exchange.body)).toMatchObject({ username: 'janedoe', user_id: jane.id, token_type: 'Bearer', expires_in: 3600, scope: 'profile_read' });
    expect(refreshed.refresh_token).toMatch(/^[\w-]{43}$/);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    expect((await api(server.issuer, 'janedoe/', refreshed.access_token)).status).toBe(200);
    const emails = await api(server.issuer, 'janedoe/emails/', refreshed.access_token);
    expect(emails.status).toBe(403);
    expect(emails.body).toMatchObject({ code: 'insufficient_scope' });
  });

  it('replaying the used refresh token fails with invalid_grant and revokes the whole grant: its newest access token is refused, its refresh token fails, and the next authorization asks for consent again', async () => {
    expect(await oauthFailure(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!))).toEqual({ error: 'invalid_grant', status: 400 });
    expect(lastExchange(rp, '/api/v1.1/o/token/').headers.get('cache-control')).toBe('no-store');

    expect((await api(server.issuer, 'janedoe/', refreshed.access_token)).status).toBe(401);
    expect((await api(server.issuer, 'janedoe/', tokens.access_token)).status).toBe(401);
    expect(await oauthFailure(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!))).toEqual({ error: 'invalid_grant', status: 400 });
    expect(await oidc.tokenIntrospection(rp.config, refreshed.access_token)).toEqual({ active: false });

    // Still logged in, but the grant is gone: the consent page again, not the login page.
    const request = await authorizationRequest(rp.config, callback.uri);
    const result = await authorizeInBrowser(browserSession.page, callback, request, jane);
    expect(result).toMatchObject({ sawLogin: false, sawConsent: true });
    expect((await redeem(rp.config, request, result.callback)).scope).toBe(DEFAULT_SCOPE);
  });
});

describe('Deny', () => {
  it('sends error=access_denied and the state to the redirect URI; no code, no grant', async () => {
    const denier = await cliCreateUser(server.env, 'denier');
    const session = await openBrowserSession(chromium);
    try {
      const request = await authorizationRequest(rp.config, callback.uri);
      const result = await authorizeInBrowser(session.page, callback, request, denier, 'Deny');
      expect(result).toMatchObject({ sawLogin: true, sawConsent: true });
      expect(Object.fromEntries(result.callback.searchParams)).toEqual({
        error: 'access_denied',
        error_description: expect.any(String),
        state: request.state,
        iss: server.issuer,
      });
      const failure = await oauthFailure(redeem(rp.config, request, result.callback));
      expect(failure.error).toBe('access_denied');
      expect(await cliGrants(server.env, 'denier')).toEqual([]);
    } finally {
      await session.close();
    }
  });
});

describe('OpenID Connect, for clients that ask for `openid`', () => {
  let user: TestUser;
  let session: BrowserSession;
  let signedIn: Awaited<ReturnType<typeof redeem>>;
  let oidcRp: Relying;

  beforeAll(async () => {
    user = await cliCreateUser(server.env, 'oidcuser');
    session = await openBrowserSession(chromium);
    oidcRp = await relyingParty(server.issuer, client, { verifySignatures: true });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('issues an ID token that openid-client verifies (signature, issuer, audience, nonce), with sub, preferred_username (profile) and email (email)', async () => {
    const nonce = oidc.randomNonce();
    const request = await authorizationRequest(oidcRp.config, callback.uri, { scope: 'openid profile email', nonce });
    await session.page.goto(request.url.href);
    expect(await submitLogin(session.page, user.username, user.password)).toBe(200);
    const scopes = await session.page.locator('#scopes li').allInnerTexts();
    expect(scopes.map((s) => /\((\w+)\)$/.exec(s)?.[1])).toEqual(['openid', 'profile', 'email']);
    expect(scopes[0]).toContain('Sign you in');
    expect(await clickAndWait(session.page, 'Allow')).toBe(200);
    signedIn = await redeem(oidcRp.config, request, await callback.waitFor(request.state));

    expect(signedIn.id_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // The signature was checked against the jwks_uri: openid-client fetched it.
    expect(oidcRp.exchanges.some((e) => e.url === `${server.issuer}/api/v1.1/o/jwks/` && e.status === 200)).toBe(true);
    expect(signedIn.claims()).toMatchObject({
      iss: server.issuer,
      aud: client.client_id,
      sub: String(user.id),
      nonce,
      preferred_username: 'oidcuser',
      email: 'oidcuser@example.com',
      email_verified: true,
    });
  });

  it('an ID token carries only the claims its scopes allow', async () => {
    const nonce = oidc.randomNonce();
    const request = await authorizationRequest(oidcRp.config, callback.uri, { scope: 'openid email', nonce });
    const result = await authorizeInBrowser(session.page, callback, request, user);
    expect(result).toMatchObject({ sawLogin: false, sawConsent: false }); // a subset of what was allowed
    const claims = (await redeem(oidcRp.config, request, result.callback)).claims()!;
    expect(claims).toMatchObject({ sub: String(user.id), email: 'oidcuser@example.com' });
    expect(claims).not.toHaveProperty('preferred_username');
  });

  it('the access token of a sign-in is for the userinfo endpoint: its scope is the OpenID scopes, and userinfo answers it', async () => {
    expect(signedIn.scope).toBe('openid profile email');
    const raw = await fetch(`${server.issuer}/api/v1.1/o/userinfo/`, { headers: { authorization: `Bearer ${signedIn.access_token}` } });
    expect(raw.status, `userinfo said: ${raw.headers.get('www-authenticate')}`).toBe(200);
    const info = await oidc.fetchUserInfo(oidcRp.config, signedIn.access_token, String(user.id));
    expect(info).toMatchObject({ sub: String(user.id), preferred_username: 'oidcuser', email: 'oidcuser@example.com' });
  });
});

describe('metadata', () => {
  it('RFC 8414 at /.well-known/oauth-authorization-server and OpenID discovery: the issuer is PUBLIC_URL, the v1.1 endpoints, S256 and code only', async () => {
    const response = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const metadata = (await response.json()) as Record<string, unknown>;
    const v11 = `${server.issuer}/api/v1.1/o`;
    expect(metadata).toMatchObject({
      issuer: server.issuer,
      authorization_endpoint: `${v11}/authorize/`,
      token_endpoint: `${v11}/token/`,
      revocation_endpoint: `${v11}/revoke/`,
      introspection_endpoint: `${v11}/introspect/`,
      userinfo_endpoint: `${v11}/userinfo/`,
      jwks_uri: `${v11}/jwks/`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    });
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    expect(metadata.grant_types_supported).not.toContain('password');
    expect(metadata.grant_types_supported).not.toContain('implicit');
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'none']));

    const openid = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    expect(openid.status).toBe(200);
    expect(await openid.json()).toEqual(metadata);
  });

  it('openid-client discovers the server by either document', async () => {
    const byRfc8414 = await relyingParty(server.issuer, client, { algorithm: 'oauth2' });
    expect(byRfc8414.exchanges[0]?.url).toBe(`${server.issuer}/.well-known/oauth-authorization-server`);
    expect(byRfc8414.config.serverMetadata().issuer).toBe(server.issuer);
    expect(rp.exchanges[0]?.url).toBe(`${server.issuer}/.well-known/openid-configuration`);
    expect(rp.config.serverMetadata().token_endpoint).toBe(tokenEndpoint());
  });
});

describe(`failed logins on the login page count toward the per-account limit of HTTP Basic (LOGIN_MAX_FAILURES=${MAX_FAILURES})`, () => {
  // The first wait after the limit is one second (src/auth/login-throttle.ts): each check below
  // is made right after the last failure.
  it(`after ${MAX_FAILURES} failures on the login page, Basic auth with the right password gets 429`, async () => {
    const user = await cliCreateUser(server.env, 'lockedpage');
    const session = await openBrowserSession(chromium);
    try {
      const request = await authorizationRequest(rp.config, callback.uri);
      await session.page.goto(request.url.href);
      for (let i = 0; i < MAX_FAILURES; i++) expect(await submitLogin(session.page, 'lockedpage', `wrong password ${i}`)).toBe(401);
      const response = await fetch(`${server.issuer}/api/v1.1/users/lockedpage/`, { headers: { authorization: basic('lockedpage', user.password) } });
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await session.close();
    }
  });

  it(`after ${MAX_FAILURES} Basic auth failures, the login page refuses the right password with 429 and says why`, async () => {
    const user = await cliCreateUser(server.env, 'lockedbasic');
    const session = await openBrowserSession(chromium);
    try {
      const request = await authorizationRequest(rp.config, callback.uri);
      await session.page.goto(request.url.href);
      await session.page.getByLabel('Username').fill('lockedbasic');
      await session.page.getByLabel('Password').fill(user.password);
      for (let i = 0; i < MAX_FAILURES; i++) {
        const response = await fetch(`${server.issuer}/api/v1.1/users/lockedbasic/`, { headers: { authorization: basic('lockedbasic', `wrong password ${i}`) } });
        expect(response.status).toBe(401);
      }
      expect(await clickAndWait(session.page, 'Log in')).toBe(429);
      expect(await session.page.locator('#login-error').innerText()).toMatch(/^Too many failed attempts\. Wait \d+ seconds?, then try again\.$/);
      expect(callback.received.some((u) => u.searchParams.get('state') === request.state)).toBe(false);
    } finally {
      await session.close();
    }
  });
});

it('logged no error', () => {
  expect(server.server.output()).not.toMatch(/"level":(50|60)/);
});

