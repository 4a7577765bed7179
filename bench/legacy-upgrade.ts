/**
 * Legacy upgrade benchmark: our in-place upgrade (`robbieverse db migrate` on a legacy Aurora
 * database) against the seed's naive plan (LEGACY.md §2.2), both on copies of the same legacy
 * fixture in one throwaway PostgreSQL 15 cluster, each with a concurrent legacy writer that
 * inserts a message without org_id every ~5 ms and times each insert.
 *
 *   npx tsx bench/legacy-upgrade.ts [--messages N]   (default 1,000,000 messages, N/100 conversations)
 *
 * Measured per plan: total wall time, writer inserts, worst and p99 insert time, failed inserts,
 * per-step times, and how many users/conversations had their updated_at changed compared with
 * the untouched fixture database `legacy_src`. Rewrites its section of bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PostgresDb } from '../src/db/postgres.js';
import { createLegacyAurora } from '../test/helpers/legacy-fixture.js';
import { writeSection } from './results.js';
import { startOwnServer } from '../test/helpers/server.js';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const CLI = path.join(root, 'dist', 'cli', 'index.js');
if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');

const argAt = process.argv.indexOf('--messages');
const MESSAGES = argAt > 0 ? Number(process.argv[argAt + 1]) : 1_000_000;
if (!Number.isSafeInteger(MESSAGES) || MESSAGES < 100) throw new Error(`--messages must be an integer ≥ 100, got ${process.argv[argAt + 1]}`);
const CONVERSATIONS = Math.max(1, Math.round(MESSAGES / 100));
const BATCH = 5000;
const PAUSE_MS = 5;
const WRITER_CONTENT = 'written during the upgrade';
const DEFAULT_ORG_LOOKUP = `(SELECT id FROM organizations WHERE name = 'Default Organization')`;

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmt2 = (ms: number) => `${ms.toFixed(2)} ms`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const int = (n: number) => n.toLocaleString('en-US');
const p99 = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(s.length * 0.99) - 1)]!;
};
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {}); // the cluster is stopped under open clients on an error path
  await c.connect();
  return c;
}

// ---------- the concurrent legacy writer ----------

interface Insert {
  /** Start, ms since the plan's origin. */
  at: number;
  ms: number;
  ok: boolean;
}
interface WriterResult {
  /** The conversation the writer adds messages to. */
  conversation: string;
  inserts: Insert[];
  failures: number;
  firstError?: string;
  firstErrorAt?: number;
}

/** Inserts a message the legacy way (no org_id) in a loop with a 5 ms pause until stopped. */
async function startWriter(url: string, origin: () => number): Promise<{ stop(): Promise<WriterResult> }> {
  const c = await connect(url);
  const conv = (await c.query(`SELECT id FROM conversations ORDER BY id LIMIT 1`)).rows[0].id as string;
  const res: WriterResult = { conversation: conv, inserts: [], failures: 0 };
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const at = origin();
      const t0 = performance.now();
      let ok = true;
      try {
        await c.query(`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', $2)`, [conv, WRITER_CONTENT]);
      } catch (err) {
        ok = false;
        res.failures++;
        if (res.firstError === undefined) {
          res.firstError = (err as Error).message;
          res.firstErrorAt = at;
        }
      }
      res.inserts.push({ at, ms: performance.now() - t0, ok });
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  })();
  return {
    async stop() {
      stop = true;
      await loop;
      await c.end().catch(() => {});
      return res;
    },
  };
}

// ---------- what changed compared with the fixture ----------

type Stamps = Map<string, string>;
async function updatedAtStamps(c: pg.Client, table: 'users' | 'conversations', onlyIds?: Stamps): Promise<Stamps> {
  await c.query(`SET TimeZone = 'UTC'`);
  const { rows } = await c.query(`SELECT id::text AS id, updated_at::text AS u FROM ${table}`);
  const m: Stamps = new Map();
  for (const r of rows) if (!onlyIds || onlyIds.has(r.id)) m.set(r.id, r.u);
  return m;
}
function changedIds(before: Stamps, after: Stamps): string[] {
  const ids: string[] = [];
  for (const [id, u] of before) if (after.get(id) !== u) ids.push(id);
  return ids;
}

/**
 * Lock timeouts and deadlocks the server logged since `from` (a byte offset of its log): a
 * statement that hit its lock_timeout was cancelled and, in our upgrade, retried. Per statement
 * (its first line), how many times.
 */
function serverLogSince(logFile: string, from: number): { lockTimeouts: Map<string, number>; deadlocks: number } {
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile).subarray(from).toString() : '';
  const lockTimeouts = new Map<string, number>();
  for (const m of text.matchAll(/ERROR: {2}canceling statement due to lock timeout\n(?:.*\n)*?.*STATEMENT: {2}(.*)/g)) {
    const first = m[1]!.trim().slice(0, 60);
    lockTimeouts.set(first, (lockTimeouts.get(first) ?? 0) + 1);
  }
  return { lockTimeouts, deadlocks: [...text.matchAll(/ERROR: {2}deadlock detected/g)].length };
}
const logSize = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
/** A migration file's first line → its name, to say which migration a logged statement was. */
const migrationByFirstLine = new Map(
  fs
    .readdirSync(path.join(root, 'schema'))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => [fs.readFileSync(path.join(root, 'schema', f), 'utf8').split('\n')[0]!.trim().slice(0, 60), f.replace(/\.sql$/, '')] as const),
);
const describeTimeouts = (m: Map<string, number>) =>
  [...m].map(([stmt, n]) => `${n}× ${migrationByFirstLine.has(stmt) ? `migration ${migrationByFirstLine.get(stmt)}` : `\`${stmt.replace(/\|/g, '\\|')}…\``}`).join(', ');

interface Step {
  name: string;
  start: number;
  ms: number;
}
interface PlanResult {
  label: string;
  totalMs: number;
  steps: Step[];
  writer: WriterResult;
  changedUsers: number;
  changedConversations: number;
  notes: string[];
}

/** Which step was running at time `at` (ms since the plan's origin). */
function stepAt(steps: Step[], at: number): string {
  let name = 'before the first step';
  for (const s of steps) if (s.start <= at) name = s.name;
  return name;
}

function writerPerStep(r: PlanResult): Map<string, { inserts: number; worst: number; failed: number }> {
  const m = new Map<string, { inserts: number; worst: number; failed: number }>();
  for (const s of r.steps) m.set(s.name, { inserts: 0, worst: 0, failed: 0 });
  for (const i of r.writer.inserts) {
    const name = stepAt(r.steps, i.at);
    const e = m.get(name) ?? { inserts: 0, worst: 0, failed: 0 };
    e.inserts++;
    e.worst = Math.max(e.worst, i.ms);
    if (!i.ok) e.failed++;
    m.set(name, e);
  }
  return m;
}

// ---------- OURS: the CLI ----------

async function runOurs(url: string, backupDir: string, fixture: { users: Stamps; conversations: Stamps }): Promise<PlanResult & { code: number | null; cliSteps: Step[]; migrations: Step[] }> {
  const t0 = performance.now();
  const origin = () => performance.now() - t0;
  const writer = await startWriter(url, origin);
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.DATABASE_URL;
  delete env.ROBBIEVERSE_HOME;
  delete env.FORCE_COLOR;
  const spawnedAt = origin();
  const child = spawn(process.execPath, [CLI, 'db', 'migrate', '--url', url, '--backup-dir', backupDir, '--batch-size', String(BATCH)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // stderr with the arrival time of each chunk, to know which step was running when.
  let err = '';
  const chunks: { offset: number; at: number }[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    chunks.push({ offset: err.length, at: origin() });
    err += d.toString();
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const totalMs = origin();
  const w = await writer.stop();
  const stderr = stripAnsi(err);
  if (code !== 0) console.error(`the CLI exited with ${code}:\n${stderr}\n${out}`);

  // Step timeline from stderr: "  <step> … " starts a step; "legacy Aurora database found" starts the
  // backup; the verify step prints no start line, so it starts with the last "done" before the summary.
  const timeAt = (offset: number) => {
    let at = 0;
    for (const c of chunks) if (c.offset <= offset) at = c.at;
    return at;
  };
  const steps: Step[] = [{ name: 'start-up, detection', start: spawnedAt, ms: 0 }];
  const found = /legacy Aurora database found|resuming the interrupted upgrade/.exec(stderr);
  if (found) steps.push({ name: 'backup', start: timeAt(found.index + found[0].length), ms: 0 });
  for (const m of stderr.matchAll(/^ {2}([a-z-]+) …/gm)) steps.push({ name: m[1]!, start: timeAt(m.index!), ms: 0 });
  const verified = /[✓✗] upgrade verif/.exec(stderr);
  if (verified) {
    const dones = [...stderr.slice(0, verified.index).matchAll(/done [\d.]+ m?s\n/g)];
    const last = dones[dones.length - 1];
    if (last && !steps.some((s) => s.name === 'verify')) steps.push({ name: 'verify', start: timeAt(last.index!), ms: 0 });
    steps.push({ name: 'summary, exit', start: timeAt(verified.index), ms: 0 });
  }
  steps.sort((a, b) => a.start - b.start);
  steps.forEach((s, i) => (s.ms = (steps[i + 1]?.start ?? totalMs) - s.start));
  // Migrations inside the migrate step, to say which one a slow insert waited for.
  const migrations = [...stderr.matchAll(/^ {2}\[\d+\/\d+\] (\S+) …/gm)].map((m) => ({ name: m[1]!, start: timeAt(m.index!), ms: 0 }));

  // The CLI's own step timings: "  baseline … done 1.23 s", "  backfill done 7.13 s".
  const cliSteps: Step[] = [];
  let current: string | undefined;
  for (const line of stderr.split('\n')) {
    const start = /^ {2}([a-z-]+) …/.exec(line);
    if (start) current = start[1];
    if (line.startsWith('  [')) continue; // a migration inside the migrate step
    const named = /^ {2}([a-z-]+) done ([\d.]+) (ms|s)\s*$/.exec(line);
    const done = named ?? /done ([\d.]+) (ms|s)\s*$/.exec(line);
    if (!done) continue;
    const name = named ? named[1]! : current;
    const [value, unit] = named ? [named[2]!, named[3]!] : [done[1]!, done[2]!];
    if (name) cliSteps.push({ name, start: 0, ms: Number(value) * (unit === 's' ? 1000 : 1) });
    current = undefined;
  }
  // The backup step prints no "done" line: from the detection line to the "backup: <path>" line.
  const backupLine = /^ {2}backup: /m.exec(stderr);
  if (found && backupLine) cliSteps.unshift({ name: 'backup', start: 0, ms: timeAt(backupLine.index) - timeAt(found.index + found[0].length) });
  console.log(`  the CLI's stderr:\n${stderr.replace(/^/gm, '  | ')}`);

  const c = await connect(url);
  const users = changedIds(fixture.users, await updatedAtStamps(c, 'users', fixture.users)).length;
  const convIds = changedIds(fixture.conversations, await updatedAtStamps(c, 'conversations', fixture.conversations));
  const conversations = convIds.length;
  const rows = (
    await c.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE org_id IS NULL)::int AS nulls FROM messages WHERE content = $1`, [WRITER_CONTENT])
  ).rows[0] as { n: number; nulls: number };
  // The writer puts every message into one conversation, which grows by thousands of rows. After
  // the upgrade a message insert also updates its conversation's counters (update_conversation_stats),
  // so time a legacy insert there and in an ordinary conversation, upgrade finished, rolled back:
  // the two must cost the same.
  const insertCost = async (conv: string) => {
    const ts: number[] = [];
    await c.query('BEGIN');
    for (let i = 0; i < 50; i++) {
      const t1 = performance.now();
      await c.query(`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', 'cost probe')`, [conv]);
      ts.push(performance.now() - t1);
    }
    await c.query('ROLLBACK');
    return ts.sort((a, b) => a - b)[25]!;
  };
  const other = (await c.query(`SELECT id FROM conversations WHERE id <> $1 ORDER BY id LIMIT 1`, [w.conversation])).rows[0].id as string;
  const sizes = (
    await c.query(`SELECT conversation_id::text AS id, count(*)::int AS n FROM messages WHERE conversation_id = ANY($1::uuid[]) GROUP BY 1`, [[w.conversation, other]])
  ).rows as { id: string; n: number }[];
  const sizeOf = (id: string) => sizes.find((r) => r.id === id)?.n ?? 0;
  const insertCosts = { big: await insertCost(w.conversation), bigSize: sizeOf(w.conversation), small: await insertCost(other), smallSize: sizeOf(other) };
  await c.end();
  const notes = [
    `exit ${code}${/✓ upgrade verified/.test(stderr) ? ', ✓ verified' : ''}`,
    `updated_at changed: ${users} users, ${conversations} conversations${
      conversations === 1 && convIds[0] === w.conversation
        ? ' (the writer’s own: a message insert now updates conversations.message_count, and that fires the legacy updated_at trigger)'
        : ''
    }`,
    `writer rows: ${int(rows.n)}, without org ${rows.nulls}`,
    `after the upgrade a legacy insert takes ${fmt2(insertCosts.big)} into the writer’s conversation (${int(insertCosts.bigSize)} messages) vs ${fmt2(insertCosts.small)} into one of ${int(insertCosts.smallSize)} (median of 50)`,
  ];
  return { label: 'ours (`db migrate`)', totalMs, steps, writer: w, changedUsers: users, changedConversations: conversations, notes, code, cliSteps, migrations };
}

// ---------- NAIVE: the seed's plan ----------

async function runNaive(url: string, dumpFile: string, fixture: { users: Stamps; conversations: Stamps }): Promise<PlanResult & { nullsFixed: Record<string, number>; step5Errors: string[] }> {
  const ddl = await connect(url);
  const t0 = performance.now();
  const origin = () => performance.now() - t0;
  const writer = await startWriter(url, origin);
  const steps: Step[] = [];
  const step = async (name: string, fn: () => Promise<void>) => {
    const start = origin();
    await fn();
    steps.push({ name, start, ms: origin() - start });
  };
  const nullsFixed: Record<string, number> = {};
  const step5Errors: string[] = [];
  let w: WriterResult | undefined;
  try {
    await step('1 pg_dump -Fc', () =>
      new Promise<void>((resolve, reject) => {
        const p = spawn('pg_dump', ['--format=custom', '--file', dumpFile, url], { stdio: ['ignore', 'ignore', 'pipe'] });
        let e = '';
        p.stderr!.on('data', (d) => (e += d));
        p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exited ${code}: ${e}`))));
      }),
    );
    await step('2 create tables', async () => {
      await ddl.query(`CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        domain text UNIQUE,
        org_type text,
        status text DEFAULT 'active',
        created_at timestamptz DEFAULT now(),
        updated_at timestamptz DEFAULT now())`);
      await ddl.query(`CREATE TABLE organization_memberships (
        org_id uuid REFERENCES organizations(id),
        user_id uuid REFERENCES users(id),
        role text)`);
    });
    await step('3 add columns', async () => {
      for (const t of ['users', 'conversations', 'messages']) await ddl.query(`ALTER TABLE ${t} ADD COLUMN org_id uuid REFERENCES organizations(id)`);
      await ddl.query(`ALTER TABLE users
        ADD COLUMN first_name text, ADD COLUMN last_name text, ADD COLUMN job_title text,
        ADD COLUMN phone text, ADD COLUMN avatar_url text, ADD COLUMN timezone text DEFAULT 'UTC'`);
    });
    await step('4 default org + UPDATE per table', async () => {
      await ddl.query(`INSERT INTO organizations (name, org_type, status) VALUES ('Default Organization', 'personal', 'active')`);
      for (const t of ['users', 'conversations', 'messages']) await ddl.query(`UPDATE ${t} SET org_id = ${DEFAULT_ORG_LOOKUP}`);
    });
    await step('5 SET NOT NULL', async () => {
      for (const t of ['users', 'conversations', 'messages']) {
        try {
          await ddl.query(`ALTER TABLE ${t} ALTER COLUMN org_id SET NOT NULL`);
        } catch (err) {
          if ((err as { code?: string }).code !== '23502') throw err;
          // Rows the writer inserted after the UPDATE's snapshot have no org_id, so the step as
          // written fails. What an operator would do: lock, backfill the stragglers, retry.
          step5Errors.push(`${t}: ${(err as Error).message}`);
          await ddl.query('BEGIN');
          await ddl.query(`LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE`);
          const r = await ddl.query(`UPDATE ${t} SET org_id = ${DEFAULT_ORG_LOOKUP} WHERE org_id IS NULL`);
          nullsFixed[t] = r.rowCount ?? 0;
          await ddl.query(`ALTER TABLE ${t} ALTER COLUMN org_id SET NOT NULL`);
          await ddl.query('COMMIT');
        }
      }
    });
    await step('6 CREATE INDEX', async () => {
      for (const t of ['users', 'conversations', 'messages']) await ddl.query(`CREATE INDEX idx_${t}_org_id ON ${t} (org_id)`);
    });
  } finally {
    w = await writer.stop();
  }
  const totalMs = steps.reduce((n, s) => Math.max(n, s.start + s.ms), 0);
  const users = changedIds(fixture.users, await updatedAtStamps(ddl, 'users', fixture.users)).length;
  const conversations = changedIds(fixture.conversations, await updatedAtStamps(ddl, 'conversations', fixture.conversations)).length;
  await ddl.end();
  const notes = [
    `updated_at overwritten: ${int(users)}/${int(fixture.users.size)} users, ${int(conversations)}/${int(fixture.conversations.size)} conversations`,
  ];
  if (step5Errors.length)
    notes.push(
      `step 5 as written failed (${step5Errors.map((e) => e.replace(/^(\w+): .*/, '$1')).join(', ')}: rows the writer inserted after the UPDATE have no org_id); rerun as LOCK + UPDATE … WHERE org_id IS NULL (${Object.entries(nullsFixed)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ')}) + SET NOT NULL`,
    );
  if (w.firstError !== undefined) notes.push(`legacy inserts fail from ${fmt(w.firstErrorAt!)} on (step ${stepAt(steps, w.firstErrorAt!)}): “${w.firstError}”`);
  return { label: 'naive (seed plan §2.2)', totalMs, steps, writer: w, changedUsers: users, changedConversations: conversations, notes, nullsFixed, step5Errors };
}

// ---------- main ----------

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-legacy-bench-'));
const server = startOwnServer();
const serverUrl = server.url;
let stopped = false;
const stopCluster = () => {
  if (stopped) return;
  stopped = true;
  try {
    server.stop();
  } catch (err) {
    console.error(`stopping the cluster failed: ${(err as Error).message}`);
  }
  fs.rmSync(work, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    console.error(`${sig}: stopping the throwaway cluster`);
    stopCluster();
    process.exit(130);
  });

try {
  const admin = await connect(serverUrl);
  const version = ((await admin.query('SHOW server_version')).rows[0].server_version as string).split(' ')[0];

  // 1. The fixture, once, then two identical copies.
  await admin.query('CREATE DATABASE legacy_src');
  const srcUrl = withDatabase(serverUrl, 'legacy_src');
  let t = performance.now();
  const src = await PostgresDb.open(srcUrl);
  const counts = await createLegacyAurora(src, { messages: MESSAGES, conversations: CONVERSATIONS });
  await src.close();
  console.log(`PostgreSQL ${version}; legacy fixture in legacy_src: ${int(counts.messages)} messages, ${int(counts.conversations)} conversations, ${int(counts.users)} users in ${fmt(performance.now() - t)}`);
  t = performance.now();
  await admin.query('CREATE DATABASE legacy_ours TEMPLATE legacy_src');
  await admin.query('CREATE DATABASE legacy_naive TEMPLATE legacy_src');
  const size = (await admin.query(`SELECT pg_size_pretty(pg_database_size('legacy_src')) AS s`)).rows[0].s as string;
  console.log(`two copies (CREATE DATABASE … TEMPLATE legacy_src, ${size} each) in ${fmt(performance.now() - t)}`);

  const srcClient = await connect(srcUrl);
  const fixture = { users: await updatedAtStamps(srcClient, 'users'), conversations: await updatedAtStamps(srcClient, 'conversations') };
  await srcClient.end();

  // 2. Ours.
  console.log('\nours: robbieverse db migrate with a concurrent legacy writer …');
  const backupDir = path.join(work, 'backups');
  fs.mkdirSync(backupDir);
  const serverLog = path.join(server.dir, 'server.log');
  let logFrom = logSize(serverLog);
  const ours = await runOurs(withDatabase(serverUrl, 'legacy_ours'), backupDir, fixture);
  const oursLog = serverLogSince(serverLog, logFrom);
  const oursTimeouts = [...oursLog.lockTimeouts.values()].reduce((a, b) => a + b, 0);
  ours.notes.push(
    oursTimeouts
      ? `hit its 250 ms lock_timeout ${oursTimeouts}× and retried (${describeTimeouts(oursLog.lockTimeouts)})`
      : 'no lock timeouts',
  );
  if (oursLog.deadlocks) ours.notes.push(`${oursLog.deadlocks} deadlocks in the server log`);
  console.log(`  done in ${fmt(ours.totalMs)}, exit ${ours.code}`);

  // 3. Naive.
  console.log('naive: the seed plan with the same writer …');
  logFrom = logSize(serverLog);
  const naive = await runNaive(withDatabase(serverUrl, 'legacy_naive'), path.join(work, 'aurora_backup.dump'), fixture);
  const naiveLog = serverLogSince(serverLog, logFrom);
  if (naiveLog.deadlocks) naive.notes.push(`${naiveLog.deadlocks} deadlocks in the server log`);
  console.log(`  done in ${fmt(naive.totalMs)}\n`);
  await admin.end();

  // 4. Tables.
  const results: string[] = [];
  const out = (s: string) => {
    console.log(s);
    results.push(s);
  };
  const waits = (r: PlanResult) => r.writer.inserts.map((i) => i.ms);
  const worst = (r: PlanResult) => Math.max(0, ...waits(r));
  const vs = (a: number, b: number, r: PlanResult) => (r === naive ? '' : ` (${ratio(a, b)})`);
  out(
    `#### PostgreSQL ${version}: in-place upgrade of a legacy Aurora database, ${int(counts.messages)} messages / ${int(counts.conversations)} conversations / ${int(counts.users)} users, while a legacy writer inserts a message (no org_id) every ${PAUSE_MS} ms\n`,
  );
  out('| plan | total time | writer inserts | worst wait | p99 wait | failed writes | notes |');
  out('|---|---|---|---|---|---|---|');
  for (const r of [ours, naive]) {
    out(
      `| ${r.label} | ${fmt(r.totalMs)}${vs(r.totalMs, naive.totalMs, r)} | ${int(r.writer.inserts.length)} | ${fmt(worst(r))}${vs(worst(r), worst(naive), r)} | ${fmt(p99(waits(r)))}${vs(p99(waits(r)), p99(waits(naive)), r)} | ${int(r.writer.failures)} | ${r.notes.join('; ')} |`,
    );
  }
  out(`\nRatios are ours ÷ naive, same run. The writer runs until the plan ends, so its insert count follows the plan's duration; after the naive step 5 every legacy insert fails, for as long as legacy code runs. Batch size ${BATCH}; backups into a temp dir; cluster with fsync=off.`);

  out('\n##### Where the time and the waits are, per step (writer inserts counted in the step during which they started)\n');
  out('| plan | step | step time | writer inserts | worst wait | failed writes |');
  out('|---|---|---|---|---|---|');
  for (const r of [ours, naive]) {
    const per = writerPerStep(r);
    for (const s of r.steps) {
      const p = per.get(s.name)!;
      out(`| ${r === ours ? 'ours' : 'naive'} | ${s.name} | ${fmt(s.ms)} | ${int(p.inserts)} | ${fmt(p.worst)} | ${int(p.failed)} |`);
    }
  }
  out(`\nOurs, step timings as the CLI prints them: ${ours.cliSteps.map((s) => `${s.name} ${fmt(s.ms)}`).join(', ')}.`);
  const worstOurs = ours.writer.inserts.reduce((a, b) => (b.ms > a.ms ? b : a), { at: 0, ms: 0, ok: true });
  const worstNaive = naive.writer.inserts.reduce((a, b) => (b.ms > a.ms ? b : a), { at: 0, ms: 0, ok: true });
  const worstStep = stepAt(ours.steps, worstOurs.at);
  const inMigration = worstStep === 'migrate' && ours.migrations.length ? `, migration ${stepAt(ours.migrations, worstOurs.at)}` : '';
  out(`Worst insert, ours: ${fmt(worstOurs.ms)} at ${fmt(worstOurs.at)} (step ${worstStep}${inMigration}); naive: ${fmt(worstNaive.ms)} at ${fmt(worstNaive.at)} (step ${stepAt(naive.steps, worstNaive.at)}).`);

  writeSection('legacy-upgrade', `### Legacy upgrade: ours vs the seed's plan\n\n${results.join('\n')}`);
  console.log('\nupdated bench/RESULTS.md');
  if (ours.code !== 0) process.exitCode = 1;
} finally {
  stopCluster();
}
