// In headless Chromium (Debian's /usr/bin/chromium through playwright-core), with SIGNUP=open:
// from the landing page to the sign-up form, a refusal beside its field, "check your mail", the
// login refused until the address is verified, the link from the mail a real SMTP peer receives,
// then the login, and the account deleted from its settings page. With SCREENSHOTS=1 it saves the
// sign-up pages the docs show to docs/screenshots/.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { cspViolationsOf, launchChromium, submit } from '../support/browser.ts';
import { freePort } from '../support/processes.ts';
import { shoot } from '../support/screenshots.ts';
import { linkIn, startSmtpPeer, type SmtpPeer } from '../support/smtp.ts';

let smtp: SmtpPeer;
let t: TestApp;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, PUBLIC_URL: origin, SIGNUP: 'open' } });
  await t.app.listen({ host: '127.0.0.1', port });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await smtp?.close();
});

it('signs up from the landing page, confirms the address from the mail, logs in, then deletes the account', async () => {
  await makeUser(t.deps, { username: 'alreadyhere', email: 'already.here@example.com' });
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const cspViolations = cspViolationsOf(page);

  await page.goto(`${origin}/`);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Create an account' }).click()]);
  expect(new URL(page.url()).pathname).toBe('/account/signup');
  expect(await page.title()).toBe('Create an account');
  expect(await page.locator('#signup-username-hint').innerText()).toContain('4 to 30 characters');

  // A taken username is said beside its field; what was typed stays.
  await page.getByLabel('Username').fill('alreadyhere');
  await page.getByLabel('Email address').fill('fresh.face@example.com');
  await page.getByLabel('Password').fill('lantern orchard velvet');
  expect(await submit(page, 'Create account')).toBe(400);
  expect(await page.locator('#signup-username-error').innerText()).toBe('A user with that username already exists.');
  await shoot(page, 'signup');
  expect(await page.getByLabel('Email address').inputValue()).toBe('fresh.face@example.com');

  const before = smtp.messages.length;
  await page.getByLabel('Username').fill('freshface');
  await page.getByLabel('Password').fill('lantern orchard velvet');
  expect(await submit(page, 'Create account')).toBe(200);
  expect(await page.title()).toBe('Check your mail');
  await shoot(page, 'check-your-mail');
  const mail = await smtp.waitFor((m) => m.to.includes('fresh.face@example.com') && smtp.messages.indexOf(m) >= before);

  // Not before the address is verified.
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Log in' }).click()]);
  await page.getByLabel('Username').fill('freshface');
  await page.getByLabel('Password').fill('lantern orchard velvet');
  expect(await submit(page, 'Log in')).toBe(403);
  expect(await page.locator('#login-password-error').innerText()).toContain('Verify your email address first');

  await page.goto(linkIn(mail));
  expect(await submit(page, 'Confirm')).toBe(200);
  expect(await page.title()).toBe('Email address verified');

  await page.goto(`${origin}/account/login`);
  await page.getByLabel('Username').fill('freshface');
  await page.getByLabel('Password').fill('lantern orchard velvet');
  expect(await submit(page, 'Log in')).toBe(200);
  expect(new URL(page.url()).pathname).toBe('/account/');
  expect(await page.locator('header').innerText()).toContain('Signed in as freshface');

  // Leaving: the password again and the username typed; a wrong one keeps the account.
  await page.getByLabel('Your password').fill('not the password');
  await page.getByLabel('Type your username to confirm').fill('freshface');
  expect(await submit(page, 'Delete my account')).toBe(400);
  expect(await page.locator('#delete-h').isVisible()).toBe(true);
  await page.getByLabel('Your password').fill('lantern orchard velvet');
  await page.getByLabel('Type your username to confirm').fill('freshface');
  const beforeDeletion = smtp.messages.length;
  expect(await submit(page, 'Delete my account')).toBe(200);
  expect(await page.title()).toBe('Your account was deleted');
  await shoot(page, 'account-deleted');
  await smtp.waitFor((m) => m.to.includes('fresh.face@example.com') && smtp.messages.indexOf(m) >= beforeDeletion);
  const gone = await fetch(`${origin}/api/v1.1/users/freshface/`, { headers: { authorization: basic('freshface', 'lantern orchard velvet') } });
  expect(gone.status).toBe(401);
  await page.goto(`${origin}/account/`);
  expect(new URL(page.url()).pathname).toBe('/account/login');
  expect(cspViolations).toEqual([]);
  await context.close();
});
