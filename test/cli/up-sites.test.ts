import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, onPostgres, waitFor, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

/**
 * `up` as a newcomer meets it: a fresh database gets the component library and demo pages, every
 * node's apps are built and served with the API beside them, and the seed README's example,
 * typed through `db query` while `up` runs, goes live with no other step.
 */
const env = { ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_API_PORT: '0', ROBBIEVERSE_SITE_PORT: '0', ROBBIEVERSE_ADMIN_EMAIL: undefined };

describe(`up builds and serves the node sites (${onPostgres ? 'postgres' : 'pglite'})`, () => {
  let t: TestTarget;
  let up: Spawned;
  let sites: Map<string, string>;
  const sql = async (q: string) => {
    const r = await runCli(['db', 'query', q, '--json', ...t.args], { env });
    expect(r.code, r.stderr).toBe(0);
    return json(r).rows as Record<string, any>[];
  };

  beforeAll(async () => {
    t = await createTarget();
    up = spawnCli(['up', '--node', 'vengeance-local', 'aurora-town-local', ...t.args], { env });
    await waitForStderr(up, /press Ctrl-C to stop/, 180_000);
    sites = new Map();
    for (const m of up.stderr().matchAll(/^ {4}(\S+)\s+(\S+)\s+(http:\/\/127\.0\.0\.1:\d+\/)/gm)) sites.set(`${m[1]}/${m[2]}`, m[3]!);
  }, 240_000);
  afterAll(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.done;
    }
    await t.cleanup();
  });

  it('prints a URL per (node, app) and serves the demo sites, differently branded', async () => {
    expect([...sites.keys()].sort()).toEqual(['aurora-town-local/code', 'aurora-town-local/work', 'vengeance-local/code', 'vengeance-local/play']);
    const css = async (key: string) => {
      const url = sites.get(key)!;
      const html = await waitFor(async () => {
        const r = await fetch(url);
        const text = await r.text();
        return r.status === 200 && /<script/.test(text) ? text : undefined;
      }, `${key} built and served`, 120_000);
      const href = /href="([^"]+\.css)"/.exec(html)![1]!;
      return (await fetch(new URL(href, url))).text();
    };
    expect(await css('vengeance-local/play')).toMatch(/--color-primary:\s*#8B5CF6/i);
    expect(await css('aurora-town-local/work')).toMatch(/--color-primary:\s*#3B82F6/i);
    // the API answers on the same origin as the site
    const health = await fetch(new URL('/api/health', sites.get('aurora-town-local/work')!));
    expect(await health.json()).toMatchObject({ ok: true });
  }, 180_000);

  it("the seed README's example through `db query` while up runs: live on vengeance with no other step", async () => {
    const now = (await sql('SELECT clock_timestamp()::text AS now'))[0]!.now as string;
    await sql(`INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status)
VALUES ('robbie-play-home', 'play', 'Play Home', '/play/', 'single-column', 'published')`);
    await sql(`INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
SELECT 
    (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home'),
    (SELECT id FROM robbieblocks_components WHERE component_key = 'robbie-bar'),
    1, 'sidebar', '{"mood": "playful"}'::jsonb`);
    const row = await waitFor(async () => {
      const rows = await sql(`SELECT d.deploy_status FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
                               WHERE n.node_key = 'vengeance-local' AND d.app_namespace = 'play' AND d.created_at >= '${now}'::timestamptz
                                 AND d.deploy_status IN ('success', 'failed') ORDER BY d.created_at DESC LIMIT 1`);
      return rows[0];
    }, 'a finished deploy of vengeance-local/play', 120_000);
    expect(row.deploy_status).toBe('success');
    const page = await fetch(new URL('/play/', sites.get('vengeance-local/play')!));
    expect(page.status).toBe(200);
    // the new page is in the app the site now serves (its blocks load as a separate chunk)
    const html = await page.text();
    const scripts = [...html.matchAll(/src="([^"]+\.js)"/g)].map((m) => m[1]!);
    const code = (await Promise.all(scripts.map(async (src) => (await fetch(new URL(src, sites.get('vengeance-local/play')!))).text()))).join('\n');
    expect(code.includes('Play Home'), 'the page is in the served app').toBe(true);
  }, 180_000);
});
