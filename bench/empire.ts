/**
 * The empire benchmark: a page edit committed on the master → the new content served by each
 * node's site, with 2 and 4 nodes, each node its own `up` process with its own embedded database
 * (joined with `up --master`), the master a PostgreSQL 15 database of a throwaway cluster.
 * Split per edit and node: sync (master commit → the change applied on the node: the node's
 * change row) and build (applied → the site answers with the new release). Beside it, in the same
 * run, the single-database figure of bench/blocks.ts (one database, a builder per node, in-process).
 * Prints a table and writes the "empire" section of bench/RESULTS.md.
 * Usage: npm run build && npx tsx bench/empire.ts [--edits 20] [--nodes 2,4]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerComponentLibrary } from '../src/blocks/library.js';
import { startBlocksWorker } from '../src/blocks/worker.js';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import { readSocketPassword } from '../src/db/socket-password.js';
import type { Db } from '../src/db/types.js';
import { embeddedMigrations } from '../src/migrate/embedded.js';
import { migrate } from '../src/migrate/runner.js';
import { startOwnServer } from '../test/helpers/server.js';
import { writeSection } from './results.js';

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : dflt);
const EDITS = Number(arg('--edits', '20'));
const NODES = arg('--nodes', '2,4').split(',').map(Number);
const CLI = path.join(import.meta.dirname, '..', 'dist', 'cli', 'index.js');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

interface NodeProc {
  key: string;
  home: string;
  child: ChildProcess;
  stderr: string;
  site: string;
  db: PostgresDb;
}

/** Nodes with one enabled app each and a one-page app on the master, before they join. */
async function prepareMaster(db: Db, keys: string[], app: string): Promise<void> {
  for (const [i, key] of keys.entries()) {
    await db.query(`INSERT INTO nodes (node_key, name, node_type) VALUES ($1, $1, 'edge') ON CONFLICT (node_key) DO NOTHING`, [key]);
    await db.query(
      `INSERT INTO robbieblocks_node_branding (node_id, display_name, theme, style_overrides, enabled_apps)
       SELECT id, $1::text, $4::text, jsonb_build_object('color.primary', $2::text), ARRAY[$3::text] FROM nodes WHERE node_key = $1::text`,
      [key, `#${(0x8b5cf6 + i * 4099).toString(16).slice(-6)}`, app, i % 2 ? 'light' : 'dark'],
    );
  }
  await db.query(
    `INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, meta_title, status)
     VALUES ($1, $2, 'Bench', '/', 'single-column', 'Bench', 'published')`,
    [`${app}-home`, app],
  );
  await db.query(
    `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
     SELECT p.id, c.id, 1, 'header', '{"title": "start"}' FROM robbieblocks_pages p, robbieblocks_components c
      WHERE p.page_key = $1 AND c.component_key = 'robbie-bar'`,
    [`${app}-home`],
  );
}

async function startNode(key: string, masterUrl: string): Promise<NodeProc> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `rv-bench-empire-${key}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_SITE_PORT: '0' };
  delete env.DATABASE_URL;
  delete env.ROBBIEVERSE_HOME;
  const child = spawn(process.execPath, [CLI, 'up', '--home', home, '--no-api', '--master', masterUrl, '--node', key], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const n = { key, home, child, stderr: '', site: '', db: undefined as unknown as PostgresDb };
  child.stderr!.on('data', (d) => (n.stderr += d));
  const t0 = Date.now();
  while (!/press Ctrl-C to stop/.test(n.stderr)) {
    if (child.exitCode !== null) throw new Error(`up for ${key} exited:\n${n.stderr}`);
    if (Date.now() - t0 > 240_000) throw new Error(`up for ${key} did not start:\n${n.stderr}`);
    await sleep(50);
  }
  n.site = /^ {4}\S+\s+\S+\s+(http:\/\/127\.0\.0\.1:\d+)\//m.exec(n.stderr)![1]!;
  const sock = /socket:\s+([\d.]+):(\d+)/.exec(n.stderr)!;
  n.db = await PostgresDb.open(`postgres://postgres:${encodeURIComponent(readSocketPassword(home)!)}@${sock[1]}:${sock[2]}/postgres`);
  return n;
}

async function stopNode(n: NodeProc): Promise<void> {
  await n.db.close().catch(() => {});
  if (n.child.exitCode === null) {
    const done = new Promise((r) => n.child.once('close', r));
    n.child.kill('SIGTERM');
    await done;
  }
  fs.rmSync(n.home, { recursive: true, force: true });
}

const served = async (site: string) => {
  try {
    const r = await fetch(`${site}/`);
    return r.status === 200 ? await r.text() : '';
  } catch {
    return '';
  }
};

/** Edits on the master, one after another; per node and edit: served, sync and build times. */
async function empire(masterUrl: string, n: number): Promise<{ served: number[]; sync: number[]; build: number[]; last: number[] }> {
  const master = await PostgresDb.open(masterUrl);
  const app = 'bench';
  const keys = Array.from({ length: n }, (_, i) => `empire-${n}-${i + 1}`);
  await prepareMaster(master, keys, app);
  const nodes: NodeProc[] = [];
  try {
    // joins one at a time (each takes a snapshot), then all run side by side
    for (const k of keys) nodes.push(await startNode(k, masterUrl));
    const current = new Map<string, string>();
    for (const node of nodes) {
      const t0 = Date.now();
      for (;;) {
        const html = await served(node.site);
        if (/<script/.test(html)) {
          current.set(node.key, html);
          break;
        }
        if (Date.now() - t0 > 120_000) throw new Error(`${node.key}: no first build\n${node.stderr}`);
        await sleep(50);
      }
    }
    const out = { served: [] as number[], sync: [] as number[], build: [] as number[], last: [] as number[] };
    // one warm-up edit first (a node's first pulls after joining also carry its start-up work)
    for (let i = -1; i < EDITS; i++) {
      const t0 = Date.now();
      await master.query(
        `UPDATE robbieblocks_page_blocks SET props = jsonb_build_object('title', $2::text)
          WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = $1) AND block_order = 1`,
        [`${app}-home`, `edit ${i}`],
      );
      const times = await Promise.all(nodes.map(async (node) => {
        for (;;) {
          const html = await served(node.site);
          if (html && html !== current.get(node.key) && /<script/.test(html)) {
            current.set(node.key, html);
            return Date.now() - t0;
          }
          if (Date.now() - t0 > 60_000) throw new Error(`${node.key}: edit ${i} not served after 60 s\n${node.stderr.slice(-2000)}`);
          await sleep(10);
        }
      }));
      if (i < 0) {
        await sleep(300);
        continue;
      }
      for (const [j, node] of nodes.entries()) {
        // the change row the applied content wrote on the node: when sync delivered it
        const { rows } = await node.db.query<{ at: Date }>(
          `SELECT min(created_at) AS at FROM robbieblocks_change_triggers WHERE created_at > to_timestamp($1::double precision / 1000)`,
          [t0],
        );
        const applied = rows[0]?.at ? new Date(rows[0].at).getTime() - t0 : NaN;
        out.served.push(times[j]!);
        out.sync.push(applied);
        out.build.push(times[j]! - applied);
      }
      out.last.push(Math.max(...times));
      process.stderr.write(`  ${n} nodes, edit ${i + 1}/${EDITS}: served ${times.map(fmt).join(', ')}; sync ${out.sync.slice(-n).map(fmt).join(', ')}\n`);
      // let the nodes settle (a late change row of this edit must not count for the next)
      await sleep(300);
    }
    return out;
  } finally {
    for (const node of nodes) await stopNode(node);
    await master.close();
  }
}

/** bench/blocks.ts's single-database figure: one database, a builder per node, quiet 200 ms. */
async function singleDatabase(n: number): Promise<number[]> {
  const db = await PgliteDb.open();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-bench-empire-single-'));
  try {
    await migrate(db, { files: embeddedMigrations() });
    await registerComponentLibrary(db);
    const app = 'single';
    const keys = Array.from({ length: n }, (_, i) => `single-${n}-${i + 1}`);
    await prepareMaster(db, keys, app);
    const workers = await Promise.all(keys.map((k) => startBlocksWorker({ db, deployRoot: root, nodeKeys: [k], quietMs: 200, pollMs: 60_000, syncComponents: false })));
    const settled = async (since: Date) => {
      for (;;) {
        const r = await db.query<{ n: number; busy: number }>(
          `SELECT count(DISTINCT node_id) FILTER (WHERE deploy_status = 'success' AND created_at >= $2)::int AS n,
                  count(*) FILTER (WHERE deploy_status IN ('pending', 'building', 'deploying'))::int AS busy
             FROM robbieblocks_deploys WHERE app_namespace = $1`,
          [app, since],
        );
        if (r.rows[0]!.n === n && r.rows[0]!.busy === 0) return;
        await sleep(20);
      }
    };
    await settled(new Date(0));
    const ms: number[] = [];
    for (let i = 0; i < EDITS; i++) {
      const c = await db.query<{ t: Date }>(
        `UPDATE robbieblocks_page_blocks SET props = jsonb_build_object('title', $2::text)
          WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = $1) AND block_order = 1 RETURNING now() AS t`,
        [`${app}-home`, `edit ${i}`],
      );
      const t0 = new Date(c.rows[0]!.t);
      await settled(t0);
      const r = await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM completed_at - $2::timestamptz) * 1000 AS ms FROM robbieblocks_deploys WHERE app_namespace = $1 AND created_at >= $2`,
        [app, t0],
      );
      ms.push(...r.rows.map((x) => Number(x.ms)));
    }
    await Promise.all(workers.map((w) => w.stop()));
    return ms;
  } finally {
    await db.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (!fs.existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
const server = startOwnServer();
const rows: string[] = [];
try {
  for (const n of NODES) {
    const name = `rv_bench_empire_${n}`;
    const admin = await PostgresDb.open(server.url);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.close();
    const masterUrl = server.url.replace(/\/[^/]*$/, `/${name}`);
    const m = await PostgresDb.open(masterUrl);
    await migrate(m, { files: embeddedMigrations() });
    await m.close();
    const e = await empire(masterUrl, n);
    process.stderr.write(`empire: ${n} nodes done\n`);
    const single = await singleDatabase(n);
    process.stderr.write(`single database: ${n} nodes done\n`);
    rows.push(
      `| ${n} | ${EDITS} | ${fmt(pct(e.served, 50))} | ${fmt(pct(e.served, 95))} | ${fmt(pct(e.last, 50))} | ${fmt(pct(e.sync, 50))} / ${fmt(pct(e.sync, 95))} | ${fmt(pct(e.build, 50))} / ${fmt(pct(e.build, 95))} | ${fmt(pct(single, 50))} / ${fmt(pct(single, 95))} | ${(pct(e.served, 50) / pct(single, 50)).toFixed(2)}× |`,
    );
  }
} finally {
  server.stop();
}
const body = [
  '## The empire: master edit → served by every node (`bench/empire.ts`)',
  '',
  `Machine: ${os.cpus().length} cores; every node runs here too, so N nodes share these cores for their builds. The master is a PostgreSQL 15 database; each node is its own \`up --master\` process with its own embedded database. An edit is one \`UPDATE\` of a block's props on the master; "served" is until the node's site answers with the new release (polled every 10 ms). Sync = master commit → the change applied on the node (its change row); build = applied → served (a joined node's 200 ms quiet period, planning, Vite build, switch). Single database = bench/blocks.ts's figure measured in this run: the same edit and app on one embedded database with a builder per node in one process (commit → deploy \`success\`).`,
  '',
  '| nodes | edits | served p50 | served p95 | last node p50 | sync p50 / p95 | build p50 / p95 | single database p50 / p95 | served p50 ÷ single |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
process.stdout.write(body + '\n');
writeSection('empire', body);
