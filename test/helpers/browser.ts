import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';

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

/** A new page at the URL; errors thrown in it are printed (a test then fails on what it misses). */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  return page;
}

/** The branding a page shows: computed primary colour, body background, the robbie-bar's border, the theme. */
export function brandColours(page: Page): Promise<{ primary: string; background: string; bar: string; theme: string | null }> {
  // Runs in the page (no DOM types in this project's test config, hence the casts).
  return page.evaluate(() => {
    const w = globalThis as unknown as {
      document: { documentElement: { dataset: Record<string, string> }; body: { dataset: Record<string, string> }; querySelector(s: string): unknown };
      getComputedStyle(e: unknown): { getPropertyValue(p: string): string; backgroundColor: string; borderBottomColor: string };
    };
    const d = w.document;
    return {
      primary: w.getComputedStyle(d.documentElement).getPropertyValue('--color-primary').trim(),
      background: w.getComputedStyle(d.body).backgroundColor,
      bar: w.getComputedStyle(d.querySelector('.robbie-bar')).borderBottomColor,
      theme: d.documentElement.dataset.theme ?? d.body.dataset.theme ?? null,
    };
  });
}
