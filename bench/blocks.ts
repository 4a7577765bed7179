/**
 * RobbieBlocks builder figures: change → live latency over block edits with 2 and with 4 nodes
 * building the same app, build time of 1-, 10- and 100-page apps, and the time to decide that
 * unchanged content needs no build (skipped). In-process worker, real Vite builds.
 * Prints a table and writes the "blocks" section of bench/RESULTS.md.
 * Usage: npx tsx bench/blocks.ts [--edits 50] [--quiet-ms 200] [--postgres]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDeploy } from '../src/blocks/build.js';
import { claimDeploy, newBuilderId } from '../src/blocks/claim.js';
import { registerComponentLibrary } from '../src/blocks/library.js';
import { requestDeploy } from '../src/blocks/request.js';
import { startBlocksWorker } from '../src/blocks/worker.js';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db } from '../src/db/types.js';
import { embeddedMigrations } from '../src/migrate/embedded.js';
import { migrate } from '../src/migrate/runner.js';
import { startOwnServer } from '../test/helpers/server.js';
import { writeSection } from './results.js';

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const EDITS = arg('--edits', 50);
const QUIET = arg('--quiet-ms', 200);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fresh(db: Db): Promise<void> {
  await migrate(db, { files: embeddedMigrations() });
  await registerComponentLibrary(db);
  // Start from an empty queue: the seed's change rows are not what is measured.
  await db.query(`UPDATE robbieblocks_change_triggers SET processed_at = now() WHERE processed_at IS NULL`);
}

/** N nodes whose only enabled app is `bench`; returns their keys. */
async function benchNodes(db: Db, n: number, app: string): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 1; i <= n; i++) {
    const key = `bench-${app}-${n}-${i}`;
    await db.query(`INSERT INTO nodes (node_key, name, node_type) VALUES ($1, $1, 'edge') ON CONFLICT (node_key) DO NOTHING`, [key]);
    await db.query(
      `INSERT INTO robbieblocks_node_branding (node_id, display_name, theme, style_overrides, enabled_apps)
       SELECT id, $1::text, 'dark', jsonb_build_object('color.primary', $2::text), ARRAY[$3::text] FROM nodes WHERE node_key = $1::text
       ON CONFLICT (node_id) DO NOTHING`,
      [key, `#${(0x8b5cf6 + i * 4099).toString(16).slice(-6)}`, app],
    );
    keys.push(key);
  }
  return keys;
}

async function addPages(db: Db, app: string, count: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      const p = await tx.query<{ id: string }>(
        `INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, meta_title, status)
         VALUES ($1, $2, $3, $4, 'sidebar-left', $3, 'published') RETURNING id`,
        [`${app}-page-${i}`, app, `Page ${i}`, i === 0 ? '/' : `/p/${i}`],
      );
      const blocks: [string, string, object][] = [
        ['header', 'robbie-bar', { title: `Page ${i}` }],
        ['sidebar', 'mood-indicator', { compact: true }],
        ['main', 'sticky-notes', { limit: 10 }],
      ];
      let order = 1;
      for (const [zone, key, props] of blocks) {
        await tx.query(
          `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
           SELECT $1::uuid, id, $2, $3, $4::jsonb FROM robbieblocks_components WHERE component_key = $5`,
          [p.rows[0]!.id, order++, zone, JSON.stringify(props), key],
        );
      }
    }
  });
}

/** Commit → live for each node, per edit: the deploy's completed_at minus the change row's created_at. */
async function latency(db: Db, nodes: number, root: string, builderPerNode: boolean): Promise<{ perNode: number[]; lastNode: number[] }> {
  const app = `lat${nodes}${builderPerNode ? 'each' : 'one'}`;
  const keys = await benchNodes(db, nodes, app);
  await addPages(db, app, 1);
  // As deployed, every node runs a builder for itself (BLOCKS.md §2.5); the other case is one
  // builder serving all nodes, which builds them one after another.
  const workers = await Promise.all((builderPerNode ? keys.map((k) => [k]) : [keys]).map((nodeKeys) =>
    startBlocksWorker({ db, deployRoot: root, nodeKeys, quietMs: QUIET, pollMs: 60_000, syncComponents: false })));
  const waitAllLive = async (since: Date) => {
    for (;;) {
      const r = await db.query<{ n: number; busy: number }>(
        `SELECT count(DISTINCT d.node_id) FILTER (WHERE d.deploy_status IN ('success', 'skipped', 'failed') AND d.created_at >= $2)::int AS n,
                count(*) FILTER (WHERE d.deploy_status IN ('pending', 'building', 'deploying'))::int AS busy
           FROM robbieblocks_deploys d WHERE d.app_namespace = $1`,
        [app, since],
      );
      if (r.rows[0]!.n === nodes && r.rows[0]!.busy === 0) return;
      await sleep(20);
    }
  };
  await waitAllLive(new Date(0));
  const perNode: number[] = [];
  const lastNode: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const c = await db.query<{ created_at: Date }>(
      `UPDATE robbieblocks_page_blocks SET props = jsonb_build_object('title', $2::text)
        WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = $1) AND block_order = 1 RETURNING now() AS created_at`,
      [`${app}-page-0`, `edit ${i}`],
    );
    const t0 = new Date(c.rows[0]!.created_at);
    await waitAllLive(t0);
    const r = await db.query<{ ms: number; status: string }>(
      `SELECT extract(epoch FROM d.completed_at - $2::timestamptz) * 1000 AS ms, d.deploy_status AS status
         FROM robbieblocks_deploys d WHERE d.app_namespace = $1 AND d.created_at >= $2`,
      [app, t0],
    );
    const ms = r.rows.map((x) => Number(x.ms));
    if (r.rows.some((x) => x.status !== 'success')) throw new Error(`edit ${i}: ${JSON.stringify(r.rows)}`);
    perNode.push(...ms);
    lastNode.push(Math.max(...ms));
  }
  await Promise.all(workers.map((w) => w.stop()));
  return { perNode, lastNode };
}

async function buildTimes(db: Db, root: string): Promise<string[]> {
  const out: string[] = [];
  for (const pages of [1, 10, 100]) {
    const app = `size${pages}`;
    const [key] = await benchNodes(db, 1, app);
    await addPages(db, app, pages);
    await db.query(`UPDATE robbieblocks_change_triggers SET processed_at = now() WHERE processed_at IS NULL`);
    const run = async () => {
      const req = await requestDeploy(db, { nodeKey: key!, app });
      const job = (await claimDeploy(db, null, newBuilderId(), req.deployId))!;
      const t0 = performance.now();
      const o = await runDeploy(db, job, { deployRoot: root, retries: 0 });
      const ms = performance.now() - t0;
      const row = (await db.query<{ build_duration_ms: number; deploy_duration_ms: number; artifact_bytes: number }>(
        `SELECT build_duration_ms, deploy_duration_ms, artifact_bytes FROM robbieblocks_deploys WHERE id = $1`,
        [job.id],
      )).rows[0]!;
      return { o, ms, row };
    };
    const built = await run();
    if (built.o.status !== 'success') throw new Error(`${pages} pages: ${built.o.status} ${built.o.error}`);
    const skipped = await run();
    if (skipped.o.status !== 'skipped') throw new Error(`${pages} pages unchanged: ${skipped.o.status}`);
    out.push(
      `| ${pages} | ${(built.ms / 1000).toFixed(2)} s | ${(built.row.build_duration_ms / 1000).toFixed(2)} s | ${built.row.deploy_duration_ms} ms | ${(built.row.artifact_bytes / 1024).toFixed(0)} KiB | ${skipped.ms.toFixed(0)} ms |`,
    );
  }
  return out;
}

async function bench(label: string, db: Db): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-bench-blocks-'));
  try {
    await fresh(db);
    const lat: string[] = [];
    for (const each of [true, false]) {
      for (const n of [2, 4]) {
        const r = await latency(db, n, root, each);
        lat.push(`| ${n} | ${each ? 'one per node (as deployed)' : 'one for all nodes'} | ${EDITS} | ${pct(r.perNode, 50).toFixed(0)} ms | ${pct(r.perNode, 95).toFixed(0)} ms | ${pct(r.lastNode, 50).toFixed(0)} ms | ${pct(r.lastNode, 95).toFixed(0)} ms |`);
        process.stderr.write(`${label}: ${n} nodes, ${each ? 'a builder per node' : 'one builder'} done\n`);
      }
    }
    const sizes = await buildTimes(db, root);
    return [
      `### ${label}`,
      '',
      `Change → live (commit of a block edit → deploy row \`success\`, new release behind \`current\`), edits one after another, quiet period ${QUIET} ms. All nodes' builders run on this one machine (on real nodes each builds on its own):`,
      '',
      '| nodes | builders | edits | p50 per node | p95 per node | p50 last node | p95 last node |',
      '|---|---|---|---|---|---|---|',
      ...lat,
      '',
      'One app of N pages (3 blocks each), one node: first build, then the same content again (hash equal → `skipped`, no Vite run):',
      '',
      '| pages | total | generate + Vite build | deploy (switch) | artifacts | unchanged → skipped |',
      '|---|---|---|---|---|---|',
      ...sizes,
    ].join('\n');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const sections: string[] = [];
{
  const db = await PgliteDb.open();
  sections.push(await bench('PGlite (in-process, single connection)', db));
  await db.close();
}
if (process.argv.includes('--postgres')) {
  const server = startOwnServer();
  try {
    const db = await PostgresDb.open(server.url);
    sections.push(await bench('PostgreSQL 15 (throwaway cluster)', db));
    await db.close();
  } finally {
    server.stop();
  }
}
const body = [
  '## RobbieBlocks builder (`bench/blocks.ts`)',
  '',
  `Machine: ${os.cpus().length} cores. Latency is the quiet period plus one Vite build: with a builder per node the nodes build side by side (here on the same 2 cores); a single builder serving all nodes builds one (node, app) at a time, so the last of N nodes waits for N builds.`,
  '',
  ...sections,
].join('\n');
process.stdout.write(body + '\n');
writeSection('blocks', body);
