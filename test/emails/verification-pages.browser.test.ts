// A real SMTP peer receives the verification mail, headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) opens its link and presses Confirm; the address is
// then verified and can become primary.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, makeUser, type TestApp } from '../support/app.ts';
import { linkIn, type SmtpPeer } from '../support/smtp.ts';
import { startBrowserScenario, type BrowserScenario } from '../support/browser.ts';

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

it('opens the emailed link in Chromium, confirms, and the address is verified and can become primary', async () => {
  const user = await makeUser(t.deps, { username: 'browseruser', email: 'browser.user@example.com' });
  const headers = { authorization: basic('browseruser', user.password), 'content-type': 'application/json' };
  const api = `${origin}/api/v1.1/users/browseruser/emails/`;
  expect((await fetch(api, { method: 'POST', headers, body: JSON.stringify({ email: 'Second.Address@example.com' }) })).status).toBe(201);
  expect((await fetch(`${api}verification/`, { method: 'POST', headers, body: JSON.stringify({ email: 'second.address@example.com' }) })).status).toBe(202);
  const link = linkIn(await smtp.waitFor((m) => m.to.includes('Second.Address@example.com')));
  expect(link.startsWith(`${origin}/account/verify-email?token=`)).toBe(true);

  const page = await browser.newPage();
  const csp: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) csp.push(message.text());
  });
  const opened = await page.goto(link);
  expect(opened?.status()).toBe(200);
  expect(await page.title()).toBe('Confirm your email address');
  await expect.poll(() => page.locator('main').innerText()).toContain('Second.Address@example.com');
  const [answer] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Confirm' }).click()]);
  expect(answer?.status()).toBe(200);
  expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Email address verified');
  expect(csp, 'the page breaks its own Content-Security-Policy').toEqual([]);

  const listed = (await (await fetch(api, { headers })).json()) as Array<{ email: string; verified: boolean }>;
  expect(listed.find((e) => e.email === 'Second.Address@example.com')?.verified).toBe(true);
  const promoted = await fetch(`${api}primary/`, { method: 'POST', headers, body: JSON.stringify({ email: 'Second.Address@example.com' }) });
  expect(promoted.status).toBe(200);
  expect(((await promoted.json()) as Array<{ email: string; primary: boolean }>)[0]).toEqual({ email: 'Second.Address@example.com', verified: true, primary: true });

  // Going back and confirming again: the link is used up.
  await page.goto(link);
  expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('This link has already been used');
  await page.close();
});
