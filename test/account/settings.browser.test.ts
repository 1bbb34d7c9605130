// In headless Chromium (Debian's /usr/bin/chromium through playwright-core),
// log in, edit the profile, add an address, verify it through the mail a real SMTP peer receives,
// make it primary, create a token (read from the page) and use it, revoke it, change the password,
// log out. With SCREENSHOTS=1 it saves the pages the docs show to docs/screenshots/.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, bearer, makeUser, type TestApp } from '../support/app.ts';
import { linkIn, type SmtpPeer } from '../support/smtp.ts';
import { cspViolationsOf, startBrowserScenario, type BrowserScenario, submit } from '../support/browser.ts';
import { shoot } from '../support/screenshots.ts';
import { scaled } from '../support/time.ts';

let scenario: BrowserScenario;
let smtp: SmtpPeer;
let t: TestApp;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  scenario = await startBrowserScenario();
  ({ smtp, t, browser, origin } = scenario);
});
afterAll(async () => {
  await scenario?.close();
});

it('logs in, edits the profile, adds, verifies and promotes an address, creates, uses and revokes a token, changes the password and logs out', async () => {
  const user = await makeUser(t.deps, { username: 'pageuser', email: 'page.user@example.com', fullName: 'Page User' });
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const cspViolations = cspViolationsOf(page);

  // Log in, with the keyboard only.
  await page.goto(`${origin}/account/`);
  expect(new URL(page.url()).pathname).toBe('/account/login');
  expect(await page.title()).toBe('Log in');
  await page.getByLabel('Username').fill('pageuser');
  await page.getByLabel('Password').fill('not my password');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  expect(await page.locator('#login-password-error').innerText()).toBe('The username or password is not right.');
  await page.getByLabel('Password').fill(user.password);
  await shoot(page, 'login');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  expect(new URL(page.url()).pathname).toBe('/account/');
  expect(await page.locator('header').innerText()).toContain('Signed in as pageuser');
  const cookie = (await context.cookies()).find((c) => c.name === 'account_session');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/account' });

  // Profile: an error beside its field, then a save.
  await page.getByLabel('Profile URL').fill('ftp://files.example');
  expect(await submit(page, 'Save profile')).toBe(400);
  expect(await page.locator('#profile-profile_url-error').isVisible()).toBe(true);
  await page.getByLabel('Full name').fill('Jane Page');
  await page.getByLabel('Location').fill('Lisbon');
  await page.getByLabel('Company').fill('ACME');
  await page.getByLabel('Profile URL').fill('https://jane.example');
  expect(await submit(page, 'Save profile')).toBe(200);
  expect(await page.getByRole('status').first().innerText()).toBe('Your profile was saved.');
  const api = `${origin}/api/v1.1/users/pageuser/`;
  const profile = (await (await fetch(api, { headers: { authorization: basic('pageuser', user.password) } })).json()) as Record<string, unknown>;
  expect(profile).toMatchObject({ full_name: 'Jane Page', location: 'Lisbon', company: 'ACME', profile_url: 'https://jane.example' });

  // An address: add, verify through the mail, make primary.
  await page.getByLabel('Add an address').fill('Jane.Work@example.com');
  expect(await submit(page, 'Add address')).toBe(200);
  expect(await page.locator('#emails').innerText()).toContain('Jane.Work@example.com');
  const before = smtp.messages.length;
  expect(await submit(page, 'Send verification link: Jane.Work@example.com')).toBe(200);
  const link = linkIn(await smtp.waitFor((m) => m.to.includes('Jane.Work@example.com') && smtp.messages.indexOf(m) >= before));
  await page.goto(link);
  expect(await page.title()).toBe('Confirm your email address');
  await shoot(page, 'verification');
  expect(await submit(page, 'Confirm')).toBe(200);
  expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Email address verified');
  await page.goto(`${origin}/account/`);
  expect(await submit(page, 'Make primary: Jane.Work@example.com')).toBe(200);
  expect(((await (await fetch(api, { headers: { authorization: basic('pageuser', user.password) } })).json()) as { email: string }).email).toBe('Jane.Work@example.com');
  await shoot(page, 'settings');

  // Sessions: this browser's own, in words; a second login from another browser is listed too.
  const other = await browser.newContext({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1' });
  const phone = await other.newPage();
  await phone.goto(`${origin}/account/login`);
  await phone.getByLabel('Username').fill('pageuser');
  await phone.getByLabel('Password').fill(user.password);
  await Promise.all([phone.waitForNavigation(), phone.keyboard.press('Enter')]);
  await page.reload();
  const sessions = page.locator('#sessions');
  expect(await sessions.locator('li').count()).toBe(2);
  expect(await sessions.innerText()).toContain('this session');
  expect(await sessions.innerText()).toContain('Safari on iPhone');
  await shoot(page, 'sessions', page.locator('section[aria-labelledby="sessions-h"]'));
  expect(await submit(page, 'Sign out all other sessions')).toBe(200);
  expect(await page.locator('#sessions li').count()).toBe(1);
  await phone.goto(`${origin}/account/`);
  expect(new URL(phone.url()).pathname).toBe('/account/login');
  await other.close();
  await shoot(page, 'delete-account', page.locator('section[aria-labelledby="delete-h"]'));

  // A token: chosen scopes and expiry, read from the page, used, revoked.
  await page.getByLabel('Token name').fill('laptop');
  await page.getByLabel('profile_read').check();
  await page.getByLabel('email_read').check();
  await page.getByLabel('Expires').selectOption('30d');
  expect(await submit(page, 'Create token')).toBe(200);
  const token = (await page.locator('#new-token').innerText()).trim();
  expect(token).toMatch(/^dapat_/);
  await shoot(page, 'token-created', page.locator('section[aria-labelledby="tokens-h"]'));
  expect((await fetch(`${api}emails/`, { headers: { authorization: bearer(token) } })).status).toBe(200);
  expect((await fetch(api, { method: 'PATCH', headers: { authorization: bearer(token), 'content-type': 'application/json' }, body: '{}' })).status).toBe(403);
  await page.reload();
  expect(await page.content()).not.toContain(token);
  expect(await submit(page, 'Revoke token laptop')).toBe(200);
  expect(await page.getByRole('status').first().innerText()).toBe('The token was revoked.');
  expect((await fetch(`${api}emails/`, { headers: { authorization: bearer(token) } })).status).toBe(401);

  // The authorised applications section says so plainly.
  expect(await page.locator('#applications').innerText()).toContain('No applications.');

  // Password: the old one then fails.
  await page.getByLabel('Current password').fill(user.password);
  await page.getByLabel('New password').fill('a different long password');
  expect(await submit(page, 'Change password')).toBe(200);
  expect(await page.getByRole('status').first().innerText()).toContain('Your password was changed.');
  expect((await fetch(api, { headers: { authorization: basic('pageuser', user.password) } })).status).toBe(401);
  expect((await fetch(api, { headers: { authorization: basic('pageuser', 'a different long password') } })).status).toBe(200);

  // Log out: back to the login page, and the settings page asks for a login again.
  expect(await submit(page, 'Log out')).toBe(200);
  expect(new URL(page.url()).pathname).toBe('/account/login');
  await page.goto(`${origin}/account/`);
  expect(new URL(page.url()).pathname).toBe('/account/login');

  expect(cspViolations, 'a page breaks its own Content-Security-Policy').toEqual([]);
  await context.close();
}, scaled(90_000));
