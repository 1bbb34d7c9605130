// Passkeys in real Chromium (Debian's /usr/bin/chromium through playwright-core) with a virtual
// authenticator from the DevTools protocol (WebAuthn.addVirtualAuthenticator: a platform
// authenticator with resident keys and user verification): register one on the settings page
// (two-factor turns on, recovery codes shown), sign out, sign in with the passkey alone, then
// with the password and the passkey as the second factor; an authenticator app set up from the
// page with codes computed here; and an application's sign-in (OAuth, openid-client) with the
// password and the passkey, through to its token. WebAuthn needs a host name, not an IP address:
// the service's PUBLIC_URL is http://localhost:<port>. With SCREENSHOTS=1 it saves the pages the
// docs show to docs/screenshots/.
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from '../../src/oauth/clients.service.ts';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { cspViolationsOf, launchChromium, submit } from '../support/browser.ts';
import { freePort } from '../support/processes.ts';
import { shoot } from '../support/screenshots.ts';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp.ts';
import { scaled } from '../support/time.ts';
import { authorizationRequest, redeem, relyingParty, startCallbackServer, type CallbackServer } from '../oauth/helpers.ts';

let smtp: SmtpPeer;
let t: TestApp;
let browser: Browser;
let callback: CallbackServer;
let origin: string;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  callback = await startCallbackServer();
  const port = await freePort();
  origin = `http://localhost:${port}`;
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, PUBLIC_URL: origin } });
  await t.app.listen({ host: '127.0.0.1', port });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await callback?.close();
  await smtp?.close();
});

/** A platform authenticator that holds discoverable credentials and verifies its user, and says yes at once. */
async function addAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

/** Clicks a passkey button and waits for the page the form leads to; a failure says what the page said. */
async function clickPasskey(page: Page, name: string): Promise<number | undefined> {
  const navigation = page.waitForNavigation().catch(async (error: unknown) => {
    const said = await page.locator('.passkey-status').allInnerTexts();
    throw new Error(`no navigation after "${name}"; the page says: ${JSON.stringify(said)}`, { cause: error });
  });
  const [answer] = await Promise.all([navigation, page.getByRole('button', { name, exact: true }).click()]);
  return answer?.status();
}

async function logOut(page: Page) {
  expect(await submit(page, 'Log out')).toBe(200);
  expect(new URL(page.url()).pathname).toBe('/account/login');
}

it('registers a passkey, signs in with it alone and as a second factor, on the account page and in an application’s sign-in', async () => {
  const user = await makeUser(t.deps, { username: 'keyholder', email: 'keyholder@example.com' });
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const cspViolations = cspViolationsOf(page);
  const { cdp, authenticatorId } = await addAuthenticator(page);

  // Log in with the password (two-factor is off), then add a passkey from the settings page.
  await page.goto(`${origin}/account/login`);
  await page.getByLabel('Username').fill('keyholder');
  await page.getByLabel('Password').fill(user.password);
  expect(await submit(page, 'Log in')).toBe(200);
  expect(await page.locator('#two-factor-state').innerText()).toContain('off');
  await page.getByLabel('Passkey name').fill('Work laptop');
  expect(await clickPasskey(page, 'Add a passkey')).toBe(200);
  expect(await page.title()).toBe('Your recovery codes');
  expect(await page.locator('#recovery-codes li').count()).toBe(10);
  await shoot(page, 'recovery-codes');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.isResidentCredential).toBe(true);
  await page.goto(`${origin}/account/`);
  expect(await page.locator('#two-factor-state').innerText()).toContain('on');
  expect(await page.locator('#factors').innerText()).toContain('Work laptop');

  // An authenticator app too, set up from what the page shows (codes computed here).
  expect(await submit(page, 'Set up an authenticator app')).toBe(200);
  expect(await page.title()).toBe('Set up an authenticator app');
  await shoot(page, 'two-factor-setup');
  const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s/g, '');
  const totp = new TOTP({ secret: Secret.fromBase32(secret) });
  await page.getByLabel('2. Type the 6-digit code the app shows').fill(totp.generate());
  expect(await submit(page, 'Turn on')).toBe(200);
  expect(await page.getByRole('status').first().innerText()).toBe('The authenticator app is set up.');
  await shoot(page, 'two-factor-section', page.locator('section[aria-labelledby="two-factor-h"]'));
  // The API no longer takes the password.
  const refused = await fetch(`${origin}/api/v1.1/users/keyholder/`, { headers: { authorization: basic('keyholder', user.password) } });
  expect(refused.status).toBe(401);
  await logOut(page);

  // A passkey alone: nothing typed.
  expect(await clickPasskey(page, 'Sign in with a passkey')).toBe(200);
  expect(new URL(page.url()).pathname).toBe('/account/');
  expect(await page.locator('header').innerText()).toContain('Signed in as keyholder');
  await logOut(page);

  // The password, then the passkey as the second factor.
  await page.getByLabel('Username').fill('keyholder');
  await page.getByLabel('Password').fill(user.password);
  expect(await submit(page, 'Log in')).toBe(200);
  expect(await page.title()).toBe('Two-factor authentication');
  await shoot(page, 'second-factor');
  expect(await clickPasskey(page, 'Use a passkey')).toBe(200);
  expect(new URL(page.url()).pathname).toBe('/account/');
  const factors = await t.store.db.selectFrom('sessions').select('second_factor').where('user_id', '=', user.id).execute();
  expect(factors.map((f) => f.second_factor)).toEqual(['passkey']);
  const passkey = await t.store.db.selectFrom('passkeys').select(['name', 'last_used_at']).where('user_id', '=', user.id).executeTakeFirstOrThrow();
  expect(passkey.name).toBe('Work laptop');
  expect(passkey.last_used_at).not.toBeNull();
  await logOut(page);

  // An application's sign-in: the password on the authorization server's login page, then the passkey.
  const client = await createClient(t.deps, { name: 'Registry UI', redirectUris: [callback.uri], public: false });
  const rp = await relyingParty(origin, { client_id: client.client_id, client_secret: client.client_secret });
  const request = await authorizationRequest(rp.config, callback.uri);
  await page.goto(request.url.href);
  await page.locator('input[name="username"]').fill('keyholder');
  await page.locator('input[name="password"]').fill(user.password);
  expect(await submit(page, 'Log in')).toBe(200);
  expect(await page.title()).toBe('Two-factor authentication');
  expect(await clickPasskey(page, 'Use a passkey')).toBe(200);
  expect(await submit(page, 'Allow')).toBe(200);
  expect(page.url().startsWith(`${callback.uri}?`)).toBe(true);
  const tokens = await redeem(rp.config, request, await callback.waitFor(request.state));
  expect(tokens.access_token).toBeTruthy();
  const me = await fetch(`${origin}/api/v1.1/users/keyholder/`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(me.status).toBe(200);

  // A second sign-in of another application, with the passkey alone from the login page.
  const context2 = await browser.newContext();
  const page2 = await context2.newPage();
  const second = await addAuthenticator(page2);
  // The same credential, copied as it is now into this browser's authenticator (a synced
  // passkey). A copy taken earlier would carry an older signature counter, which the service
  // refuses as a sign of a cloned authenticator.
  const [synced] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  await second.cdp.send('WebAuthn.addCredential', { authenticatorId: second.authenticatorId, credential: synced! });
  const request2 = await authorizationRequest(rp.config, callback.uri, { prompt: 'login' });
  await page2.goto(request2.url.href);
  expect(await clickPasskey(page2, 'Sign in with a passkey')).toBe(200);
  expect(await page2.title()).toBe('Allow Registry UI?');
  expect(await page2.locator('#who').innerText()).toBe('keyholder');
  expect(await submit(page2, 'Allow')).toBe(200);
  expect(page2.url().startsWith(`${callback.uri}?`), `ended on ${page2.url()}`).toBe(true);
  expect((await redeem(rp.config, request2, await callback.waitFor(request2.state))).access_token).toBeTruthy();

  expect(cspViolations, 'a page breaks its own Content-Security-Policy').toEqual([]);
  await context2.close();
  await context.close();
  expect(oidc).toBeDefined();
}, scaled(120_000));
