import fs from 'node:fs';
import type { Browser } from 'playwright-core';

/** Debian's chromium (CI installs it); browser tests are skipped, with this reason, without it. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
export const noChromiumReason = `skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // No background traffic: the machine's network is closed and chromium would keep retrying.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    close: async () => {
      // playwright gives the browser a fresh temporary profile and removes it on close
      await browser.close().catch(() => {});
    },
  };
}
