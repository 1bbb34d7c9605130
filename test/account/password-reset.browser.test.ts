// In headless Chromium (Debian's /usr/bin/chromium through playwright-core): a person who forgot
// the password goes from the login page to "Forgot your password?", follows the link from the mail
// a real SMTP peer receives, is refused a weak password beside the field, sets a new one, and logs
// in with it; the browser that was signed in with the old password is logged out, and the link
// works only once. With SCREENSHOTS=1 it saves these pages for the docs to docs/screenshots/.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, makeUser, type TestApp } from '../support/app.ts';
import { cspViolationsOf, startBrowserScenario, type BrowserScenario, submit } from '../support/browser.ts';
import { shoot } from '../support/screenshots.ts';
import type { SmtpPeer } from '../support/smtp.ts';
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

async function logIn(page: Page, username: string, password: string): Promise<number | undefined> {
  await page.goto(`${origin}/account/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  return submit(page, 'Log in');
}

it('resets a forgotten password from the mailed link, logs out the old session, and the link works once', async () => {
  const user = await makeUser(t.deps, { username: 'forgetful', email: 'forgetful@example.com' });
  const elsewhere = await browser.newContext();
  const oldSession = await elsewhere.newPage();
  expect(await logIn(oldSession, 'forgetful', user.password)).toBe(200);
  expect(new URL(oldSession.url()).pathname).toBe('/account/');

  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const cspViolations = cspViolationsOf(page);

  await page.goto(`${origin}/account/login`);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Forgot your password?' }).click()]);
  expect(await page.title()).toBe('Forgot your password?');
  await page.getByLabel('Username or email address').fill('forgetful');
  await shoot(page, 'forgot-password');
  const before = smtp.messages.length;
  expect(await submit(page, 'Send a link')).toBe(200);
  expect(await page.title()).toBe('Check your mail');
  expect(await page.locator('#reset-requested').innerText()).toContain('It works once, for 1 hour.');
  await shoot(page, 'reset-requested');

  const mail = await smtp.waitFor((m) => m.to.includes('forgetful@example.com') && smtp.messages.indexOf(m) >= before);
  const link = /https?:\/\/\S+\/account\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  expect(link).toBeDefined();
  await page.goto(link!);
  expect(await page.title()).toBe('Set a new password');
  expect(await page.locator('#who').innerText()).toBe('forgetful');

  // The password rules, with the reason beside the field.
  await page.getByLabel('New password').fill('forgetful1');
  expect(await submit(page, 'Set new password')).toBe(400);
  expect(await page.locator('#reset-password-error').innerText()).not.toBe('');
  await shoot(page, 'reset-password');
  await page.getByLabel('New password').fill('harbour lantern quietly');
  expect(await submit(page, 'Set new password')).toBe(200);
  expect(await page.title()).toBe('Your password was changed');
  await shoot(page, 'reset-done');

  // The old password is refused, the new one works; the other browser was logged out.
  expect((await fetch(`${origin}/api/v1.1/users/forgetful/`, { headers: { authorization: basic('forgetful', user.password) } })).status).toBe(401);
  expect(await logIn(page, 'forgetful', 'harbour lantern quietly')).toBe(200);
  expect(new URL(page.url()).pathname).toBe('/account/');
  await oldSession.goto(`${origin}/account/`);
  expect(new URL(oldSession.url()).pathname).toBe('/account/login');

  // Once only.
  const again = await page.goto(link!);
  expect(again?.status()).toBe(410);
  expect(await page.title()).toBe('This link has already been used');

  expect(cspViolations, 'a page breaks its own Content-Security-Policy').toEqual([]);
  await elsewhere.close();
  await context.close();
}, scaled(60_000));
