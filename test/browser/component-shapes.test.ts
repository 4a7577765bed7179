/**
 * Components written in each accepted source shape (docs/blocks.md, "Component source") build
 * into one app and render with their props in a real browser.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlocksWorker, type BlocksWorker } from '../../src/blocks/worker.js';
import { blocksFixture, dbNow, serveSite, waitForBuilds, type BlocksFixture } from '../blocks/helpers.js';
import { insertShapesPage, RENDERED } from '../blocks/shapes-fixture.js';
import { hasChromium, launchBrowser, noChromiumReason } from '../helpers/browser.js';
import { engineName } from '../helpers/db.js';

describe.skipIf(!hasChromium)(hasChromium ? `browser: one block per component shape (${engineName})` : `browser tests — ${noChromiumReason}`, () => {
  let f: BlocksFixture;
  let worker: BlocksWorker;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let site: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    f = await blocksFixture();
    worker = await startBlocksWorker({ db: f.db, deployRoot: f.deployRoot, nodeKeys: ['vengeance-local'], quietMs: 100, pollMs: 5_000, retries: 0 });
    await worker.idle();
    site = await serveSite(f.deployRoot, 'vengeance-local', 'play');
    ({ browser, close: closeBrowser } = await launchBrowser());
  }, 120_000);
  afterAll(async () => {
    await closeBrowser?.();
    await site?.close();
    await worker?.stop();
    await f?.close();
  });

  it('a page with a block in each shape builds, and each block shows its props', async () => {
    const since = await dbNow(f.db);
    await insertShapesPage(f.db, '/shapes');
    const built = (await waitForBuilds(f.db, ['vengeance-local/play'], since, 120_000)).get('vengeance-local/play')!;
    expect(`${built.deploy_status} ${built.error_message ?? ''}`.trim()).toBe('success');

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site.url.replace(/\/$/, '')}/shapes`);
    await page.getByText('hooks count to 42').waitFor({ timeout: 15_000 });
    const texts = await page.locator('[data-zone="main"] .shape').allTextContents();
    expect(texts.map((t) => t.trim())).toEqual(RENDERED);
    expect((await page.locator('.shape-more').textContent())?.trim()).toBe('and more');
    // no block fell back to its error boundary
    expect(await page.locator('.rb-error').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
