/**
 * An app built against the shared vendor modules runs in a real browser, served as the node sites
 * serve it (their Content-Security-Policy included): a component using createPortal from
 * react-dom, router hooks, state, and react-dom/server (bundled, on the vendor React).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeploy } from '../../src/blocks/build.js';
import { claimDeploy, newBuilderId } from '../../src/blocks/claim.js';
import { requestDeploy } from '../../src/blocks/request.js';
import { startNodeSites, type NodeSites } from '../../src/sites/node-sites.js';
import { blocksFixture, type BlocksFixture } from '../blocks/helpers.js';
import { hasChromium, launchBrowser, noChromiumReason } from '../helpers/browser.js';
import { engineName } from '../helpers/db.js';

const PROBE = `import { useState } from 'react';
import { createPortal } from 'react-dom';
import { renderToStaticMarkup } from 'react-dom/server';
import { Link, useLocation } from 'react-router-dom';

export default function PortalProbe(props: { label: string }) {
  const location = useLocation();
  const [clicks, setClicks] = useState(0);
  return (
    <div className="probe">
      <p className="probe-path">at {location.pathname}{location.search}</p>
      <button className="probe-click" onClick={() => setClicks(clicks + 1)}>clicked {clicks}</button>
      <p className="probe-markup">{renderToStaticMarkup(<em>{props.label}</em>)}</p>
      <Link className="probe-link" to="/probe?again=1">again</Link>
      {createPortal(<div className="probe-portal">portal {props.label} at {location.pathname}</div>, document.body)}
    </div>
  );
}
`;

describe.skipIf(!hasChromium)(hasChromium ? `browser: an app on the shared vendor modules (${engineName})` : `browser tests — ${noChromiumReason}`, () => {
  let f: BlocksFixture;
  let sites: NodeSites;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;

  beforeAll(async () => {
    f = await blocksFixture();
    await f.db.query(
      `INSERT INTO robbieblocks_components (component_key, component_name, component_type, react_code, props_schema, is_published)
       VALUES ('portal-probe', 'PortalProbe', 'widget', $1, '{"label": {"type": "string"}}'::jsonb, true)`,
      [PROBE],
    );
    await f.db.query(`INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status, meta_title) VALUES ('probe', 'play', 'Probe', '/probe', 'single-column', 'published', 'Probe')`);
    await f.db.query(
      `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
       SELECT p.id, c.id, 1, 'main', '{"label": "vendored"}'::jsonb FROM robbieblocks_pages p, robbieblocks_components c WHERE p.page_key = 'probe' AND c.component_key = 'portal-probe'`,
    );
    sites = await startNodeSites({ db: f.db, deployRoot: f.deployRoot, nodeKeys: ['vengeance-local'], host: '127.0.0.1', basePort: 0 });
    ({ browser, close: closeBrowser } = await launchBrowser());
  }, 120_000);
  afterAll(async () => {
    await closeBrowser?.();
    await sites?.close();
    await f?.close();
  });

  it('createPortal, router hooks, state and react-dom/server work on the one vendor React', async () => {
    const req = await requestDeploy(f.db, { nodeKey: 'vengeance-local', app: 'play' });
    const job = (await claimDeploy(f.db, null, newBuilderId(), req.deployId))!;
    const out = await runDeploy(f.db, job, { deployRoot: f.deployRoot, retries: 0 });
    expect(`${out.status} ${out.error ?? ''}`.trim()).toBe('success');
    // react-dom/server is bundled into the app; the React it requires is the vendor one
    const assets = path.join(fs.realpathSync(path.join(f.deployRoot, 'vengeance-local', 'play', 'current')), 'assets');
    const appJs = fs.readdirSync(assets).filter((n) => n.endsWith('.js')).map((n) => fs.readFileSync(path.join(assets, n), 'utf8')).join('\n');
    expect(appJs.includes('renderToStaticMarkup'), 'the server renderer in the app').toBe(true);
    expect(appJs.includes('The argument must be a React element, but you passed '), 'React itself in the app').toBe(false);

    const url = sites.sites.find((s) => s.app === 'play')!.url.replace(/\/$/, '');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${url}/probe`);
    // the portal renders into <body>, outside the app's root, with the router's location
    await page.locator('body > .probe-portal').getByText('portal vendored at /probe').waitFor({ timeout: 15_000 });
    expect(await page.locator('#root .probe-portal').count()).toBe(0);
    expect((await page.locator('.probe-path').textContent())?.trim()).toBe('at /probe');
    expect((await page.locator('.probe-markup').textContent())?.trim()).toBe('<em>vendored</em>');
    await page.locator('.probe-click').click();
    await page.getByText('clicked 1').waitFor({ timeout: 5_000 });
    await page.locator('.probe-link').click();
    await page.getByText('at /probe?again=1').waitFor({ timeout: 5_000 });
    expect(await page.locator('.rb-error').count()).toBe(0);

    // the vendor modules came from the release's content-named directory, each once
    const loaded = await page.evaluate(() => (globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string }[] } }).performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
    const vendor = loaded.filter((p) => /^\/assets\/vendor-[0-9a-f]{8}\//.test(p));
    expect(vendor.map((p) => p.split('/').pop())).toEqual(expect.arrayContaining(['react.js', 'react-dom.js', 'react-dom-client.js', 'react-router-dom.js', 'react-jsx-runtime.js']));
    expect(new Set(vendor).size).toBe(vendor.length);
    const res = await fetch(url + vendor[0]);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
