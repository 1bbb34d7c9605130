// A listening app with a real SMTP peer and Debian's Chromium, for the browser tests. Chromium is
// launched as this machine's closed network needs (no background connections).
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildTestApp, type TestApp } from './app.ts';
import { freePort } from './processes.ts';
import { startSmtpPeer, type SmtpPeer } from './smtp.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Chromium, launched as this machine's closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export type BrowserScenario = { smtp: SmtpPeer; t: TestApp; browser: Browser; origin: string; close(): Promise<void> };

export async function startBrowserScenario(): Promise<BrowserScenario> {
  const smtp = await startSmtpPeer();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const t = await buildTestApp({ env: { SMTP_URL: smtp.url, PUBLIC_URL: origin } });
  await t.app.listen({ host: '127.0.0.1', port });
  const browser = await launchChromium();
  return {
    smtp,
    t,
    browser,
    origin,
    async close() {
      await browser.close();
      await t.close();
      await smtp.close();
    },
  };
}

/** Clicks the button named exactly `button` and waits for the page it leads to; its status. */
export async function submit(page: Page, button: string): Promise<number | undefined> {
  const [answer] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]);
  return answer?.status();
}

/** Collects what the console says about Content-Security-Policy violations: a page breaking its own policy. */
export function cspViolationsOf(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}
