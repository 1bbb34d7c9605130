// The docs' pictures (docs/screenshots/), taken by the browser tests only when SCREENSHOTS=1 is set,
// so that an ordinary run never rewrites tracked files. Each picture is taken twice: at a desktop
// width (`<name>.png`, 1280×800) and at a phone's (`<name>-phone.png`, 390×844), because every page
// must work on both; the page's own viewport is put back afterwards.
import { mkdirSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';

const SCREENSHOT_DIR = new URL('../../docs/screenshots/', import.meta.url);
export const SCREENSHOTS = process.env.SCREENSHOTS === '1';

const SIZES = [
  { suffix: '', width: 1280, height: 800 },
  { suffix: '-phone', width: 390, height: 844 },
] as const;

/** Saves the whole page (or, given a locator, that part of it) at both widths, when asked to. */
export async function shoot(page: Page, name: string, part?: Locator): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const before = page.viewportSize();
  try {
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      const path = new URL(`${name}${size.suffix}.png`, SCREENSHOT_DIR).pathname;
      if (part) await part.screenshot({ path });
      else await page.screenshot({ path, fullPage: true });
    }
  } finally {
    if (before) await page.setViewportSize(before);
  }
}
