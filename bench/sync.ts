/**
 * Node sync figures (issue 11), PostgreSQL 15 master, PGlite and PostgreSQL nodes:
 *  1. push latency: a commit on a node → the row applied on the master (a NOTIFY from a trigger
 *     added to the benchmark's master database only), with the daemon, debounce 200 ms and 0;
 *  2. throughput draining a backlog master → node and node → master, beside PostgreSQL's own
 *     logical replication of the same rows between two clusters, measured in the same run;
 *  3. convergence after a partition: changes on both sides, 1 % of rows contested;
 *  4. capture overhead: inserts into a synced table vs an unsynced copy on the same node;
 *  5. scale: 1, 10 and 50 PGlite nodes pulling from one master: time and master CPU per pull.
 * Prints tables and writes the "sync" section of bench/RESULTS.md (not when SYNC_BENCH_ONLY
 * restricts the parts).
 * Usage: npx tsx bench/sync.ts                     (npm run bench:sync)
 *   SYNC_BENCH_QUICK=1        small sizes (a few minutes)
 *   SYNC_BENCH_ROWS=100000    backlog rows (part 2)
 *   SYNC_BENCH_WRITES=200     writes per latency measurement (part 1)
 *   SYNC_BENCH_CHANGES=10000  changes per side (part 3)
 *   SYNC_BENCH_CAPTURE_SINGLE=300, SYNC_BENCH_CAPTURE_BULK=5000, SYNC_BENCH_CAPTURE_ROUNDS=5  (part 4)
 *   SYNC_BENCH_SCALE=1,10,50  node counts (part 5)
 *   SYNC_BENCH_ONLY=1,2       run only these parts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db } from '../src/db/types.js';
import { SyncDaemon } from '../src/sync/daemon.js';
import { DEFAULT_BATCH_SIZE, exchange, hello, type ExchangeResult } from '../src/sync/exchange.js';
import { writeSection } from './results.js';
import { replacePart } from './sync-support.js';
import {
  countTasks,
  DEFAULT_ORG,
  fmtInt,
  fmtMs,
  insertTasks,
  joinNode,
  median,
  openPgliteCopy,
  pct,
  pgliteTemplate,
  sleep,
  startCluster,
  tasksChecksum,
  tempRoot,
  type Cluster,
  type Node,
} from './sync-support.js';

const QUICK = process.env.SYNC_BENCH_QUICK === '1';
const num = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));
const ROWS = num('SYNC_BENCH_ROWS', 100_000, 5_000);
const WRITES = num('SYNC_BENCH_WRITES', 200, 30);
const CHANGES = num('SYNC_BENCH_CHANGES', 10_000, 1_000);
const SCALE = (process.env.SYNC_BENCH_SCALE ?? (QUICK ? '1,2,5' : '1,10,50')).split(',').map(Number);
const ONLY = process.env.SYNC_BENCH_ONLY?.split(',').map(Number);
const part = (n: number) => !ONLY || ONLY.includes(n);
const ENGINES = ['PGlite', 'PostgreSQL'] as const;
type EngineName = (typeof ENGINES)[number];

const root = tempRoot();
let master: Cluster | undefined;
let other: Cluster | undefined;
let pgliteDir: string | undefined;
let seq = 0;

const log = (s: string) => console.log(s);

/** A fresh master database (copied from the migrated template) on the master cluster. */
async function masterDb(tag: string): Promise<{ url: string; db: PostgresDb }> {
  const url = await master!.createDb(`m_${tag}_${++seq}`);
  return { url, db: await PostgresDb.open(url, { max: 4 }) };
}

/** A fresh migrated node database of the engine, joined to the master at `masterUrl`. */
async function newNode(engine: EngineName, masterUrl: string, key: string): Promise<Node> {
  let db: Db;
  if (engine === 'PGlite') {
    db = await openPgliteCopy(pgliteDir!, root, `${key}-${++seq}`);
  } else {
    db = await PostgresDb.open(await other!.createDb(`n_${key.replace(/[^a-z0-9]/g, '_')}_${++seq}`), { max: 4 });
  }
  return joinNode(db, masterUrl, key, root);
}

/** The hub as the node's role; `ms` adds up the time spent waiting for the hub's answers. */
async function hubFor(node: Node): Promise<PostgresDb & { ms: number }> {
  const hub = (await PostgresDb.open(node.settings.masterUrl, { max: 1 })) as PostgresDb & { ms: number };
  await hub.query('SELECT 1');
  hub.ms = 0;
  const query = hub.query.bind(hub);
  hub.query = (async (sql: string, params?: unknown[]) => {
    const t = performance.now();
    try {
      return await query(sql, params);
    } finally {
      hub.ms += performance.now() - t;
    }
  }) as typeof hub.query;
  return hub;
}

async function closeNode(node: Node): Promise<void> {
  await node.db.close();
  if (node.engine === 'PGlite') fs.rmSync(path.join(root, path.basename(node.db.location)), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 1. Push latency
// ---------------------------------------------------------------------------------------------

/** Arrival times on the master of rows applied by sync (by task id), from a trigger of the benchmark's own. */
async function arrivals(masterUrl: string): Promise<{ wait(id: string): Promise<number>; close(): Promise<void> }> {
  const m = await PostgresDb.open(masterUrl, { max: 1 });
  // WHEN names the applier's setting, so sync.attach() leaves this trigger as it is; it fires
  // only for rows the sync applier writes.
  await m.exec(`
    CREATE FUNCTION bench_sync_arrived() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('bench_sync_arrived', NEW.id::text); RETURN NULL; END $$;
    CREATE TRIGGER bench_sync_arrived AFTER INSERT OR UPDATE ON tasks FOR EACH ROW
      WHEN (current_setting('robbieverse.sync_applying', true) = 'on') EXECUTE FUNCTION bench_sync_arrived();`);
  await m.close();
  const client = new pg.Client({ connectionString: masterUrl });
  await client.connect();
  const seen = new Map<string, number>();
  const waiting = new Map<string, (t: number) => void>();
  client.on('notification', (n) => {
    const t = performance.now();
    const w = waiting.get(n.payload!);
    if (w) w(t);
    else seen.set(n.payload!, t);
  });
  await client.query('LISTEN bench_sync_arrived');
  return {
    wait: (id) =>
      new Promise<number>((resolve, reject) => {
        const t = seen.get(id);
        if (t !== undefined) return resolve(t);
        const timer = setTimeout(() => reject(new Error(`task ${id} did not reach the master within 30 s`)), 30_000);
        waiting.set(id, (at) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(at);
        });
      }),
    close: () => client.end(),
  };
}

async function latency(engine: EngineName): Promise<string[]> {
  const m = await masterDb('lat');
  const node = await newNode(engine, m.url, `lat-${engine.toLowerCase()}`);
  const arrived = await arrivals(m.url);
  const rows: string[] = [];
  try {
    for (const debounceMs of [200, 0]) {
      let first: () => void = () => {};
      const started = new Promise<void>((r) => (first = r));
      let failure: Error | undefined;
      const daemon = new SyncDaemon({
        local: node.db,
        settings: node.settings,
        debounceMs,
        pullIntervalMs: 3_600_000,
        onEvent: (e) => {
          if (e.type === 'exchange') first();
          if (e.type === 'error') failure = e.error;
        },
      });
      await daemon.start();
      await started;
      const ms: number[] = [];
      try {
        for (let i = 0; i < WRITES; i++) {
          const r = await node.db.query<{ id: string }>(`INSERT INTO tasks (org_id, title) VALUES ($1, $2) RETURNING id`, [DEFAULT_ORG, `latency ${debounceMs} ${i}`]);
          const t0 = performance.now();
          const t1 = await arrived.wait(r.rows[0]!.id);
          if (failure) throw failure;
          ms.push(t1 - t0);
          // Writes come apart from each other: each one is a push of its own.
          await sleep(5 + (i % 7) * 3);
        }
      } finally {
        await daemon.stop();
      }
      const p50 = median(ms);
      const p95 = pct(ms, 95);
      rows.push(
        `| ${engine} | ${debounceMs} ms | ${ms.length} | ${fmtMs(p50)} | ${fmtMs(p95)} | ${fmtMs(Math.max(...ms))} | **${fmtMs(p50 - debounceMs)}** |`,
      );
      log(rows[rows.length - 1]!);
    }
  } finally {
    await arrived.close();
    await closeNode(node);
    await m.db.close();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 2. Throughput draining a backlog, and PostgreSQL's logical replication of the same rows
// ---------------------------------------------------------------------------------------------

interface Drain {
  rows: number;
  /** Of `ms`, the time spent waiting for the hub (its sync.push / sync.pull calls). */
  hubMs?: number;
  writeMs: number;
  ms: number;
  changes: number;
  batches: number;
}

async function throughput(engine: EngineName): Promise<{ pull: Drain; push: Drain; ownSkipMs: number; ownSkip: ExchangeResult }> {
  const m = await masterDb('tp');
  const node = await newNode(engine, m.url, `tp-${engine.toLowerCase()}`);
  const hub = await hubFor(node);
  const link = { local: node.db, hub, nodeKey: node.key };
  try {
    // master → node: rows written on the master while the node does not exchange, then one pull drains them.
    let t = performance.now();
    await insertTasks(m.db, ROWS, 'pull ');
    const pullWrite = performance.now() - t;
    t = performance.now();
    hub.ms = 0;
    const pr = await exchange(link, { push: false, pull: true });
    const pullMs = performance.now() - t;
    const pullHub = hub.ms;
    const got = await countTasks(node.db, 'pull ');
    if (got !== ROWS) throw new Error(`${engine}: node has ${got} of ${ROWS} pulled rows`);

    // node → master.
    t = performance.now();
    await insertTasks(node.db, ROWS, 'push ');
    const pushWrite = performance.now() - t;
    t = performance.now();
    hub.ms = 0;
    const ps = await exchange(link, { push: true, pull: false });
    const pushMs = performance.now() - t;
    const pushHub = hub.ms;
    const there = await countTasks(m.db, 'push ');
    if (there !== ROWS) throw new Error(`${engine}: master has ${there} of ${ROWS} pushed rows`);

    // The node's next pull reads past the hub's relays of its own changes (none are sent).
    t = performance.now();
    const own = await exchange(link, { push: false, pull: true });
    const ownSkipMs = performance.now() - t;
    const r = {
      pull: { rows: ROWS, writeMs: pullWrite, ms: pullMs, hubMs: pullHub, changes: pr.pull.received, batches: pr.pull.batches },
      push: { rows: ROWS, writeMs: pushWrite, ms: pushMs, hubMs: pushHub, changes: ps.push.sent, batches: ps.push.batches },
      ownSkipMs,
      ownSkip: own,
    };
    log(`${engine}: pull ${fmtInt(ROWS / (pullMs / 1000))} rows/s (${Math.round((100 * pullHub) / pullMs)} % waiting for the master), push ${fmtInt(ROWS / (pushMs / 1000))} rows/s (${Math.round((100 * pushHub) / pushMs)} %), own-relay skip ${fmtMs(ownSkipMs)} (${own.pull.received} received)`);
    return r;
  } finally {
    await hub.close();
    await closeNode(node);
    await m.db.close();
  }
}

/** The same rows (tasks and their audit_log rows) by PostgreSQL 15's logical replication, master cluster → other cluster. */
async function native(): Promise<Drain & { catchUpLiveMs: number }> {
  const pubUrl = await master!.createDb(`native_pub_${++seq}`);
  const subUrl = await other!.createDb(`native_sub_${seq}`);
  const pub = await PostgresDb.open(pubUrl, { max: 2 });
  const sub = await PostgresDb.open(subUrl, { max: 2 });
  const name = `bench_sub_${seq}`;
  const waitFor = async (what: string, fn: () => Promise<boolean>, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`native replication: ${what} did not happen within ${ms} ms`);
      await sleep(20);
    }
  };
  const slotActive = async () => (await pub.query<{ a: boolean }>(`SELECT coalesce(bool_or(active), false) AS a FROM pg_replication_slots WHERE slot_name = $1`, [name])).rows[0]!.a;
  try {
    await pub.exec(`CREATE PUBLICATION bench_pub FOR TABLE tasks, audit_log`);
    const u = new URL(pubUrl);
    await sub.exec(
      `CREATE SUBSCRIPTION ${name} CONNECTION 'host=${u.hostname} port=${u.port} dbname=${u.pathname.slice(1)} user=postgres'
         PUBLICATION bench_pub WITH (copy_data = false, slot_name = '${name}')`,
    );
    await waitFor('subscription start', slotActive);
    // Warm-up and the live case: rows written while the subscription streams.
    let t = performance.now();
    await insertTasks(pub, ROWS, 'live ');
    await waitFor('live catch-up', async () => (await countTasks(sub, 'live ')) === ROWS, 600_000);
    const catchUpLiveMs = performance.now() - t;
    // The backlog: written while the subscription is disabled (its slot keeps the WAL), then drained.
    await sub.exec(`ALTER SUBSCRIPTION ${name} DISABLE`);
    await waitFor('subscription stop', async () => !(await slotActive()));
    t = performance.now();
    await insertTasks(pub, ROWS, 'native ');
    const writeMs = performance.now() - t;
    t = performance.now();
    await sub.exec(`ALTER SUBSCRIPTION ${name} ENABLE`);
    await waitFor('backlog catch-up', async () => (await countTasks(sub, 'native ')) === ROWS, 600_000);
    const ms = performance.now() - t;
    const audit = (await sub.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE entity_type = 'tasks'`)).rows[0]!.n;
    log(`native: ${fmtInt(ROWS / (ms / 1000))} rows/s (backlog), live ${fmtMs(catchUpLiveMs)}; audit rows on subscriber ${audit}`);
    await sub.exec(`DROP SUBSCRIPTION ${name}`);
    return { rows: ROWS, writeMs, ms, changes: ROWS * 2, batches: 0, catchUpLiveMs };
  } finally {
    await pub.close();
    await sub.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Convergence after a partition
// ---------------------------------------------------------------------------------------------

async function conflictsOn(db: Db, detectedOn: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sync_conflicts WHERE table_name = 'tasks' AND detected_on_node_id = $1`, [detectedOn]);
  return rows[0]!.n;
}

async function convergence(engine: EngineName): Promise<string> {
  const m = await masterDb('conv');
  const node = await newNode(engine, m.url, `conv-${engine.toLowerCase()}`);
  const hub = await hubFor(node);
  const link = { local: node.db, hub, nodeKey: node.key };
  const contested = Math.round(CHANGES / 100);
  try {
    await insertTasks(m.db, contested, 'shared ');
    await exchange(link);
    const ids = (await node.db.query<{ id: string }>(`SELECT id FROM tasks WHERE title LIKE 'shared %' ORDER BY id`)).rows.map((r) => r.id);
    if (ids.length !== contested) throw new Error(`node has ${ids.length} of ${contested} shared rows`);
    // Partition: both sides write, nobody exchanges. Each contested row is updated on both
    // sides; which side writes last alternates, so both sides win some.
    let nodeWins = 0;
    for (const [i, id] of ids.entries()) {
      const onNode = () => node.db.query(`UPDATE tasks SET title = title || ' @node', status = 'doing' WHERE id = $1`, [id]);
      const onMaster = () => m.db.query(`UPDATE tasks SET title = title || ' @master', priority = 'high' WHERE id = $1`, [id]);
      // 2 ms apart: writes on two databases within one millisecond are concurrent for the clock
      // (either may get the higher stamp, ties go to the greater node id), not "first and last".
      if (i % 2) {
        await onNode();
        await sleep(2);
        await onMaster();
      } else {
        await onMaster();
        await sleep(2);
        await onNode();
        nodeWins++;
      }
    }
    await Promise.all([insertTasks(node.db, CHANGES - contested, 'conv node '), insertTasks(m.db, CHANGES - contested, 'conv master ')]);
    const t0 = performance.now();
    let exchanges = 0;
    let moved = 0;
    for (;;) {
      const r = await exchange(link);
      exchanges++;
      const n = r.push.sent + r.pull.received;
      moved += n;
      if (n === 0) break;
      if (exchanges > 20) throw new Error('convergence: still moving changes after 20 exchanges');
    }
    const ms = performance.now() - t0;
    const [a, b] = await Promise.all([tasksChecksum(m.db), tasksChecksum(node.db)]);
    const onHub = await conflictsOn(m.db, node.settings.hubNodeId);
    const onNodeC = await conflictsOn(node.db, node.settings.nodeId);
    const nodeWon = (await m.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE title LIKE 'shared % @node'`)).rows[0]!.n;
    const equal = a.md5 === b.md5 && a.n === b.n;
    const row = `| ${engine} | ${fmtInt(CHANGES)} + ${fmtInt(CHANGES)} | ${contested} | ${fmtMs(ms)} | ${exchanges} | ${fmtInt(moved)} | ${fmtInt((2 * CHANGES) / (ms / 1000))} | ${equal ? `equal (${fmtInt(a.n)} rows)` : `**DIFFERENT** ${a.n}/${b.n}`} | ${onHub} / ${onNodeC} | ${nodeWon} of ${contested} (expected ${nodeWins}) |`;
    log(row);
    if (!equal) throw new Error(`convergence on ${engine}: master and node differ`);
    return row;
  } finally {
    await hub.close();
    await closeNode(node);
    await m.db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Capture overhead
// ---------------------------------------------------------------------------------------------

/** A migrated database of the engine that never joined: same schema and triggers, no capture. */
async function unjoinedDb(engine: EngineName): Promise<Db> {
  if (engine === 'PGlite') return openPgliteCopy(pgliteDir!, root, `unjoined-${++seq}`);
  return PostgresDb.open(await other!.createDb(`unjoined_${++seq}`), { max: 4 });
}

async function captureOverhead(engine: EngineName): Promise<string[]> {
  const m = await masterDb('cap');
  const node = await newNode(engine, m.url, `cap-${engine.toLowerCase()}`);
  const plain = await unjoinedDb(engine);
  const db = node.db;
  const SINGLE = num('SYNC_BENCH_CAPTURE_SINGLE', 300, 100);
  const BULK = num('SYNC_BENCH_CAPTURE_BULK', 5000, 1000);
  const ROUNDS = num('SYNC_BENCH_CAPTURE_ROUNDS', 5, 3);
  try {
    // Two unsynced copies: one bare (LIKE … INCLUDING ALL copies no triggers), one with the
    // same triggers as tasks except sync's (audit, updated_at, reference checks).
    await db.exec(`CREATE TABLE bench_tasks_bare (LIKE tasks INCLUDING ALL); CREATE TABLE bench_tasks_triggers (LIKE tasks INCLUDING ALL);`);
    const defs = await db.query<{ def: string }>(
      `SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = 'public.tasks'::regclass AND NOT tgisinternal AND tgname NOT LIKE 'sync\\_%'`,
    );
    for (const { def } of defs.rows) await db.exec(def.replace(' ON public.tasks ', ' ON public.bench_tasks_triggers '));
    const captured = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.tasks'::regclass AND tgname = 'sync_capture'`)).rows[0]!.n;
    if (captured !== 1) throw new Error('tasks has no capture trigger on the node');
    const targets: [string, Db, string][] = [
      ['synced', db, 'tasks'],
      ['unjoined', plain, 'tasks'],
      ['triggers', db, 'bench_tasks_triggers'],
      ['bare', db, 'bench_tasks_bare'],
    ];
    const single: Record<string, number[]> = {};
    const bulk: Record<string, number[]> = {};
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order so drift in the machine's speed hits every target alike.
      const k = r % targets.length;
      for (const [name, tdb, t] of [...targets.slice(k), ...targets.slice(0, k)]) {
        let t0 = performance.now();
        for (let i = 0; i < SINGLE; i++) {
          await tdb.query(`INSERT INTO ${t} (org_id, title, tags) VALUES ($1, $2, ARRAY['bench'])`, [DEFAULT_ORG, `single ${r} ${i}`]);
        }
        (single[name] ??= []).push(SINGLE / ((performance.now() - t0) / 1000));
        t0 = performance.now();
        await insertTasks(tdb, BULK, `bulk ${r} `, BULK, t);
        (bulk[name] ??= []).push(BULK / ((performance.now() - t0) / 1000));
      }
    }
    const out: string[] = [];
    for (const [kind, xs] of [
      [`single-row INSERT, autocommit (${SINGLE} per round)`, single],
      [`INSERT … SELECT of ${fmtInt(BULK)} rows, one statement`, bulk],
    ] as const) {
      const [s, u, tr, b] = targets.map(([name]) => median(xs[name]!));
      out.push(
        `| ${engine} | ${kind} | ${fmtInt(s!)} | ${fmtInt(u!)} | ${fmtInt(tr!)} | ${fmtInt(b!)} | **${(u! / s!).toFixed(2)}×** | ${(tr! / s!).toFixed(2)}× | ${(b! / s!).toFixed(2)}× |`,
      );
      log(out[out.length - 1]!);
    }
    return out;
  } finally {
    await plain.close();
    await closeNode(node);
    await m.db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Scale: many PGlite nodes pulling from one master
// ---------------------------------------------------------------------------------------------

interface ScaleRow {
  nodes: number;
  pending: number;
  pullMs: number[];
  /** Of pullMs, waiting for the master's answers. */
  hubMs: number[];
  cpuMs: number[];
  /** hello on the new connection, before the measured exchange. */
  firstCallMs: number[];
  firstCallCpuMs: number[];
  joinMs: number[];
  received: number[];
}

async function scale(): Promise<{ rows: ScaleRow[]; openMs: number[] }> {
  const m = await masterDb('scale');
  const PENDING = 100;
  const nodes: { key: string; dir: string; settings: Node['settings'] }[] = [];
  const openMs: number[] = [];
  const out: ScaleRow[] = [];
  try {
    for (const n of SCALE) {
      const joinMs: number[] = [];
      while (nodes.length < n) {
        const key = `scale-${nodes.length + 1}`;
        const db = await openPgliteCopy(pgliteDir!, root, key);
        const t = performance.now();
        const node = await joinNode(db, m.url, key, root);
        joinMs.push(performance.now() - t);
        await db.close();
        nodes.push({ key, dir: db.location, settings: node.settings });
      }
      await insertTasks(m.db, PENDING, `scale ${n} `);
      const row: ScaleRow = { nodes: n, pending: PENDING, pullMs: [], hubMs: [], cpuMs: [], firstCallMs: [], firstCallCpuMs: [], joinMs, received: [] };
      for (const nd of nodes) {
        let t = performance.now();
        const db = await PgliteDb.open(nd.dir);
        openMs.push(performance.now() - t);
        const hub = await hubFor({ settings: nd.settings } as Node);
        try {
          // A new connection's first call fills the backend's caches: measured apart (a daemon
          // keeps its connection, so this happens once per start or reconnect).
          let c0 = master!.cpuMs();
          t = performance.now();
          await hello({ local: db, hub, nodeKey: nd.key });
          row.firstCallMs.push(performance.now() - t);
          row.firstCallCpuMs.push(master!.cpuMs() - c0);
          hub.ms = 0;
          c0 = master!.cpuMs();
          t = performance.now();
          const r = await exchange({ local: db, hub, nodeKey: nd.key });
          row.pullMs.push(performance.now() - t);
          row.hubMs.push(hub.ms);
          row.cpuMs.push(master!.cpuMs() - c0);
          row.received.push(r.pull.received);
          if (r.pull.received < PENDING) throw new Error(`${nd.key} received ${r.pull.received} of ${PENDING} changes`);
        } finally {
          await hub.close();
          await db.close();
        }
      }
      const sumCpu = row.cpuMs.reduce((a, b) => a + b, 0);
      log(`scale ${n}: pull p50 ${fmtMs(median(row.pullMs))} (waiting for the master ${fmtMs(median(row.hubMs))}), master CPU ${fmtMs(sumCpu / n)} per pull, join ${joinMs.length ? fmtMs(median(joinMs)) : '-'}`);
      out.push(row);
    }
    return { rows: out, openMs };
  } finally {
    await m.db.close();
  }
}

// ---------------------------------------------------------------------------------------------

/** What capture costs (part 4), and what was measured and not kept. */
const CAPTURE_SCAN_NOTE =
  `What capture adds per row written: a log row, a version upsert and a stamp, in the writing transaction — and the same again for the \`audit_log\` row the audit trigger writes for it. Statement triggers with transition tables (one log insert per statement) were measured for migration 034: about 1.3× for a 2,000-row statement but 3–4× for a single-row one, so capture stays a row trigger. (Earlier: \`sync.capture()\` compared \`TG_TABLE_NAME\`, collation "C", with the text key of \`sync.row_versions\`, which the index cannot serve; fixed in 031 with \`COLLATE "default"\`.)`;

const sections: string[] = [];
const body = () => [`### Node sync (\`bench/sync.ts\`)`, '', ...sections.flatMap((s) => [s, ''])].join('\n');
/**
 * After each part, so a later failure keeps what was measured. A full run rewrites the section;
 * a run of some parts (SYNC_BENCH_ONLY) replaces only those parts' blocks in it.
 */
const save = () => {
  if (!ONLY) return writeSection('sync', body());
  for (const s of sections) {
    const m = /^<!-- sync-part:(\d) -->/.exec(s);
    if (m) replacePart(Number(m[1]), s);
  }
};
const partBlock = (n: number, text: string) => `<!-- sync-part:${n} -->\n${text}\n\n_${ONLY ? 'Part rerun' : 'Part run'} ${new Date().toISOString().slice(0, 10)}, 1-minute load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}._\n<!-- /sync-part:${n} -->`;
const cleanup = async () => {
  await master?.stop().catch(() => {});
  await other?.stop().catch(() => {});
  fs.rmSync(root, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.error(`${sig}: stopping the throwaway clusters`);
    void cleanup().finally(() => process.exit(130));
  });
}

const runStarted = performance.now();
try {
  let t = performance.now();
  [master, other] = await Promise.all([startCluster({ logical: true }), startCluster({ logical: true })]);
  const pgVersion = (await master.admin.query<{ v: string }>(`SELECT split_part(current_setting('server_version'), ' ', 1) AS v`)).rows[0]!.v;
  log(`two PostgreSQL ${pgVersion} clusters (wal_level=logical, fsync=off), migrated templates: ${fmtMs(performance.now() - t)}`);
  t = performance.now();
  pgliteDir = await pgliteTemplate(root);
  log(`PGlite template (migrated data directory, copied for every PGlite node): ${fmtMs(performance.now() - t)}`);
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

  sections.push(
    `Master: PostgreSQL ${pgVersion} (throwaway cluster, fsync=off, wal_level=logical). PostgreSQL nodes: databases of a second such cluster; PGlite nodes: data directories on disk in the benchmark process (each a copy of one migrated directory). ` +
      `Every node joins a fresh master database (\`joinMaster\`, all organizations). Synced table: \`tasks\` (org scope, audited: each task write also writes an \`audit_log\` row, which a node captures and pushes too). ` +
      `Batches of ${fmtInt(DEFAULT_BATCH_SIZE)} (\`DEFAULT_BATCH_SIZE\`). 1-minute load average before the run: ${load0} on ${os.cpus().length} cores shared with other work — absolute figures are noisy; ratios come from the same run.${QUICK ? ' **Quick mode** (small sizes).' : ''}`,
  );

  if (part(1)) {
    log('\n1. push latency');
    const rows: string[] = [];
    for (const e of ENGINES) rows.push(...(await latency(e)));
    sections.push(
      partBlock(1, [
        `### 1. Push latency: commit on a node → applied on the master (${WRITES} single-row writes, one after another, SyncDaemon)`,
        '',
        'Measured from the node\'s INSERT returning (committed) to a NOTIFY from a trigger on the master\'s `tasks` that fires only for rows the sync applier writes (added to the benchmark\'s master database only; LISTEN in the benchmark process, same clock).',
        '',
        '| node | debounce | writes | p50 | p95 | max | p50 − debounce (target ≤ 100 ms) |',
        '|---|---|---|---|---|---|---|',
        ...rows,
      ].join('\n')),
    );
    save();
  }

  if (part(2)) {
    log('\n2. backlog throughput');
    const ours: [EngineName, Awaited<ReturnType<typeof throughput>>][] = [];
    for (const e of ENGINES) ours.push([e, await throughput(e)]);
    const nat = await native();
    const natRate = nat.rows / (nat.ms / 1000);
    const rate = (d: Drain) => d.rows / (d.ms / 1000);
    const line = (e: string, dir: string, d: Drain) =>
      `| ${e} | ${dir} | ${fmtInt(d.rows)} | ${fmtMs(d.writeMs)} | ${fmtInt(d.changes)} in ${d.batches} batches | ${fmtMs(d.ms)} | ${d.hubMs === undefined ? '—' : `${Math.round((100 * d.hubMs) / d.ms)} %`} | ${fmtInt(rate(d))} | **${(rate(d) / natRate).toFixed(2)}×** |`;
    sections.push(
      partBlock(2, [
        `### 2. Draining a backlog of ${fmtInt(ROWS)} tasks (target ≥ 0.5× of native logical replication)`,
        '',
        `Rows written (${fmtInt(5000)} per transaction) while nothing exchanges, then timed: ours, one \`exchange()\` (pull only, or push only) until drained; native, PostgreSQL's logical replication between the two clusters (publication of \`tasks\` and \`audit_log\`, subscription with copy_data = false, disabled while the rows are written — its slot keeps the WAL — then enabled and timed until the subscriber has every row).`,
        '',
        '| node | direction | rows | writing them | changes moved | drain time | of it waiting for the master | rows/s | ours / native |',
        '|---|---|---|---|---|---|---|---|---|',
        ...ours.flatMap(([e, r]) => [line(e, 'master → node (pull)', r.pull), line(e, 'node → master (push)', r.push)]),
        `| native logical replication | cluster → cluster | ${fmtInt(nat.rows)} | ${fmtMs(nat.writeMs)} | ${fmtInt(nat.changes)} (tasks + audit_log) | ${fmtMs(nat.ms)} | — | ${fmtInt(natRate)} | 1.00× |`,
        '',
        'Native replication applies rows with `session_replication_role = replica`: no trigger and no foreign-key check runs on its subscriber. Ours runs both on the receiver (validation triggers, foreign keys: a change whose parent has not arrived is parked) and writes per change a version row and, on the master, a relay row for the other nodes.',
        `Native replication while streaming (rows written with the subscription on, until the subscriber has them all): ${fmtMs(nat.catchUpLiveMs)} for ${fmtInt(ROWS)} rows, ${fmtInt(ROWS / (nat.catchUpLiveMs / 1000))} rows/s including the writing.`,
        `The pull that follows a node's own push reads past the hub's relays of its ${fmtInt(ROWS)} changes (sending none): ${ours.map(([e, r]) => `${e} ${fmtMs(r.ownSkipMs)} (${r.ownSkip.pull.received} received)`).join(', ')}.`,
      ].join('\n')),
    );
    save();
  }

  if (part(3)) {
    log('\n3. convergence');
    const rows: string[] = [];
    for (const e of ENGINES) rows.push(await convergence(e));
    sections.push(
      partBlock(3, [
        `### 3. Convergence after a partition: ${fmtInt(CHANGES)} changes per side, 1 % contested`,
        '',
        `Before: ${Math.round(CHANGES / 100)} tasks written on the master and pulled by the node. During the partition each side updates every one of them (which side writes last alternates, the two writes 2 ms apart) and inserts ${fmtInt(CHANGES - Math.round(CHANGES / 100))} tasks of its own. Then \`exchange()\` (push, pull) runs until one moves nothing; the time includes that last, empty exchange. Checksum: md5 over every task row (all columns that matter, timestamps as epoch) on both sides.`,
        '',
        '| node | changes | contested | time until quiet | exchanges | changes moved (incl. audit_log) | task changes/s | master = node | conflicts recorded hub / node | contested rows won by the node |',
        '|---|---|---|---|---|---|---|---|---|---|',
        ...rows,
      ].join('\n')),
    );
    save();
  }

  if (part(4)) {
    log('\n4. capture overhead');
    const rows: string[] = [];
    for (const e of ENGINES) rows.push(...(await captureOverhead(e)));
    sections.push(
      partBlock(4, [
        '### 4. Capture overhead: inserts into `tasks` on a joined node vs the same inserts without capture (target ≤ 1.5×)',
        '',
        'Same engine, same run, median of rotating rounds. Without capture: `tasks` in a migrated database of the same engine that never joined (same triggers, audit included, nothing captured); on the joined node, copies `CREATE TABLE … (LIKE tasks INCLUDING ALL)` — with the same triggers as `tasks` except sync\'s (its audit trigger writes `audit_log`, which a node captures as well), and bare (LIKE copies no triggers: no audit either).',
        '',
        '| node | insert | synced `tasks` rows/s | `tasks`, database not joined | copy with tasks\' other triggers | bare copy | capture overhead (not joined / synced) | copy with triggers / synced | bare / synced |',
        '|---|---|---|---|---|---|---|---|---|',
        ...rows,
        '',
        CAPTURE_SCAN_NOTE,
      ].join('\n')),
    );
    save();
  }

  if (part(5)) {
    log('\n5. scale');
    const { rows, openMs } = await scale();
    const per = (r: ScaleRow) => r.cpuMs.reduce((a, b) => a + b, 0) / r.nodes;
    const last = rows[rows.length - 1]!;
    const cpuPerPull = per(last);
    const pullsPerSec = 1000 / 300;
    sections.push(
      partBlock(5, [
        `### 5. Scale: ${SCALE.join(', ')} PGlite nodes on one master, each pulling ${last.pending} pending master changes`,
        '',
        'Nodes join one after another (a copy of the migrated data directory each, opened from disk); each round the master writes the pending tasks, then every node in turn opens, connects, calls `hello` once (the first call of a new connection, measured apart), runs one `exchange()` (hello, empty push, pull, acknowledgement) and closes. Master CPU: all processes of the master cluster (`/proc/<pid>/stat`, the postmaster with its reaped children and the live backends), read before and after each exchange.',
        '',
        '| nodes | join (seed) p50 | exchange p50 | exchange p95 | of it waiting for the master, p50 | master CPU per exchange (mean) | master CPU for the whole round | first call on a new connection: time p50 / master CPU mean |',
        '|---|---|---|---|---|---|---|---|',
        ...rows.map(
          (r) =>
            `| ${r.nodes} | ${r.joinMs.length ? fmtMs(median(r.joinMs)) : '—'} | ${fmtMs(median(r.pullMs))} | ${fmtMs(pct(r.pullMs, 95))} | ${fmtMs(median(r.hubMs))} | ${fmtMs(per(r))} | ${fmtMs(r.cpuMs.reduce((a, b) => a + b, 0))} | ${fmtMs(median(r.firstCallMs))} / ${fmtMs(r.firstCallCpuMs.reduce((a, b) => a + b, 0) / r.nodes)} |`,
        ),
        '',
        `Each exchange is the node's first after opening it (opening from disk, not in the time: p50 ${fmtMs(median(openMs))}): the node side runs cold, which is most of the exchange time; the master side is the column "waiting for the master". One PGlite instance holds ~300 MiB, so the benchmark keeps one node open at a time.`,
        '',
        `**1,000 nodes (extrapolated, linear in the number of pulls)**: at ${fmtMs(cpuPerPull)} of master CPU per exchange (the ${last.nodes}-node round, ${last.pending} changes each), 1,000 nodes pulling every 5 minutes are ${pullsPerSec.toFixed(1)} exchanges/s ≈ ${((cpuPerPull * pullsPerSec) / 10).toFixed(0)} % of one master core, and the master is busy answering ≈ ${((median(last.hubMs) * pullsPerSec) / 10).toFixed(0)} % of the time (one at a time; they overlap on several cores), before any pushes and before the relay scans grow with the other nodes' changes. Each running daemon keeps one connection to the master open: 1,000 nodes need max_connections above 1,000 (or a pooler in front of the master).`,
      ].join('\n')),
    );
    save();
  }

  log(`\ntotal ${fmtMs(performance.now() - runStarted)}`);
  sections.push(`Whole run: ${fmtMs(performance.now() - runStarted)}; parameters: rows ${ROWS}, writes ${WRITES}, changes ${CHANGES}, nodes ${SCALE.join('/')}.`);
  if (ONLY) {
    log('\n' + body() + '\n(SYNC_BENCH_ONLY set: only these parts replaced in bench/RESULTS.md)');
  } else {
    save();
    log('\nupdated bench/RESULTS.md');
  }
} finally {
  await cleanup();
}
