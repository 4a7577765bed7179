import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestDeploy } from '../../src/blocks/request.js';
import { rollbackRelease } from '../../src/blocks/rollback.js';
import { startBlocksWorker, type BlocksWorker } from '../../src/blocks/worker.js';
import { listen } from '../../src/db/listen.js';
import { engineName, waitFor } from '../helpers/db.js';
import { blocksFixture, dbNow, deploys, liveRelease, releaseText, SEED_EXAMPLE, serveSite, waitForBuilds, type BlocksFixture } from './helpers.js';

// Three of the four seeded nodes are served here; fluenti-local is left to "another builder".
const NODES = ['vengeance-local', 'aurora-town-local', 'collaboration-local'];
const PAIRS = ['vengeance-local/play', 'vengeance-local/code', 'aurora-town-local/work', 'aurora-town-local/code', 'collaboration-local/work', 'collaboration-local/play', 'collaboration-local/code'];
const PLAY = ['vengeance-local/play', 'collaboration-local/play'];
/** Substring or pattern test that keeps the (large) bundle text out of failure messages. */
const has = (text: string, needle: string | RegExp) => (typeof needle === 'string' ? text.includes(needle) : needle.test(text));

describe(`RobbieBlocks pipeline (${engineName})`, () => {
  let fx: BlocksFixture;
  let worker: BlocksWorker;
  let site: { url: string; close(): Promise<void> };
  const start = () => startBlocksWorker({ db: fx.db, deployRoot: fx.deployRoot, nodeKeys: NODES, quietMs: 100, pollMs: 60_000, retries: 0 });

  beforeAll(async () => {
    fx = await blocksFixture();
    site = await serveSite(fx.deployRoot, 'vengeance-local', 'play');
  });
  afterAll(async () => {
    await worker?.stop();
    await site?.close();
    await fx?.close();
  });

  it('drains the backlog of a fresh install at start: every served app is built', async () => {
    const t0 = new Date(0);
    worker = await start();
    const built = await waitForBuilds(fx.db, PAIRS, t0);
    for (const p of PAIRS) expect(built.get(p)!.deploy_status, p).toBe('success');
    const left = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM robbieblocks_change_triggers WHERE processed_at IS NULL`);
    expect(left.rows[0]!.n).toBe(0);
    // fluenti-local is not served: its builds wait, pending, for its own builder
    const fl = await deploys(fx.db, `n.node_key = 'fluenti-local'`);
    expect(fl.map((d) => d.deploy_status).sort()).toEqual(['pending', 'pending']);
  });

  it('check 1: a published page insert → one change row and one notification at commit; rolled back → none', async () => {
    const got: string[] = [];
    const l = await listen(fx.db, ['robbieblocks_change'], { onNotify: (n) => got.push(n.payload) });
    const before = (await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_change_triggers')).rows[0]!.n;
    await fx.db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status) VALUES ('rolled-back', 'play', 'X', '/x', 'single-column', 'published')`);
        throw new Error('roll back');
      })
      .catch(() => {});
    await fx.db.query(`INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status) VALUES ('check-one', 'play', 'Check one', '/check-one', 'single-column', 'published')`);
    await waitFor(() => got.length >= 1, 'the notification', 10_000);
    const rows = await fx.db.query<{ entity_type: string; affected_apps: string[] }>('SELECT entity_type, affected_apps FROM robbieblocks_change_triggers ORDER BY created_at DESC LIMIT 5');
    const after = (await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_change_triggers')).rows[0]!.n;
    expect(after - before).toBe(1);
    expect(rows.rows[0]).toMatchObject({ entity_type: 'page', affected_apps: ['play'] });
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!)).toMatchObject({ trigger_type: 'page_update', entity_type: 'page', affected_apps: ['play'] });
    await l.close();
  });

  it('the seed README example deploys to every served node with play enabled, with no other step', async () => {
    const t0 = await dbNow(fx.db);
    await fx.db.exec(SEED_EXAMPLE);
    const built = await waitForBuilds(fx.db, PLAY, t0);
    for (const p of PLAY) {
      // The last build is a success, or — when an earlier build of the pair already read this
      // content (it started after the commit) — a follow-up that found the same hash: skipped.
      expect(built.get(p)).toMatchObject({ pages_count: 2 });
      expect(['success', 'skipped']).toContain(built.get(p)!.deploy_status);
      const [node, app] = p.split('/') as [string, string];
      const ok = await deploys(fx.db, `coalesce(d.started_at, d.created_at) > $1 AND n.node_key = $2 AND d.app_namespace = $3 AND d.deploy_status = 'success' AND d.pages_count = 2`, [t0, node, app]);
      expect(ok.length, `${p}: a successful build with the new page`).toBeGreaterThan(0);
      const text = releaseText(fx.deployRoot, ...(p.split('/') as [string, string]));
      expect(has(text, 'robbie-play-home'), 'robbie-play-home').toBe(true);
      expect(/mood"?:\s*["'`]playful["'`]/.test(text), 'props in the bundle').toBe(true);
    }
    // Served over HTTP: deep links (with and without the trailing slash) get the app
    for (const route of ['/play/', '/play', '/check-one', '/no/such/page']) {
      const res = await fetch(site.url + route);
      expect(res.status, route).toBe(200);
      expect(await res.text()).toContain('<div id="root"></div>');
    }
    const miss = await fetch(site.url + '/assets/nope.js');
    expect(miss.status).toBe(404);
    const live = liveRelease(fx.deployRoot, 'vengeance-local', 'play');
    const manifest = (await (await fetch(site.url + '/robbieblocks-release.json')).json()) as { release_id: string; build_hash: string };
    expect(manifest.release_id).toBe(live);
    expect(manifest.build_hash).toBe(built.get('vengeance-local/play')!.build_hash);
  });

  it('check 7: the CSS has all 33 token variables with each node\'s values and theme', async () => {
    const v = releaseText(fx.deployRoot, 'vengeance-local', 'play');
    const a = releaseText(fx.deployRoot, 'aurora-town-local', 'work');
    const tokens = (await fx.db.query<{ token_key: string }>('SELECT token_key FROM robbieblocks_style_tokens')).rows;
    expect(tokens).toHaveLength(33);
    for (const t of tokens) {
      const name = '--' + t.token_key.replace(/\./g, '-');
      expect(has(v, name + ':'), String(name + ':')).toBe(true);
      expect(has(a, name + ':'), String(name + ':')).toBe(true);
    }
    expect(has(v, /--color-primary:\s*#8B5CF6/i), String(/--color-primary:\s*#8B5CF6/i)).toBe(true);
    expect(has(v, /--color-background:\s*#0F172A/i), String(/--color-background:\s*#0F172A/i)).toBe(true);
    expect(has(v, /--font-heading:\s*"Press Start 2P", sans-serif/), String(/--font-heading:\s*"Press Start 2P", sans-serif/)).toBe(true);
    expect(has(v, 'data-theme="dark"'), 'data-theme="dark"').toBe(true);
    expect(has(a, /--color-primary:\s*#3B82F6/i), String(/--color-primary:\s*#3B82F6/i)).toBe(true);
    expect(has(a, /--color-background:\s*#FFFFFF/i), String(/--color-background:\s*#FFFFFF/i)).toBe(true);
    expect(has(a, /--color-text:\s*#1E293B/i), String(/--color-text:\s*#1E293B/i)).toBe(true);
    expect(has(a, 'data-theme="light"'), 'data-theme="light"').toBe(true);
    expect(has(a, /color-scheme:\s*light/), String(/color-scheme:\s*light/)).toBe(true);
  });

  it('check 8: one route per published page, drafts absent', async () => {
    const t0 = await dbNow(fx.db);
    await fx.db.exec(`
      INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status) VALUES ('secret-draft-page', 'play', 'Draft', '/draft', 'single-column', 'draft');
      UPDATE robbieblocks_pages SET meta_title = 'Check one, titled' WHERE page_key = 'check-one';`);
    const built = await waitForBuilds(fx.db, PLAY, t0);
    expect(built.get('vengeance-local/play')!.pages_count).toBe(2);
    const text = releaseText(fx.deployRoot, 'vengeance-local', 'play');
    expect(has(text, 'Check one, titled'), 'Check one, titled').toBe(true);
    expect(has(text, 'secret-draft-page'), `absent: ` + 'secret-draft-page').toBe(false);
  });

  it('a token edit rebuilds every affected node; a no-op edit is skipped with the same hash', async () => {
    const before = new Map((await deploys(fx.db, `d.deploy_status = 'success'`)).map((d) => [`${d.node_key}/${d.app_namespace}`, d.build_hash]));
    const t0 = await dbNow(fx.db);
    await fx.db.query(`UPDATE robbieblocks_style_tokens SET default_value = '#22C55E' WHERE token_key = 'color.success'`);
    const built = await waitForBuilds(fx.db, PAIRS, t0);
    for (const p of PAIRS) {
      expect(built.get(p), p).toMatchObject({ deploy_status: 'success', triggered_by: 'style_change' });
      expect(built.get(p)!.build_hash).not.toBe(before.get(p));
    }
    expect(has(releaseText(fx.deployRoot, 'aurora-town-local', 'code'), /--color-success:\s*#22C55E/i), String(/--color-success:\s*#22C55E/i)).toBe(true);

    // A token's description does not shape the output: every pair rebuilds to the same hash → skipped
    const t1 = await dbNow(fx.db);
    const live = liveRelease(fx.deployRoot, 'vengeance-local', 'play');
    await fx.db.query(`UPDATE robbieblocks_style_tokens SET description = 'Success, greener' WHERE token_key = 'color.success'`);
    const again = await waitForBuilds(fx.db, PAIRS, t1);
    for (const p of PAIRS) {
      expect(again.get(p), p).toMatchObject({ deploy_status: 'skipped', build_hash: built.get(p)!.build_hash });
    }
    expect(liveRelease(fx.deployRoot, 'vengeance-local', 'play')).toBe(live);

    // check 4: a manual build of unchanged content is skipped too
    const req = await requestDeploy(fx.db, { nodeKey: 'vengeance-local', app: 'play' });
    const d = await waitFor(async () => (await deploys(fx.db, `d.id = $1 AND ${'d.deploy_status'} IN ('success', 'skipped', 'failed')`, [req.deployId]))[0], 'the manual deploy');
    expect(d).toMatchObject({ deploy_status: 'skipped', triggered_by: 'manual', build_hash: built.get('vengeance-local/play')!.build_hash });
  });

  it('check 5: unknown/unpublished component, invalid props, code that does not compile → failed with a clear error; the previous release keeps serving', async () => {
    const live = liveRelease(fx.deployRoot, 'vengeance-local', 'play');
    const html = await (await fetch(site.url + '/play/')).text();
    const fail = async (sql: string, expected: RegExp) => {
      const t0 = await dbNow(fx.db);
      await fx.db.exec(sql);
      const built = await waitForBuilds(fx.db, PLAY, t0);
      const d = built.get('vengeance-local/play')!;
      expect(`${d.deploy_status}: ${d.error_message}`).toMatch(new RegExp('^failed: .*' + expected.source));
      expect(liveRelease(fx.deployRoot, 'vengeance-local', 'play')).toBe(live);
      const res = await fetch(site.url + '/play/');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(html);
    };
    await fx.db.exec(`INSERT INTO robbieblocks_components (component_key, component_name, component_type, react_code, props_schema, is_published)
                      VALUES ('draft-widget', 'DraftWidget', 'widget', 'export default function DraftWidget() { return null; }', '{}', false)`);
    await fail(
      `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone) SELECT p.id, c.id, 2, 'main' FROM robbieblocks_pages p, robbieblocks_components c WHERE p.page_key = 'robbie-play-home' AND c.component_key = 'draft-widget'`,
      /page "robbie-play-home" block 2: component "draft-widget" is not published/,
    );
    await fail(
      `DELETE FROM robbieblocks_page_blocks WHERE block_order = 2 AND page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home');
       UPDATE robbieblocks_page_blocks SET props = '{"mood": "grumpy"}' WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home') AND block_order = 1`,
      /page "robbie-play-home" block 1 \(robbie-bar\): props invalid: \/mood must be equal to one of the allowed values/,
    );
    await fail(
      `UPDATE robbieblocks_page_blocks SET props = '{"mood": "playful"}' WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home');
       UPDATE robbieblocks_components SET react_code = 'export default function DraftWidget( { return <div> }', is_published = true WHERE component_key = 'draft-widget';
       INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone) SELECT p.id, c.id, 3, 'footer' FROM robbieblocks_pages p, robbieblocks_components c WHERE p.page_key = 'robbie-play-home' AND c.component_key = 'draft-widget'`,
      /component "draft-widget" does not compile/,
    );
    await fail(
      `UPDATE robbieblocks_components SET react_code = 'import _ from ''lodash''; export default function DraftWidget() { return null; }' WHERE component_key = 'draft-widget'`,
      /component "draft-widget" imports "lodash", which is not allowed/,
    );
    await fail(
      `UPDATE robbieblocks_components SET react_code = 'export default function DraftWidget() { return null; }' WHERE component_key = 'draft-widget';
       UPDATE robbieblocks_page_blocks SET conditions = '{"role": "admin"}' WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home') AND block_order = 3`,
      /block 3: conditions are not supported yet/,
    );
    // fixed → builds again
    const t0 = await dbNow(fx.db);
    await fx.db.query(`UPDATE robbieblocks_page_blocks SET conditions = '{}' WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home') AND block_order = 3`);
    const built = await waitForBuilds(fx.db, PLAY, t0);
    expect(built.get('vengeance-local/play')!.deploy_status).toBe('success');
    expect(liveRelease(fx.deployRoot, 'vengeance-local', 'play')).not.toBe(live);
  });

  it('archiving a page removes its route after the rebuild', async () => {
    const t0 = await dbNow(fx.db);
    await fx.db.query(`UPDATE robbieblocks_pages SET status = 'archived' WHERE page_key = 'robbie-play-home'`);
    const built = await waitForBuilds(fx.db, PLAY, t0);
    expect(built.get('vengeance-local/play')).toMatchObject({ deploy_status: 'success', pages_count: 1 });
    const text = releaseText(fx.deployRoot, 'vengeance-local', 'play');
    expect(has(text, 'robbie-play-home'), `absent: ` + 'robbie-play-home').toBe(false);
    expect(has(text, 'check-one'), 'check-one').toBe(true);
  });

  it('check 6: rollback points current at the previous release and records a rollback deploy', async () => {
    const live = liveRelease(fx.deployRoot, 'vengeance-local', 'play')!;
    const r = await rollbackRelease(fx.db, { deployRoot: fx.deployRoot, nodeKey: 'vengeance-local', app: 'play' });
    expect(r.fromRelease).toBe(live);
    expect(liveRelease(fx.deployRoot, 'vengeance-local', 'play')).toBe(r.toRelease);
    const m = (await (await fetch(site.url + '/robbieblocks-release.json')).json()) as { release_id: string };
    expect(m.release_id).toBe(r.toRelease);
    const [row] = await deploys(fx.db, 'd.id = $1', [r.deployId]);
    const replaced = (await deploys(fx.db, `d.release_id = $1 AND d.deploy_status = 'success'`, [live]))[0]!;
    expect(row).toMatchObject({ deploy_status: 'success', triggered_by: 'rollback', rollback_of: replaced.id, release_id: r.toRelease });
    expect(row!.build_hash).toBe(JSON.parse(fs.readFileSync(path.join(fx.deployRoot, 'vengeance-local', 'play', 'releases', r.toRelease, 'robbieblocks-release.json'), 'utf8')).build_hash);
    expect(has(releaseText(fx.deployRoot, 'vengeance-local', 'play'), 'robbie-play-home'), 'robbie-play-home').toBe(true); // the page was live then
    // the next content change builds normally
    const t0 = await dbNow(fx.db);
    await fx.db.query(`UPDATE robbieblocks_pages SET page_name = 'Check one again' WHERE page_key = 'check-one'`);
    const built = await waitForBuilds(fx.db, PLAY, t0);
    expect(built.get('vengeance-local/play')!.deploy_status).toBe('success');
    expect(has(releaseText(fx.deployRoot, 'vengeance-local', 'play'), 'robbie-play-home'), `absent: ` + 'robbie-play-home').toBe(false);
    // retention: at most 5 kept releases
    expect(fs.readdirSync(path.join(fx.deployRoot, 'vengeance-local', 'play', 'releases')).length).toBeLessThanOrEqual(5);
  });

  it('withdrawal: an app removed from enabled_apps stops being served ("app not enabled"), and comes back when re-enabled', async () => {
    const aurora = await serveSite(fx.deployRoot, 'aurora-town-local', 'code');
    try {
      expect((await fetch(aurora.url + '/')).status).toBe(200);
      const t0 = await dbNow(fx.db);
      await fx.db.query(`UPDATE robbieblocks_node_branding SET enabled_apps = '{work}' WHERE node_id = (SELECT id FROM nodes WHERE node_key = 'aurora-town-local')`);
      const built = await waitForBuilds(fx.db, ['aurora-town-local/code', 'aurora-town-local/work'], t0);
      expect(built.get('aurora-town-local/code')).toMatchObject({ deploy_status: 'success', triggered_by: 'branding_change', pages_count: 0 });
      const res = await fetch(aurora.url + '/some/page');
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('App not enabled');
      expect(fs.readdirSync(path.join(fx.deployRoot, 'aurora-town-local', 'code', 'releases')).length).toBeGreaterThan(0);

      const t1 = await dbNow(fx.db);
      await fx.db.query(`UPDATE robbieblocks_node_branding SET enabled_apps = '{work,code}', custom_css = '.rb-layout { outline: 1px solid var(--color-primary); }' WHERE node_id = (SELECT id FROM nodes WHERE node_key = 'aurora-town-local')`);
      const back = await waitForBuilds(fx.db, ['aurora-town-local/code'], t1);
      expect(back.get('aurora-town-local/code')!.deploy_status).toBe('success');
      expect((await fetch(aurora.url + '/')).status).toBe(200);
      expect(has(releaseText(fx.deployRoot, 'aurora-town-local', 'code'), 'outline: 1px solid var(--color-primary)'), 'outline: 1px solid var(--color-primary)').toBe(true);
    } finally {
      await aurora.close();
    }
  });

  it('check 9: 50 unprocessed changes made while no builder listened are all processed at start, in one build per pair', async () => {
    await worker.stop();
    const t0 = await dbNow(fx.db);
    for (let i = 0; i < 50; i++) {
      await fx.db.query(`UPDATE robbieblocks_pages SET meta_description = $1 WHERE page_key = 'check-one'`, [`edit ${i}`]);
    }
    const n = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM robbieblocks_change_triggers WHERE processed_at IS NULL`);
    expect(n.rows[0]!.n).toBe(50);
    worker = await start();
    const built = await waitForBuilds(fx.db, PLAY, t0);
    const left = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM robbieblocks_change_triggers WHERE processed_at IS NULL`);
    expect(left.rows[0]!.n).toBe(0);
    const all = await deploys(fx.db, `d.created_at > $1 AND n.node_key = 'vengeance-local' AND d.app_namespace = 'play'`, [t0]);
    expect(all).toHaveLength(1);
    expect(built.get('vengeance-local/play')!.deploy_status).toBe('success');
    expect(has(releaseText(fx.deployRoot, 'vengeance-local', 'play'), 'edit 49'), 'edit 49').toBe(true);
  });

  it('check 3: two builders on one queue build each pair once per change', async () => {
    const second = await start();
    try {
      const t0 = await dbNow(fx.db);
      // five changes committed together: both builders wake, each pair is built once
      await fx.db.transaction(async (tx) => {
        for (let i = 0; i < 5; i++) await tx.query(`UPDATE robbieblocks_pages SET page_name = $1 WHERE page_key = 'check-one'`, [`Two builders ${i}`]);
      });
      await waitForBuilds(fx.db, PLAY, t0);
      const rows = await deploys(fx.db, `d.created_at > $1 AND n.node_key = ANY($2::text[])`, [t0, NODES]);
      expect(rows.map((r) => `${r.node_key}/${r.app_namespace}`).sort()).toEqual([...PLAY].sort());
      expect(rows.every((r) => r.deploy_status === 'success')).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
