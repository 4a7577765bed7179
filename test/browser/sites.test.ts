import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { registerComponentLibrary, startBlocksWorker, type BlocksWorker } from '../../src/blocks/index.js';
import { startNodeSites, type NodeSites } from '../../src/sites/node-sites.js';
import { blocksFixture, dbNow, SEED_EXAMPLE, waitForBuilds, type BlocksFixture } from '../blocks/helpers.js';
import { engineName } from '../helpers/db.js';
import { brandColours, hasChromium, launchBrowser, noChromiumReason, openPage } from '../helpers/browser.js';

const PASSWORD = 'correct horse battery staple';

// A page both reference nodes serve (the seed example is in `play`, which aurora-town does not enable).
const NOTES_PAGE = `
INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status, meta_title)
VALUES ('team-notes', 'code', 'Team notes', '/notes', 'single-column', 'published', 'Team notes');
INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
SELECT p.id, c.id, v.ord, v.zone, v.props::jsonb
  FROM robbieblocks_pages p,
       (VALUES ('robbie-bar', 1, 'header', '{"title": "Robbie Code"}'), ('sticky-notes', 2, 'main', '{"title": "Team notes"}')) v(key, ord, zone, props)
  JOIN robbieblocks_components c ON c.component_key = v.key
 WHERE p.page_key = 'team-notes';`;

describe.skipIf(!hasChromium)(
  hasChromium ? `browser: pages built from SQL, branded per node, with live data (${engineName})` : `browser tests — ${noChromiumReason}`,
  () => {
    let f: BlocksFixture;
    let worker: BlocksWorker;
    let sites: NodeSites;
    let browser: Browser;
    let closeBrowser: () => Promise<void>;
    let orgA: string;
    let orgB: string;
    const site = (node: string, app: string) => sites.sites.find((s) => s.node === node && s.app === app)!.url.replace(/\/$/, '');

    beforeAll(async () => {
      f = await blocksFixture();
      await registerComponentLibrary(f.db, { publish: true });
      orgA = (await createOrganization(f.db, { name: 'Org A' })).id;
      orgB = (await createOrganization(f.db, { name: 'Org B' })).id;
      await createUser(f.db, { email: 'ann@a.test', password: PASSWORD, orgId: orgA, role: 'member' });
      await createUser(f.db, { email: 'ben@b.test', password: PASSWORD, orgId: orgB, role: 'member' });
      sites = await startNodeSites({ db: f.db, deployRoot: f.deployRoot, nodeKeys: ['vengeance-local', 'aurora-town-local'], host: '127.0.0.1', basePort: 0 });
      worker = await startBlocksWorker({ db: f.db, deployRoot: f.deployRoot, nodeKeys: ['vengeance-local', 'aurora-town-local'], quietMs: 200, pollMs: 5_000 });
      // the first start builds every enabled app once (empty sites); let that settle
      await worker.idle();
      ({ browser, close: closeBrowser } = await launchBrowser());
    }, 120_000);
    afterAll(async () => {
      await closeBrowser?.();
      await worker?.stop();
      await sites?.close();
      await f?.close();
    });

    const open = (url: string) => openPage(browser, url);

    it("the seed README's example, verbatim, is live on vengeance with its dark purple branding", async () => {
      const since = await dbNow(f.db);
      await f.db.exec(SEED_EXAMPLE);
      const done = await waitForBuilds(f.db, ['vengeance-local/play'], since, 120_000);
      expect(done.get('vengeance-local/play')!.deploy_status).toBe('success');
      const page = await open(`${site('vengeance-local', 'play')}/play/`);
      await page.waitForSelector('.robbie-bar');
      const c = await brandColours(page);
      expect(c.primary.toUpperCase()).toBe('#8B5CF6');
      expect(c.background).toBe('rgb(15, 23, 42)'); // #0F172A
      expect(c.theme).toBe('dark');
      expect(await page.title()).toMatch(/Play Home/);
      await page.close();
    }, 180_000);

    it('one page definition, two nodes: dark purple on vengeance, light blue on aurora-town, with live data after sign-in', async () => {
      const since = await dbNow(f.db);
      await f.db.exec(NOTES_PAGE);
      const done = await waitForBuilds(f.db, ['vengeance-local/code', 'aurora-town-local/code'], since, 120_000);
      for (const d of done.values()) expect(d.deploy_status).toBe('success');
      // a note put straight into the database for org A
      const ann = (await f.db.query<{ id: string }>(`SELECT id FROM users WHERE email = 'ann@a.test'`)).rows[0]!.id;
      await f.db.query(`INSERT INTO sticky_notes (org_id, user_id, content) VALUES ($1, $2, 'Written by SQL for org A')`, [orgA, ann]);

      const dark = await open(`${site('vengeance-local', 'code')}/notes`);
      await dark.waitForSelector('.robbie-bar');
      const v = await brandColours(dark);
      expect(v.primary.toUpperCase()).toBe('#8B5CF6');
      expect(v.bar).toBe('rgb(139, 92, 246)');
      expect(v.theme).toBe('dark');
      await dark.close();

      const light = await open(`${site('aurora-town-local', 'code')}/notes`);
      await light.waitForSelector('.robbie-bar');
      const a = await brandColours(light);
      expect(a.primary.toUpperCase()).toBe('#3B82F6');
      expect(a.bar).toBe('rgb(59, 130, 246)');
      expect(a.background).toBe('rgb(255, 255, 255)');
      expect(a.theme).toBe('light');
      await light.fill('input[name=email]', 'ann@a.test');
      await light.fill('input[name=password]', PASSWORD);
      await light.click('form.rb-login button[type=submit]');
      await light.getByText('Written by SQL for org A').waitFor({ timeout: 15_000 });
      await light.close();
    }, 180_000);

    it('a user adds a sticky note in the browser, sees it after a reload, and it belongs to their organization only', async () => {
      const page = await open(`${site('aurora-town-local', 'code')}/notes`);
      await page.fill('input[name=email]', 'ann@a.test');
      await page.fill('input[name=password]', PASSWORD);
      await page.click('form.rb-login button[type=submit]');
      await page.waitForSelector('form.sticky-notes__form textarea');
      await page.fill('form.sticky-notes__form textarea', 'Bring the cake on Friday');
      await page.click('form.sticky-notes__form button[type=submit]');
      await page.getByText('Bring the cake on Friday').waitFor({ timeout: 15_000 });
      await page.reload();
      await page.getByText('Bring the cake on Friday').waitFor({ timeout: 15_000 });
      await page.close();

      const { rows } = await f.db.query<{ org_id: string; email: string }>(
        `SELECT n.org_id, u.email FROM sticky_notes n JOIN users u ON u.id = n.user_id WHERE n.content = 'Bring the cake on Friday'`);
      expect(rows).toEqual([{ org_id: orgA, email: 'ann@a.test' }]);
      // org B's user, through the same site's API, does not see it
      const base = site('aurora-town-local', 'code');
      const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ben@b.test', password: PASSWORD }) });
      const { token } = (await login.json()) as { token: string };
      const notes = (await (await fetch(`${base}/api/sticky-notes?limit=200`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { content: string }[] };
      expect(notes.data.map((n) => n.content)).not.toContain('Bring the cake on Friday');
      // and a browser signed in as B does not show it either
      const other = await open(`${base}/notes`);
      await other.fill('input[name=email]', 'ben@b.test');
      await other.fill('input[name=password]', PASSWORD);
      await other.click('form.rb-login button[type=submit]');
      await other.waitForSelector('form.sticky-notes__form textarea');
      expect(await other.getByText('Bring the cake on Friday').count()).toBe(0);
      await other.close();
    }, 180_000);

    it('deep links load the app; an unknown route inside the app shows its not-found page', async () => {
      const res = await fetch(`${site('aurora-town-local', 'code')}/notes?from=link`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/<div id="root"|<script/);
      const page = await open(`${site('aurora-town-local', 'code')}/no/such/page`);
      await page.waitForLoadState('networkidle');
      expect(await page.textContent('body')).toMatch(/not found/i);
      await page.close();
    }, 60_000);
  },
);
