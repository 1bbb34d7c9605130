// Every refusal of the authorization server, against a running `accounts
// serve`, with openid-client (and plain fetch where a client library would not even send the
// request) and codes obtained in headless Chromium: wrong redirect URI, unknown client, missing
// or `plain` PKCE, implicit and hybrid grants, unknown scopes, reused codes, wrong secrets, the
// password grant; and the ways in that must work: client_secret_post as well as Basic, the JSON
// body with "grant_type": "code", a public client with PKCE and no secret.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SCOPE,
  api,
  authorizationRequest,
  authorizeInBrowser,
  basicAuth,
  cliCreateClient,
  cliCreateUser,
  oauthFailure,
  openBrowserSession,
  post,
  redeem,
  relyingParty,
  startOAuthScenario,
  type AuthorizationRequest,
  type BrowserSession,
  type CallbackServer,
  type OAuthScenario,
  type OAuthServer,
  type RegisteredClient,
  type Relying,
  type TestUser,
} from './helpers.ts';

let scenario: OAuthScenario | undefined;
let session: BrowserSession | undefined;
let server: OAuthServer;
let callback: CallbackServer;
let user: TestUser;
let confidential: RegisteredClient;
let publicClient: RegisteredClient;
let rp: Relying;
let rpPublic: Relying;
let secondUri: string;

beforeAll(async () => {
  scenario = await startOAuthScenario();
  ({ server, callback } = scenario);
  session = await openBrowserSession(scenario.browser);
  secondUri = `${callback.origin}/cb/second`;
  user = await cliCreateUser(server.env, 'refuser');
  confidential = await cliCreateClient(server.env, 'Confidential App', [callback.uri, secondUri]);
  publicClient = await cliCreateClient(server.env, 'Public App', [callback.uri], { public: true });
  expect(publicClient.client_secret).toBeUndefined();
  rp = await relyingParty(server.issuer, confidential);
  rpPublic = await relyingParty(server.issuer, publicClient);
});

afterAll(async () => {
  await session?.close();
  await scenario?.close();
});

const authorizeEndpoint = () => `${server.issuer}/api/v1.1/o/authorize/`;
const tokenEndpoint = () => `${server.issuer}/api/v1.1/o/token/`;

/** A code for the client, the real way: openid-client's URL, the browser (logging in and allowing if asked). */
async function code(relying: Relying, extra: Record<string, string | undefined> = {}, redirectUri = callback.uri): Promise<{ request: AuthorizationRequest; callback: URL; code: string }> {
  const request = await authorizationRequest(relying.config, redirectUri, extra);
  const result = await authorizeInBrowser(session!.page, callback, request, user);
  const value = result.callback.searchParams.get('code');
  expect(value, result.callback.href).toBeTruthy();
  return { request, callback: result.callback, code: value! };
}

type Query = { client_id: string; response_type: string; redirect_uri: string; scope: string; state: string; code_challenge?: string; code_challenge_method?: string; nonce?: string };

/** The authorization URL of a query; parameters left undefined are left out. */
function authorizeUrl(query: Query): string {
  const url = new URL(authorizeEndpoint());
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  return url.href;
}

/** GET of an authorization URL without following redirects, as a browser's first hop. */
async function authorizeHop(query: Query): Promise<{ status: number; location: string | null; type: string | null; body: string }> {
  const url = authorizeUrl(query);
  const response = await fetch(url, { redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location'), type: response.headers.get('content-type'), body: await response.text() };
}

/** A PKCE-protected authorization query for the confidential client, before any change. */
async function goodQuery(): Promise<Query> {
  return {
    client_id: confidential.client_id,
    response_type: 'code',
    redirect_uri: callback.uri,
    scope: DEFAULT_SCOPE,
    state: oidc.randomState(),
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  };
}

/** The error sent to the registered redirect URI, checked with openid-client as a client would. */
async function errorAtRedirectUri(hop: { status: number; location: string | null }, state: string): Promise<Record<string, string>> {
  expect(hop.status).toBe(303);
  expect(hop.location).not.toBeNull();
  const location = new URL(hop.location!);
  expect(location.origin + location.pathname).toBe(callback.uri);
  const parameters = Object.fromEntries(location.searchParams);
  expect(parameters).toMatchObject({ state, iss: server.issuer });
  expect(parameters).not.toHaveProperty('code');
  const failure = await oauthFailure(oidc.authorizationCodeGrant(rp.config, location, { expectedState: state, pkceCodeVerifier: oidc.randomPKCECodeVerifier() }));
  expect(failure.error).toBe(parameters.error);
  return parameters;
}

describe('redirect URIs are matched exactly: a mismatch shows an error page and never redirects', () => {
  const wrongUris = () => [
    `${callback.uri}x`,
    `${callback.uri}/`,
    `${callback.uri}?next=1`,
    `${callback.origin.replace('127.0.0.1', 'localhost')}/cb`,
    'https://attacker.example/cb',
  ];

  it('answers each wrong redirect URI with an HTML error page, status 400, no Location', async () => {
    for (const wrong of wrongUris()) {
      const hop = await authorizeHop({ ...(await goodQuery()), redirect_uri: wrong });
      expect(hop.status, wrong).toBe(400);
      expect(hop.location, wrong).toBeNull();
      expect(hop.type).toMatch(/^text\/html/);
      expect(hop.body).toContain('<code id="error-code">invalid_redirect_uri</code>');
    }
  });

  it('in the browser: the error page stays on this server, and nothing reaches the redirect URI', async () => {
    const { page } = session!;
    const query = { ...(await goodQuery()), redirect_uri: `${callback.uri}/evil` };
    const opened = await page.goto(authorizeUrl(query));
    expect(opened?.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(server.issuer);
    expect(await page.title()).toBe('This request cannot continue');
    expect(await page.locator('#error-code').innerText()).toBe('invalid_redirect_uri');
    expect(callback.received.filter((u) => u.searchParams.get('state') === query.state)).toEqual([]);
  });

  it('without redirect_uri, the first registered one is used (docker.io)', async () => {
    const { request, callback: landed } = await code(rp, { redirect_uri: undefined });
    expect(request.url.searchParams.has('redirect_uri')).toBe(false);
    expect(landed.origin + landed.pathname).toBe(callback.uri);
    // The code is bound to that URI: redeemed for the other registered one, it is refused.
    const other = await oauthFailure(oidc.authorizationCodeGrant(rp.config, new URL(`${secondUri}${landed.search}`), { pkceCodeVerifier: request.verifier, expectedState: request.state }));
    expect(other).toEqual({ error: 'invalid_grant', status: 400 });
  });
});

describe('unknown clients', () => {
  it('an unknown client_id gets an error page (400), no redirect, also in the browser', async () => {
    const query = { ...(await goodQuery()), client_id: 'no-such-client' };
    const hop = await authorizeHop(query);
    expect(hop.status).toBe(400);
    expect(hop.location).toBeNull();
    expect(hop.body).toContain('<code id="error-code">invalid_client</code>');

    const opened = await session!.page.goto(authorizeUrl(query));
    expect(opened?.status()).toBe(400);
    expect(new URL(session!.page.url()).origin).toBe(server.issuer);
    expect(callback.received.filter((u) => u.searchParams.get('state') === query.state)).toEqual([]);
  });

  it('an unknown client at the token endpoint: 401 invalid_client', async () => {
    const stranger = await relyingParty(server.issuer, { client_id: 'no-such-client', client_secret: 'whatever' });
    expect(await oauthFailure(oidc.refreshTokenGrant(stranger.config, 'x'.repeat(43)))).toEqual({ error: 'invalid_client', status: 401 });
  });
});

describe('PKCE (S256) is required of every client; plain is refused', () => {
  it('without code_challenge: invalid_request, sent to the registered redirect URI with the state', async () => {
    const query = { ...(await goodQuery()), code_challenge: undefined, code_challenge_method: undefined };
    const error = await errorAtRedirectUri(await authorizeHop(query), query.state);
    expect(error.error).toBe('invalid_request');
  });

  it('with code_challenge_method=plain: invalid_request', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const query = { ...(await goodQuery()), code_challenge: verifier, code_challenge_method: 'plain' };
    const error = await errorAtRedirectUri(await authorizeHop(query), query.state);
    expect(error.error).toBe('invalid_request');
  });

  it('with a code_challenge but no method (plain, by RFC 7636 §4.3): refused', async () => {
    const query = { ...(await goodQuery()), code_challenge_method: undefined };
    const error = await errorAtRedirectUri(await authorizeHop(query), query.state);
    expect(error.error).toBe('invalid_request');
  });

  it('a code redeemed with the wrong code_verifier, or none: invalid_grant', async () => {
    const { request, callback: landed } = await code(rp);
    const wrong = await oauthFailure(oidc.authorizationCodeGrant(rp.config, landed, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: request.state }));
    expect(wrong).toEqual({ error: 'invalid_grant', status: 400 });
    const none = await post(tokenEndpoint(), { grant_type: 'authorization_code', code: landed.searchParams.get('code')!, redirect_uri: callback.uri }, { authorization: basicAuth(confidential.client_id, confidential.client_secret!) });
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('no implicit or hybrid grant', () => {
  for (const responseType of ['token', 'code id_token', 'id_token token']) {
    it(`response_type=${responseType}: unsupported_response_type, and no token anywhere`, async () => {
      const query = { ...(await goodQuery()), response_type: responseType, nonce: oidc.randomNonce() };
      const hop = await authorizeHop(query);
      expect(hop.status).toBe(303);
      const location = new URL(hop.location!);
      expect(location.origin + location.pathname).toBe(callback.uri);
      // Errors of response types that would return in the fragment come in the fragment.
      const parameters = new URLSearchParams(location.hash.replace(/^#/, '') || location.search);
      expect(parameters.get('error')).toBe('unsupported_response_type');
      expect(parameters.get('state')).toBe(query.state);
      expect(hop.location).not.toMatch(/access_token|id_token=|code=/);
    });
  }
});

describe('scopes', () => {
  it('an unknown scope: invalid_scope, sent to the redirect URI with the state', async () => {
    const query = { ...(await goodQuery()), scope: 'profile_read admin' };
    const error = await errorAtRedirectUri(await authorizeHop(query), query.state);
    expect(error.error).toBe('invalid_scope');
  });
});

describe('refreshing for more than was granted', () => {
  it('a refresh asking for a scope the grant does not have: invalid_scope, and the refresh token still works', async () => {
    const { request, callback: landed } = await code(rp);
    const tokens = await redeem(rp.config, request, landed);
    expect(await oauthFailure(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!, { scope: 'profile_read profile_write' }))).toEqual({ error: 'invalid_scope', status: 400 });
    const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(refreshed.scope).toBe(DEFAULT_SCOPE);
    expect((await api(server.issuer, 'refuser/', refreshed.access_token)).status).toBe(200);
  });
});

describe('codes redeem once', () => {
  it('a second redemption fails with invalid_grant and revokes what the first issued: its access token is refused by the API, its refresh token fails', async () => {
    const { request, callback: landed } = await code(rp);
    const tokens = await redeem(rp.config, request, landed);
    expect((await api(server.issuer, 'refuser/', tokens.access_token)).status).toBe(200);

    expect(await oauthFailure(redeem(rp.config, request, landed))).toEqual({ error: 'invalid_grant', status: 400 });
    expect((await api(server.issuer, 'refuser/', tokens.access_token)).status).toBe(401);
    expect(await oauthFailure(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!))).toEqual({ error: 'invalid_grant', status: 400 });
  });

  it('a code is bound to its client: another client cannot redeem it', async () => {
    const { request, callback: landed } = await code(rp);
    const other = await cliCreateClient(server.env, 'Other App', [callback.uri]);
    const otherRp = await relyingParty(server.issuer, other);
    expect(await oauthFailure(redeem(otherRp.config, request, landed))).toEqual({ error: 'invalid_grant', status: 400 });
  });
});

describe('client authentication at the token endpoint', () => {
  it('a wrong client secret: 401 invalid_client, by Basic and by client_secret_post; the code is still good for the right one', async () => {
    const { request, callback: landed } = await code(rp);
    for (const auth of ['basic', 'post'] as const) {
      const impostor = await relyingParty(server.issuer, { client_id: confidential.client_id, client_secret: 'not-the-secret' }, { auth });
      expect(await oauthFailure(redeem(impostor.config, request, landed)), auth).toEqual({ error: 'invalid_client', status: 401 });
      const exchange = impostor.exchanges.at(-1)!;
      expect(exchange.headers.get('cache-control')).toBe('no-store');
      expect(JSON.parse(exchange.body)).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    }
    expect((await redeem(rp.config, request, landed)).scope).toBe(DEFAULT_SCOPE);
  });

  it('a confidential client that sends no secret at all: 401 invalid_client', async () => {
    const { callback: landed, request } = await code(rp);
    const response = await post(tokenEndpoint(), {
      grant_type: 'authorization_code',
      code: landed.searchParams.get('code')!,
      redirect_uri: callback.uri,
      code_verifier: request.verifier,
      client_id: confidential.client_id,
    });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'invalid_client' });
  });

  it('client_secret_post (client_id and client_secret in the form body) works as well as Basic, for codes and refreshes', async () => {
    const rpPost = await relyingParty(server.issuer, confidential, { auth: 'post' });
    const { request, callback: landed } = await code(rpPost);
    const tokens = await redeem(rpPost.config, request, landed);
    const exchange = rpPost.exchanges.at(-1)!;
    expect(exchange.requestHeaders).not.toHaveProperty('authorization');
    expect(new URLSearchParams(exchange.requestBody).get('client_secret')).toBe(confidential.client_secret);
    expect(JSON.parse(exchange.body)).toMatchObject({ username: 'refuser', user_id: user.id, token_type: 'Bearer', scope: DEFAULT_SCOPE });
    expect((await api(server.issuer, 'refuser/emails/', tokens.access_token)).status).toBe(200);

    const refreshed = await oidc.refreshTokenGrant(rpPost.config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await api(server.issuer, 'refuser/', refreshed.access_token)).status).toBe(200);
  });
});

describe('grant types', () => {
  for (const grantType of ['password', 'client_credentials', 'implicit']) {
    it(`grant_type=${grantType}: unsupported_grant_type`, async () => {
      const response = await post(
        tokenEndpoint(),
        { grant_type: grantType, username: 'refuser', password: user.password, scope: DEFAULT_SCOPE },
        { authorization: basicAuth(confidential.client_id, confidential.client_secret!) },
      );
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'unsupported_grant_type', error_description: expect.any(String) });
      expect(response.headers.get('cache-control')).toBe('no-store');
    });
  }

  it('the JSON body of the docker.io page, with "grant_type": "code", works (and JSON refreshes too)', async () => {
    const { request, code: value } = await code(rp);
    const response = await post(tokenEndpoint(), { grant_type: 'code', code: value, redirect_uri: callback.uri, code_verifier: request.verifier }, {
      json: true,
      authorization: basicAuth(confidential.client_id, confidential.client_secret!),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({
      username: 'refuser',
      user_id: user.id,
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: 3600,
      token_type: 'Bearer',
      scope: DEFAULT_SCOPE,
    });
    expect((await api(server.issuer, 'refuser/', String(response.body.access_token))).status).toBe(200);

    const refreshed = await post(tokenEndpoint(), { grant_type: 'refresh_token', refresh_token: String(response.body.refresh_token), scope: 'email_read' }, {
      json: true,
      authorization: basicAuth(confidential.client_id, confidential.client_secret!),
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ username: 'refuser', scope: 'email_read' });
  });

  it('a JSON body that is not an object of strings: 400 invalid_request', async () => {
    const response = await fetch(tokenEndpoint(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(confidential.client_id, confidential.client_secret!) },
      body: '{"grant_type": ["code"]}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('a public client (--public)', () => {
  it('gets tokens with PKCE and no secret', async () => {
    const { request, callback: landed } = await code(rpPublic);
    const tokens = await redeem(rpPublic.config, request, landed);
    const exchange = rpPublic.exchanges.at(-1)!;
    expect(exchange.requestHeaders).not.toHaveProperty('authorization');
    expect(new URLSearchParams(exchange.requestBody).has('client_secret')).toBe(false);
    expect(new URLSearchParams(exchange.requestBody).get('client_id')).toBe(publicClient.client_id);
    expect(JSON.parse(exchange.body)).toMatchObject({ username: 'refuser', user_id: user.id, token_type: 'Bearer', scope: DEFAULT_SCOPE });
    expect((await api(server.issuer, 'refuser/emails/', tokens.access_token)).status).toBe(200);
    const refreshed = await oidc.refreshTokenGrant(rpPublic.config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('must use PKCE: without a code_challenge it gets invalid_request, and a code cannot be redeemed without its verifier', async () => {
    const query = { ...(await goodQuery()), client_id: publicClient.client_id, code_challenge: undefined, code_challenge_method: undefined };
    const hop = await authorizeHop(query);
    expect(hop.status).toBe(303);
    expect(Object.fromEntries(new URL(hop.location!).searchParams)).toMatchObject({ error: 'invalid_request', state: query.state });

    const { callback: landed } = await code(rpPublic);
    const response = await post(tokenEndpoint(), { grant_type: 'authorization_code', code: landed.searchParams.get('code')!, redirect_uri: callback.uri, client_id: publicClient.client_id });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_grant' });
  });

  it('cannot introspect (RFC 7662 wants an authenticated client)', async () => {
    const { request, callback: landed } = await code(rpPublic);
    const tokens = await redeem(rpPublic.config, request, landed);
    const response = await post(`${server.issuer}/api/v1.1/o/introspect/`, { token: tokens.access_token, client_id: publicClient.client_id });
    expect(response.body).not.toMatchObject({ active: true });
  });
});

it('logged no error', () => {
  expect(server.server.output()).not.toMatch(/"level":(50|60)/);
});
