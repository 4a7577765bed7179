/**
 * HTTP API throughput: an authenticated single-row GET and a 50-row list of contacts, under
 * loopback load from this process, against a baseline server in the same run.
 *   A — the real API (createApiServer) in a child process: per request one transaction that
 *       checks the credential, sets the tenant context and role (RLS on), then the route's query.
 *   B — node:http + the bare driver in a child process, running the same data query as the
 *       owner (no auth, no RLS), same pool size. Ratio A/B for requests/s and p99.
 * Also the database alone (no HTTP): the bare query vs credential check + query in a transaction.
 * Data: two organizations of 10,000 contacts each; the API key belongs to an owner of the first.
 * Engines: PostgreSQL 15 (throwaway cluster) and PGlite (data directory in a temp dir).
 * Usage: npx tsx bench/api.ts [--duration 8] [--rounds 3] [--connections 10] [--no-pglite]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { createOrganization, createUser, generatePassword } from '../src/api/accounts.js';
import { createApiKey } from '../src/api/auth/keys.js';
import { readAsPrincipal, withPrincipal } from '../src/api/auth/principal.js';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db, Queryable } from '../src/db/types.js';
import { embeddedMigrations } from '../src/migrate/embedded.js';
import { migrate } from '../src/migrate/runner.js';
import { writeSection } from './results.js';
import { startOwnServer, type OwnServer } from '../test/helpers/server.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const DURATION = opt('duration', 8);
const ROUNDS = opt('rounds', 3);
const CONNECTIONS = opt('connections', 10);
const WARMUP = 2;
const PER_ORG = 10_000;
const POSTGREST_RPS = 2068;
const SERVER = path.join(path.dirname(new URL(import.meta.url).pathname), 'api-server.ts');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const TICK_MS = 1000 / 100; // /proc times are in clock ticks of 1/100 s on Linux

interface Fixture {
  orgA: string;
  orgB: string;
  idsA: string[];
  idB: string;
  key: string;
  email: string;
  password: string;
}

async function load(db: Db): Promise<Fixture> {
  await migrate(db, { files: embeddedMigrations() });
  const a = await createOrganization(db, { name: 'bench org A' });
  const b = await createOrganization(db, { name: 'bench org B' });
  const email = 'owner@bench.example';
  const password = generatePassword();
  const user = await createUser(db, { email, password, orgId: a.id, role: 'owner' });
  await db.transaction(async (tx) => {
    // Bulk load without the audit trigger (superuser only); the policies stay on.
    await tx.exec(`SET LOCAL session_replication_role = replica`);
    for (const org of [a.id, b.id]) {
      await tx.query(
        `INSERT INTO contacts (org_id, first_name, last_name, email, company, job_title, tags, created_at)
         SELECT $1::uuid, 'First' || g, 'Last' || g, 'p' || g || '@example.test', 'Company ' || (g % 500), 'Title', ARRAY['bench'],
                now() - g * interval '1 minute'
           FROM generate_series(1, ${PER_ORG}) g`,
        [org],
      );
    }
    await tx.exec('ANALYZE contacts');
  });
  const { key } = await createApiKey(db, { userId: user.id, orgId: a.id, name: 'bench' });
  const idsA = (await db.query<{ id: string }>(`SELECT id FROM contacts WHERE org_id = $1 ORDER BY random()`, [a.id])).rows.map((r) => r.id);
  const idB = (await db.query<{ id: string }>(`SELECT id FROM contacts WHERE org_id = $1 LIMIT 1`, [b.id])).rows[0]!.id;
  return { orgA: a.id, orgB: b.id, idsA, idB, key, email, password };
}

// ---------------------------------------------------------------------------------------------
// Database alone: `concurrency` loops on the adapter for `ms`, counting completed operations.

async function loopRate(ms: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await op(n++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function dbOnly(db: Db, f: Fixture, cols: string): Promise<Record<string, { bare: number; api: number }>> {
  const GET = `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t WHERE t.id = $1) x`;
  const LIST_OWNER = `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t WHERE t.org_id = $1 ORDER BY t."created_at" DESC, t.id DESC LIMIT 51) x`;
  const LIST_RLS = `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t ORDER BY t."created_at" DESC, t.id DESC LIMIT 51) x`;
  const id = (i: number) => f.idsA[i % f.idsA.length]!;
  const ms = 3000;
  const conc = CONNECTIONS;
  const check = (rows: unknown[], n: number) => {
    if (rows.length !== n) throw new Error(`expected ${n} rows, got ${rows.length}`);
  };
  // warm
  await loopRate(500, conc, async (i) => void (await db.query(GET, [id(i)], { prepare: true })));
  const out: Record<string, { bare: number; api: number }> = {};
  out.get = {
    bare: await loopRate(ms, conc, async (i) => check((await db.query(GET, [id(i)], { prepare: true })).rows, 1)),
    api: await loopRate(ms, conc, (i) =>
      withPrincipal(db, f.key, 'bench', 'viewer', async (tx) => check((await tx.query(GET, [id(i)], { prepare: true })).rows, 1)),
    ),
  };
  out.list = {
    bare: await loopRate(ms, conc, async () => check((await db.query(LIST_OWNER, [f.orgA], { prepare: true })).rows, 51)),
    api: await loopRate(ms, conc, () =>
      withPrincipal(db, f.key, 'bench', 'viewer', async (tx) => check((await tx.query(LIST_RLS, [], { prepare: true })).rows, 51)),
    ),
  };
  return out;
}

/**
 * What the embedded engine's sessions cost by themselves: the same single-row query and the same
 * short transaction (BEGIN, query, COMMIT), 10 concurrent loops, on the bare PGlite in this thread
 * (how every caller shared it before sessions: no isolation) and through PgliteDb (its own thread,
 * the session arbiter). Same data directory, one after the other.
 */
async function sessionCost(dir: string, f: Fixture, cols: string): Promise<{ what: string; bare: number; sessions: number }[]> {
  const GET = `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t WHERE t.id = $1) x`;
  const id = (i: number) => f.idsA[i % f.idsA.length]!;
  const ms = 3000;
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
  const bare = await PGlite.create(dir, { extensions: { vector } });
  const bareQuery = async (i: number) => void (await bare.query(GET, [id(i)]));
  const bareTx = (i: number) => bare.transaction(async (tx) => void (await tx.query(GET, [id(i)])));
  await loopRate(500, CONNECTIONS, bareQuery);
  const b1 = await loopRate(ms, CONNECTIONS, bareQuery);
  const b2 = await loopRate(ms, CONNECTIONS, bareTx);
  await bare.close();
  const lite = await PgliteDb.open(dir);
  const q = async (i: number) => void (await lite.query(GET, [id(i)]));
  const tx = (i: number) => lite.transaction(async (t) => void (await t.query(GET, [id(i)])));
  await loopRate(500, CONNECTIONS, q);
  const s1 = await loopRate(ms, CONNECTIONS, q);
  const s2 = await loopRate(ms, CONNECTIONS, tx);
  await lite.close();
  return [
    { what: 'single-row query', bare: b1, sessions: s1 },
    { what: 'transaction: BEGIN, query, COMMIT', bare: b2, sessions: s2 },
  ];
}

/**
 * Where the time of one authenticated read goes, serially on one connection: the API's
 * transaction (withPrincipal through a Db whose transaction times each statement) vs the bare query.
 */
async function stages(db: Db, f: Fixture, cols: string, n = 2000): Promise<Record<string, number>> {
  const GET = `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t WHERE t.id = $1) x`;
  const t: Record<string, number> = { 'BEGIN + credential check + context': 0, 'route query (RLS, prepared)': 0, COMMIT: 0, 'bare query (owner)': 0, 'whole read in one round trip (what GET uses)': 0 };
  const timed = async <T>(k: string, p: () => Promise<T>) => {
    const s = performance.now();
    const out = await p();
    t[k]! += performance.now() - s;
    return out;
  };
  await db.withSession(async (s) => {
    // The same steps PostgresDb.transaction takes, timed one by one on one connection.
    const timing: Db = {
      ...db,
      transaction: async (fn, opts) => {
        const first = await timed('BEGIN + credential check + context', () => s.exec(`BEGIN; ${opts?.first ?? ''}`));
        const out = await fn({
          query: (sql, args, o) => timed('route query (RLS, prepared)', () => s.query(sql, args, o)),
          exec: (sql) => s.exec(sql),
        } as Queryable, first);
        await timed('COMMIT', () => s.query('COMMIT'));
        return out;
      },
    } as Db;
    for (let i = 0; i < n; i++) {
      const id = f.idsA[i % f.idsA.length]!;
      await withPrincipal(timing, f.key, 'bench', 'viewer', (tx) => tx.query(GET, [id], { prepare: true }));
      await timed('bare query (owner)', () => s.query(GET, [id], { prepare: true }));
    }
  });
  for (let i = 0; i < n; i++) {
    const id = f.idsA[i % f.idsA.length]!;
    await timed('whole read in one round trip (what GET uses)', () => readAsPrincipal(db, f.key, 'bench', 'viewer', GET, [id]));
  }
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, (v * 1000) / n]));
}

async function selectList(db: Db): Promise<string> {
  const { RESOURCES } = await import('../src/api/resource.js');
  const { readColumns } = await import('../src/api/catalog.js');
  const hidden = new Set(RESOURCES.find((r) => r.path === 'contacts')!.hidden ?? []);
  return (await readColumns(db, 'contacts')).filter((c) => !hidden.has(c.name)).map((c) => `t."${c.name}"`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Child servers and load.

interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function startChild(mode: 'api' | 'raw', target: string, orgId: string): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVER, mode, target, orgId], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${mode} server exited with ${code} before listening`)));
    lines.once('line', (l) => resolve((JSON.parse(l) as { port: number }).port));
  });
  proc.removeAllListeners('exit');
  return {
    proc,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** utime + stime of one process, in ms. */
function cpuMs(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU ms per process for the PostgreSQL server's processes (children of the postmaster). */
function pgCpu(server: OwnServer | undefined): Map<number, number> {
  const m = new Map<number, number>();
  if (!server) return m;
  const master = Number(fs.readFileSync(path.join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(f[1]) === master || Number(d) === master) m.set(Number(d), (Number(f[11]) + Number(f[12])) * TICK_MS);
    } catch {
      /* gone */
    }
  }
  return m;
}
const pgCpuDelta = (a: Map<number, number>, b: Map<number, number>) => [...b].reduce((s, [pid, t]) => s + t - (a.get(pid) ?? 0), 0);

interface Run {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  bad: number;
  /** CPU ms per request: server process, database processes */
  cpuServer: number;
  cpuDb: number;
}

async function hammer(child: Child, paths: () => string, auth: string | undefined, seconds: number, server?: OwnServer): Promise<Run> {
  const c0 = cpuMs(child.proc.pid!);
  const p0 = pgCpu(server);
  const r = await autocannon({
    url: `http://127.0.0.1:${child.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: auth ? { authorization: `Bearer ${auth}` } : {},
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths() }) }],
  });
  const total = r.requests.total || 1;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    bad: r.non2xx + r.errors + r.timeouts,
    cpuServer: (cpuMs(child.proc.pid!) - c0) / total,
    cpuDb: pgCpuDelta(p0, pgCpu(server)) / total,
  };
}

type Answer = { status: number; body: Record<string, unknown> };
const fetchJson = async (c: Child, p: string, auth?: string): Promise<Answer> => {
  const r = await fetch(`http://127.0.0.1:${c.port}${p}`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

/** The API's answers are right before load: the row, RLS hiding the other organization, a full page, 401 without a credential. */
async function checkApi(api: Child, f: Fixture): Promise<{ row: Answer; page: Answer }> {
  const id = f.idsA[0]!;
  const row = await fetchJson(api, `/api/contacts/${id}`, f.key);
  if (row.status !== 200 || row.body.id !== id) throw new Error(`API GET: ${row.status} ${JSON.stringify(row.body)}`);
  const other = await fetchJson(api, `/api/contacts/${f.idB}`, f.key);
  if (other.status !== 404) throw new Error(`API GET of the other organization's row: ${other.status}, expected 404`);
  const page = await fetchJson(api, '/api/contacts?limit=50', f.key);
  const data = page.body.data as { id: string; org_id?: string }[];
  if (page.status !== 200 || data.length !== 50 || !page.body.next_cursor) throw new Error(`API list: ${page.status}`);
  if (data.some((r) => r.org_id !== undefined && r.org_id !== f.orgA)) throw new Error('API list shows another organization');
  const anon = await fetchJson(api, `/api/contacts/${id}`);
  if (anon.status !== 401) throw new Error(`API GET without a credential: ${anon.status}, expected 401`);
  return { row, page };
}

/** The baseline returns the same rows as the API. */
async function checkRaw(raw: Child, f: Fixture, api: { row: Answer; page: Answer }): Promise<string> {
  const row = await fetchJson(raw, `/api/contacts/${f.idsA[0]}`);
  const page = await fetchJson(raw, '/api/contacts?limit=50');
  const ids = (a: Answer) => JSON.stringify((a.body.data as { id: string }[]).map((r) => r.id));
  if (row.status !== 200 || page.status !== 200 || ids(page) !== ids(api.page)) throw new Error('baseline answers differ from the API\'s rows');
  const same = JSON.stringify(row.body) === JSON.stringify(api.row.body);
  const len = (a: Answer) => JSON.stringify(a.body).length;
  return `single-row bodies ${same ? 'identical' : `differ (${len(row)} vs ${len(api.row)} bytes)`}, page rows identical; body sizes: row ${len(api.row)} B, page ${len(api.page)} B`;
}

async function login(api: Child, f: Fixture): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${api.port}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: f.email, password: f.password }),
  });
  if (r.status !== 200) throw new Error(`login: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

interface EngineResult {
  label: string;
  rows: string[];
  notes: string[];
  bad: number;
}

async function runEngine(label: string, target: string, f: Fixture, rounds: number, withSession: boolean, server?: OwnServer): Promise<EngineResult> {
  let i = 0;
  const rotating = () => `/api/contacts/${f.idsA[i++ % f.idsA.length]}`;
  const list = () => '/api/contacts?limit=50';
  const runs: Record<string, Run[]> = { 'api get': [], 'api list': [], 'raw get': [], 'raw list': [], 'api get (session)': [] };
  const notes: string[] = [];
  {
    // Answers checked once per engine, one server at a time (one process may open a PGlite directory).
    const api = await startChild('api', target, f.orgA);
    const answers = await checkApi(api, f);
    await api.stop();
    const raw = await startChild('raw', target, f.orgA);
    notes.push(await checkRaw(raw, f, answers));
    await raw.stop();
  }
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? (['raw', 'api'] as const) : (['api', 'raw'] as const)) {
      const child = await startChild(mode, target, f.orgA);
      const auth = mode === 'api' ? f.key : undefined;
      await hammer(child, rotating, auth, WARMUP);
      await hammer(child, list, auth, WARMUP);
      runs[`${mode} get`]!.push(await hammer(child, rotating, auth, DURATION, server));
      runs[`${mode} list`]!.push(await hammer(child, list, auth, DURATION, server));
      if (mode === 'api' && withSession) {
        const token = await login(child, f);
        runs['api get (session)']!.push(await hammer(child, rotating, token, DURATION, server));
      }
      await child.stop();
      process.stdout.write(`  ${label} round ${r + 1}/${rounds} ${mode}: ${runs[`${mode} get`]!.at(-1)!.rps.toFixed(0)} / ${runs[`${mode} list`]!.at(-1)!.rps.toFixed(0)} req/s\n`);
    }
  }
  const med = (k: string) => {
    const xs = runs[k]!;
    return {
      rps: median(xs.map((x) => x.rps)),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      ok: xs.reduce((s, x) => s + x.ok, 0),
      bad: xs.reduce((s, x) => s + x.bad, 0),
      cpuServer: median(xs.map((x) => x.cpuServer)),
      cpuDb: median(xs.map((x) => x.cpuDb)),
    };
  };
  const rows: string[] = [];
  let bad = 0;
  const cpu = (m: ReturnType<typeof med>) => (server ? `${m.cpuServer.toFixed(2)} + ${m.cpuDb.toFixed(2)}` : `${m.cpuServer.toFixed(2)}`);
  for (const [name, a, b] of [
    ['single-row GET /api/contacts/:id (API key)', 'api get', 'raw get'],
    ...(withSession ? [['single-row GET (session token from /api/auth/login)', 'api get (session)', 'raw get']] : []),
    ['50-row list GET /api/contacts?limit=50', 'api list', 'raw list'],
  ] as const) {
    const A = med(a);
    const B = med(b);
    bad += A.bad + (a === 'api get (session)' ? 0 : B.bad);
    rows.push(
      `| ${label} | ${name} | ${A.rps.toFixed(0)} | ${B.rps.toFixed(0)} | **${(A.rps / B.rps).toFixed(2)}×** | ${A.p50} / ${A.p99} ms | ${B.p50} / ${B.p99} ms | ${(A.p99 / B.p99).toFixed(2)}× | ${cpu(A)} | ${cpu(B)} | ${A.ok} / ${A.bad} | ${a === 'api get (session)' ? '—' : `${B.ok} / ${B.bad}`} |`,
    );
  }
  return { label, rows, notes, bad };
}

// ---------------------------------------------------------------------------------------------

const header = [
  '| engine | request | API req/s | baseline req/s | req/s ratio (target ≥ 0.5×) | API p50 / p99 | baseline p50 / p99 | p99 ratio | API CPU ms/req (server + db) | baseline CPU ms/req | API 2xx / other | baseline 2xx / other |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
];
const dbHeader = [
  '| engine | query | bare query, owner (ops/s) | credential check + tenant context + query in one transaction (ops/s) | ratio |',
  '|---|---|---|---|---|',
];
const results: EngineResult[] = [];
const dbRows: string[] = [];
const stageRows: string[] = [];
const sessionRows: string[] = [];
const skipPglite = argv.includes('--no-pglite');
// Other work on the machine shows up as noise in every figure; the ratios are what to read.
const loadBefore = os.loadavg()[0]!.toFixed(1);
const t0 = performance.now();

const server = startOwnServer();
try {
  const db = await PostgresDb.open(server.url);
  const version = (await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  const f = await load(db);
  const cols = await selectList(db);
  const d = await dbOnly(db, f, cols);
  const st = await stages(db, f, cols);
  const stageTotal = ['BEGIN + credential check + context', 'route query (RLS, prepared)', 'COMMIT'].reduce((a, k) => a + st[k]!, 0);
  stageRows.push(
    `Where the time goes (PostgreSQL, serially on one connection, mean µs over 2,000 requests): ${Object.entries(st).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}. ` +
      `The API's three round trips add up to ${stageTotal.toFixed(0)} µs against ${st['bare query (owner)']!.toFixed(0)} µs for the bare query (${(stageTotal / st['bare query (owner)']!).toFixed(1)}×).`,
  );
  console.log(stageRows.at(-1));
  const label = `PostgreSQL ${version.split(' ')[0]}`;
  dbRows.push(`| ${label} | single row by id | ${d.get!.bare.toFixed(0)} | ${d.get!.api.toFixed(0)} | ${(d.get!.api / d.get!.bare).toFixed(2)}× |`);
  dbRows.push(`| ${label} | 50-row page | ${d.list!.bare.toFixed(0)} | ${d.list!.api.toFixed(0)} | ${(d.list!.api / d.list!.bare).toFixed(2)}× |`);
  const plan = (await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN ANALYZE SELECT id FROM contacts t WHERE t.org_id = $1 ORDER BY t.created_at DESC, t.id DESC LIMIT 51`,
    [f.orgA],
  )).rows.map((r) => r['QUERY PLAN']);
  console.log(plan.join('\n'));
  await db.close();
  console.log(dbRows.join('\n'));
  const res = await runEngine(label, server.url, f, ROUNDS, true, server);
  const sorted = plan.some((l) => /Sort Method/.test(l));
  res.notes.push(sorted
    ? `no index serves the default order (created_at DESC, id DESC), so each page reads the organization's 10,000 rows and keeps the top 51 (${plan.find((l) => /Sort Method/.test(l))?.trim()}; ${plan.find((l) => /Execution Time/.test(l))?.trim()} for the bare page query)`
    : `the page is an index range (${plan.find((l) => /Index/.test(l))?.trim().replace(/\s+\(.*$/, '')}; ${plan.find((l) => /Execution Time/.test(l))?.trim()} for the bare page query)`);
  results.push(res);
  for (const r of res.rows) console.log(r);
} finally {
  server.stop();
}

if (!skipPglite) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-bench-api-'));
  try {
    const lite = await PgliteDb.open(dir);
    const version = (await lite.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    const f = await load(lite);
    const liteCols = await selectList(lite);
    const d = await dbOnly(lite, f, liteCols);
    const label = `PGlite (PostgreSQL ${version.split(' ')[0]})`;
    dbRows.push(`| ${label} | single row by id | ${d.get!.bare.toFixed(0)} | ${d.get!.api.toFixed(0)} | ${(d.get!.api / d.get!.bare).toFixed(2)}× |`);
    dbRows.push(`| ${label} | 50-row page | ${d.list!.bare.toFixed(0)} | ${d.list!.api.toFixed(0)} | ${(d.list!.api / d.list!.bare).toFixed(2)}× |`);
    await lite.close();
    console.log(dbRows.slice(-2).join('\n'));
    for (const c of await sessionCost(dir, f, liteCols)) {
      sessionRows.push(`| ${c.what} | ${c.bare.toFixed(0)} | ${c.sessions.toFixed(0)} | ${(c.sessions / c.bare).toFixed(2)}× |`);
    }
    console.log(sessionRows.join('\n'));
    // The baseline for PGlite: the same node:http server on its own PGlite of the same directory.
    const res = await runEngine(label, dir, f, Math.max(1, ROUNDS - 1), false);
    results.push(res);
    for (const r of res.rows) console.log(r);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const bad = results.reduce((s, r) => s + r.bad, 0);
const out = [
  `### HTTP API under loopback load — contacts, 2 organizations × ${PER_ORG.toLocaleString('en')} rows`,
  '',
  `Load: autocannon in the benchmark process, ${CONNECTIONS} connections, ${DURATION} s per measurement after a ${WARMUP} s warm-up; ` +
    `API and baseline alternate, median of ${ROUNDS} rounds on PostgreSQL (${Math.max(1, ROUNDS - 1)} on PGlite). ` +
    `The single-row GET rotates over the organization's ${PER_ORG.toLocaleString('en')} ids. Each server is a child process; ` +
    `load generator, server and database share the machine's ${os.cpus().length} cores (1-minute load average ${loadBefore} before the run, ${os.loadavg()[0]!.toFixed(1)} at its end: other work on the machine makes absolute figures noisy; read the ratios).`,
  '',
  '- **API**: `createApiServer` — per request one transaction: credential check that sets the tenant context and drops to the application role, then the route\'s query under row-level security; response serialised by its schema.',
  '- **baseline**: `node:http` + the bare driver (`pg.Pool`, max 10 like the API\'s; PGlite directly), the same `row_to_json` data query as the database owner (no auth, no RLS; the page filters by `org_id` itself), `JSON.stringify`.',
  '',
  ...header,
  ...results.flatMap((r) => r.rows),
  '',
  `Non-2xx responses, socket errors and timeouts under load: **${bad}** (the columns "2xx / other" add up all rounds). Before load: API and baseline return the same rows; the API answers 404 for the other organization's contact and 401 without a credential. ${results.map((r) => `${r.label}: ${r.notes.join('; ')}`).join('. ')}.`,
  '',
  'CPU ms/req: CPU time of the server process (and, on PostgreSQL, of the database\'s backends) over the measurement, divided by the requests served.',
  '',
  `#### The database alone (no HTTP), ${CONNECTIONS} concurrent loops for 3 s, in the benchmark process`,
  '',
  ...dbHeader,
  ...dbRows,
  '',
  ...stageRows,
  '',
  ...(sessionRows.length
    ? [
        `#### The embedded engine's sessions by themselves (PGlite, ${CONNECTIONS} concurrent loops for 3 s, in the benchmark process)`,
        '',
        'Bare: PGlite in the calling thread, shared by every caller without isolation (as before sessions). Sessions: `PgliteDb` — PGlite in its own thread, every call a session of the arbiter, a transaction held whole.',
        '',
        '| operation | bare PGlite (ops/s) | with sessions (ops/s) | ratio |',
        '|---|---|---|---|',
        ...sessionRows,
        '',
      ]
    : []),
  `Context only: PostgREST publishes ${POSTGREST_RPS.toLocaleString('en')} req/s for single-row reads, on its own hardware and setup — not comparable with the figures above, which come from a ${os.cpus().length}-core machine that also runs the load generator and the database.`,
];
writeSection('api', out.join('\n'));
console.log(`\n${out.join('\n')}\n\nupdated bench/RESULTS.md in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
if (bad) process.exitCode = 1;
