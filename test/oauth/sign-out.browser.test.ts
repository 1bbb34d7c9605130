// In Chromium, against a running `accounts serve`: what only a browser shows. Switching user with
// prompt=login, OpenID RP-initiated logout, the account page's Log out reaching the authorization
// server's cookie, and the self-submitting form_post answer under its Content-Security-Policy.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cspOf } from '../support/pages.ts';
import {
  authorizationRequest,
  authorizeInBrowser,
  clickAndWait,
  cliCreateClient,
  cliCreateUser,
  openBrowserSession,
  redeem,
  relyingParty,
  startOAuthScenario,
  submitLogin,
  type BrowserSession,
  type CallbackServer,
  type OAuthScenario,
  type OAuthServer,
  type Relying,
  type TestUser,
} from './helpers.ts';

let scenario: OAuthScenario | undefined;
let server: OAuthServer;
let callback: CallbackServer;
let rp: Relying;
let alice: TestUser;
let bobby: TestUser;
let session: BrowserSession;

beforeAll(async () => {
  scenario = await startOAuthScenario();
  ({ server, callback } = scenario);
  const client = await cliCreateClient(server.env, 'Sign-out App', [callback.uri]);
  rp = await relyingParty(server.issuer, client);
  alice = await cliCreateUser(server.env, 'alice');
  bobby = await cliCreateUser(server.env, 'bobby');
});
afterAll(() => scenario?.close());

describe('one sign-in for the browser', () => {
  beforeAll(async () => {
    session = await openBrowserSession(scenario!.browser);
  });
  afterAll(() => session?.close());

  it('prompt=login while alice is signed in, then signing in as bobby: bobby is asked to consent and the code is his (it was a page posting to a 404)', async () => {
    const { page } = session;
    await authorizeInBrowser(page, callback, await authorizationRequest(rp.config, callback.uri), alice);

    const request = await authorizationRequest(rp.config, callback.uri, { prompt: 'login' });
    await page.goto(request.url.href);
    expect(await page.title()).toBe('Log in');
    expect(await submitLogin(page, bobby.username, bobby.password)).toBe(200);
    expect(await page.locator('#who').innerText()).toBe('bobby');
    expect(await clickAndWait(page, 'Allow')).toBe(200);
    const tokens = await redeem(rp.config, request, await callback.waitFor(request.state));
    expect((tokens as unknown as { username: string }).username).toBe('bobby');
    expect(session.cspViolations).toEqual([]);
  });

  it('RP-initiated logout: the application sends the browser to the end-session endpoint; Sign out ends the sign-in and returns to the application', async () => {
    const { page } = session;
    const url = oidc.buildEndSessionUrl(rp.config, { post_logout_redirect_uri: callback.uri, state: 'signed-out' });
    expect(url.origin + url.pathname).toBe(`${server.issuer}/api/v1.1/o/session/end/`);
    await page.goto(url.href);
    expect(await page.title()).toBe('Sign out?');
    expect(await page.locator('#who').innerText()).toBe('bobby');
    expect(await clickAndWait(page, 'Sign out')).toBe(200);
    expect(page.url()).toBe(`${callback.uri}?state=signed-out`);

    const again = await authorizeInBrowser(page, callback, await authorizationRequest(rp.config, callback.uri), bobby);
    expect(again.sawLogin).toBe(true);
    expect(session.cspViolations).toEqual([]);
  });

  it("Log out on the account page ends the authorization server's sign-in of the browser: its cookie reaches /account/", async () => {
    const { page } = session;
    await page.goto(`${server.issuer}/account/login`);
    await page.getByLabel('Username').fill(bobby.username);
    await page.getByLabel('Password').fill(bobby.password);
    expect(await clickAndWait(page, 'Log in')).toBe(200);
    expect(await clickAndWait(page, 'Log out')).toBe(200);

    const again = await authorizeInBrowser(page, callback, await authorizationRequest(rp.config, callback.uri), bobby);
    expect(again.sawLogin).toBe(true);
    expect(session.cspViolations).toEqual([]);
  });

  it('response_mode=form_post: the answer page posts the code to the redirect URI by itself, within its CSP', async () => {
    const { page } = session;
    const request = await authorizationRequest(rp.config, callback.uri, { response_mode: 'form_post' });
    const posted = page.waitForRequest((r) => r.url() === callback.uri && r.method() === 'POST');
    const answer = page.waitForResponse((r) => r.url().startsWith(`${server.issuer}/api/v1.1/o/authorize/`) && r.status() === 200);
    await page.goto(request.url.href);
    const headers = (await answer).headers();
    expect(cspOf(headers['content-security-policy'])).toEqual({
      'default-src': ["'none'"],
      'script-src': [expect.stringMatching(/^'sha256-[\w+/=]+'$/)],
      'form-action': [callback.origin],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
    });
    expect(headers['referrer-policy']).toBe('no-referrer');
    const form = new URLSearchParams((await posted).postData() ?? '');
    expect(form.get('state')).toBe(request.state);
    expect(form.get('code')).toMatch(/^[\w-]{20,}$/);
    expect(session.cspViolations).toEqual([]);
  });
});

it('logged no error', () => {
  expect(server.server.output()).not.toMatch(/"level":(50|60)/);
});
