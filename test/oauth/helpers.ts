// Shared by the OAuth end-to-end tests: a real `accounts serve` whose PUBLIC_URL (the
// issuer) is its own address, users and clients made by the real CLI, a real redirect URI (a tiny
// HTTP server that records what the browser brings it), openid-client configured against the
// server's discovery document, and the login and consent pages driven in Chromium.
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { makeTempDir } from '../support/app.ts';
import { launchChromium } from '../support/browser.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort, runCli, startServer, type ServerProcess } from '../support/processes.ts';
import { scaled } from '../support/time.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';

export const PASSWORD = 'oauth flow password 1';
export const DEFAULT_SCOPE = 'profile_read email_read';

export type OAuthServer = {
  /** PUBLIC_URL: the issuer, and the address the server listens on. */
  issuer: string;
  /** What every process on this database (CLI, more instances) is started with. */
  env: Record<string, string>;
  server: ServerProcess;
  database: TestDatabase;
  close(): Promise<void>;
};

export type OAuthScenario = { server: OAuthServer; callback: CallbackServer; browser: Browser; close(): Promise<void> };

/**
 * What every OAuth end-to-end file needs, started at once: the server, a redirect URI that
 * listens, and Chromium. If one fails to start, the others are stopped before the error is thrown.
 */
export async function startOAuthScenario(env: Record<string, string> = {}): Promise<OAuthScenario> {
  const started = await Promise.allSettled([startOAuthServer(env), startCallbackServer(), launchChromium()] as const);
  const close = async () => {
    for (const part of [...started].reverse()) if (part.status === 'fulfilled') await part.value.close();
  };
  const [server, callback, browser] = started;
  if (server.status === 'rejected' || callback.status === 'rejected' || browser.status === 'rejected') {
    await close();
    throw [server, callback, browser].flatMap((p) => (p.status === 'rejected' ? [p.reason] : []))[0];
  }
  return { server: server.value, callback: callback.value, browser: browser.value, close };
}

/** A fresh database of the project's dialect and a server on it whose PUBLIC_URL is its own address. */
export async function startOAuthServer(extraEnv: Record<string, string> = {}): Promise<OAuthServer> {
  const dir = makeTempDir('accounts-oauth-');
  const database = await createTestDatabase(dir);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: database.url, PUBLIC_URL: issuer, ...extraEnv };
  let server: ServerProcess;
  try {
    server = await startServer({ ...env, PORT: String(port) });
  } catch (error) {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    issuer,
    env,
    server,
    database,
    async close() {
      await server.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The last line of standard output, parsed as JSON; fails the test if the CLI failed. */
async function cliJson<T>(env: Record<string, string>, args: string[], stdin?: string): Promise<T> {
  const result = await runCliInProcess(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trimEnd().split('\n').at(-1) ?? '') as T;
}

export type TestUser = { id: number; username: string; password: string };

/** `accounts user create NAME --email … --password-stdin`. */
export async function cliCreateUser(env: Record<string, string>, username: string, password = PASSWORD): Promise<TestUser> {
  const created = await cliJson<{ id: number; username: string }>(env, ['user', 'create', username, '--email', `${username}@example.com`, '--password-stdin'], `${password}\n`);
  return { id: created.id, username: created.username, password };
}

export type RegisteredClient = { client_id: string; client_secret?: string };

/** `accounts client create --name NAME --redirect-uri URI… [--public]`: the JSON on its last line. */
export async function cliCreateClient(env: Record<string, string>, name: string, redirectUris: string[], options: { public?: boolean } = {}): Promise<RegisteredClient> {
  const args = ['client', 'create', '--name', name, ...redirectUris.flatMap((uri) => ['--redirect-uri', uri]), ...(options.public ? ['--public'] : [])];
  return cliJson<RegisteredClient>(env, args);
}

/** A redirect URI that really listens, and every request the browser made to it. */
export type CallbackServer = {
  origin: string;
  /** `${origin}/cb`, the URI clients register. */
  uri: string;
  /** Every request to a path under /cb, in order, as full URLs. */
  received: URL[];
  /** The first request whose `state` is this one (waits up to 10 s for it). */
  waitFor(state: string): Promise<URL>;
  close(): Promise<void>;
};

export async function startCallbackServer(): Promise<CallbackServer> {
  const received: URL[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    if (url.pathname.startsWith('/cb')) received.push(url);
    response.writeHead(url.pathname.startsWith('/cb') ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html lang="en"><title>Callback</title><h1>Back at the application</h1></html>');
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    uri: `${origin}/cb`,
    received,
    async waitFor(state) {
      const deadline = Date.now() + scaled(10_000);
      for (;;) {
        const found = received.find((u) => u.searchParams.get('state') === state);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no callback with state ${state}; received: ${received.map(String).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A request openid-client made and what the server answered, raw: to check headers and bodies. */
export type Exchange = { url: string; method: string; requestHeaders: Record<string, string>; requestBody: string | undefined; status: number; headers: Headers; body: string };

export type Relying = { config: oidc.Configuration; exchanges: Exchange[] };

/**
 * openid-client against the server's discovery document (OpenID Connect's by default, RFC 8414's
 * with algorithm 'oauth2'), authenticating as the client does: HTTP Basic, client_secret_post, or
 * not at all (a public client). Plain http is allowed: the server is on the loopback address.
 */
export async function relyingParty(
  issuer: string,
  client: RegisteredClient,
  options: { auth?: 'basic' | 'post' | 'none'; algorithm?: 'oidc' | 'oauth2'; verifySignatures?: boolean } = {},
): Promise<Relying> {
  const exchanges: Exchange[] = [];
  const recordingFetch: oidc.CustomFetch = async (url, init) => {
    const response = await fetch(url, init as RequestInit);
    const requestHeaders = Object.fromEntries(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const requestBody = init.body === undefined || init.body === null ? undefined : String(init.body);
    exchanges.push({ url, method: init.method, requestHeaders, requestBody, status: response.status, headers: response.headers, body: await response.clone().text() });
    return response;
  };
  const auth = options.auth ?? (client.client_secret === undefined ? 'none' : 'basic');
  const clientAuth = auth === 'none' ? oidc.None() : auth === 'post' ? oidc.ClientSecretPost(client.client_secret) : oidc.ClientSecretBasic(client.client_secret);
  const config = await oidc.discovery(new URL(issuer), client.client_id, client.client_secret, clientAuth, {
    // Non-repudiation checks: openid-client verifies ID token signatures against the jwks_uri.
    execute: [oidc.allowInsecureRequests, ...(options.verifySignatures ? [oidc.enableNonRepudiationChecks] : [])],
    algorithm: options.algorithm ?? 'oidc',
    [oidc.customFetch]: recordingFetch,
  });
  return { config, exchanges };
}

export type AuthorizationRequest = { url: URL; state: string; verifier: string; nonce?: string };

/**
 * An authorization URL built by openid-client: code flow, PKCE S256, a fresh state, scope
 * profile_read email_read. `extra` adds or overrides parameters; an undefined value leaves one out.
 */
export async function authorizationRequest(config: oidc.Configuration, redirectUri: string, extra: Record<string, string | undefined> = {}): Promise<AuthorizationRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const parameters: Record<string, string | undefined> = {
    redirect_uri: redirectUri,
    scope: DEFAULT_SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  };
  const defined = Object.fromEntries(Object.entries(parameters).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const url = oidc.buildAuthorizationUrl(config, defined);
  return { url, state, verifier, ...(extra.nonce !== undefined ? { nonce: extra.nonce } : {}) };
}

export type ListedGrant = { client_id: string; client_name: string | null; scopes: string[]; granted_at: string };

/** `accounts grant list USERNAME --json`: one object per line. */
export async function cliGrants(env: Record<string, string>, username: string): Promise<ListedGrant[]> {
  const result = await runCli(['grant', 'list', username, '--json'], { env });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as ListedGrant);
}

/** A browser profile of its own (its own cookies: its own login session) and a page in it. */
export type BrowserSession = { context: BrowserContext; page: Page; cspViolations: string[]; close(): Promise<void> };

export async function openBrowserSession(browser: Browser): Promise<BrowserSession> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, page, cspViolations, close: () => context.close() };
}

/** Clicks a button and waits for the navigation it starts (through any redirects) to load. */
export async function clickAndWait(page: Page, button: string): Promise<number | undefined> {
  const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]);
  return response?.status();
}

/** On the login page: fills the form and submits it. Returns the status of the page it ends on. */
export async function submitLogin(page: Page, username: string, password: string): Promise<number | undefined> {
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  return clickAndWait(page, 'Log in');
}

export function isLoginPage(page: Page): Promise<boolean> {
  return page.locator('input[name="password"]').isVisible();
}

export function isConsentPage(page: Page): Promise<boolean> {
  return page.getByRole('button', { name: 'Allow', exact: true }).isVisible();
}

export type BrowserAuthorization = { callback: URL; sawLogin: boolean; sawConsent: boolean };

/**
 * Goes through an authorization in the browser: opens the URL, logs in if asked to, allows (or
 * denies) if asked to, and returns where the browser was sent, and which pages it was shown.
 */
export async function authorizeInBrowser(
  page: Page,
  callback: CallbackServer,
  request: AuthorizationRequest,
  user: TestUser,
  decision: 'Allow' | 'Deny' = 'Allow',
): Promise<BrowserAuthorization> {
  await page.goto(request.url.href);
  let sawLogin = false;
  let sawConsent = false;
  if (!page.url().startsWith(callback.origin) && (await isLoginPage(page))) {
    sawLogin = true;
    expect(await submitLogin(page, user.username, user.password)).toBe(200);
  }
  if (!page.url().startsWith(callback.origin) && (await isConsentPage(page))) {
    sawConsent = true;
    expect(await clickAndWait(page, decision)).toBe(200);
  }
  expect(page.url().startsWith(`${callback.uri}?`), `the browser ended on ${page.url()}`).toBe(true);
  const received = await callback.waitFor(request.state);
  expect(received.href).toBe(page.url());
  return { callback: received, sawLogin, sawConsent };
}

/** Redeems the callback's code with openid-client (state and PKCE checked). */
export function redeem(config: oidc.Configuration, request: AuthorizationRequest, callback: URL): ReturnType<typeof oidc.authorizationCodeGrant> {
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    ...(request.nonce !== undefined ? { expectedNonce: request.nonce } : {}),
  });
}

/** The error an openid-client call failed with (its OAuth `error` and HTTP status), or a test failure. */
export async function oauthFailure(promise: Promise<unknown>): Promise<{ error: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return { error: error.error, status: error.status };
    if (error instanceof oidc.AuthorizationResponseError) return { error: error.error, status: undefined };
    // A 401 with a WWW-Authenticate challenge (RFC 6749 §5.2, invalid_client by Basic): its error.
    if (error instanceof oidc.WWWAuthenticateChallengeError) return { error: String(error.cause[0]?.parameters.error), status: error.status };
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** GET/PATCH an API path with a Bearer token; the status and the parsed body. */
export async function api(issuer: string, path: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${issuer}/api/v1.1/users/${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

export function basicAuth(clientId: string, secret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`, 'utf8').toString('base64')}`;
}

/** A raw POST to a token-style endpoint: form or JSON body, optional Authorization. */
export async function post(
  url: string,
  body: Record<string, string>,
  options: { json?: boolean; authorization?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
      ...(options.authorization ? { authorization: options.authorization } : {}),
    },
    body: options.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: response.headers };
}
