/**
 * Memory search: p50/p95 latency and recall@10 of vector search at 10,000 and 100,000 vectors
 * (768 dimensions, clustered synthetic data; the exact nearest neighbours, computed here, are
 * the ground truth), HNSW against exact search (the baseline, same run), over every row and
 * inside an organization holding 1 % of them; on PGlite (pgvector) and on PostgreSQL 15 (no
 * pgvector here: real[] and exact search only). Then indexing throughput: the built-in embedder
 * alone, and the queue end to end (trigger → claim → embed → store).
 * Prints tables and rewrites the "memory" section of bench/RESULTS.md.
 * Usage: npx tsx bench/memory.ts [--sizes 10000,100000] [--queries 20] [--engines pglite,postgres]
 */
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db, Queryable } from '../src/db/types.js';
import { createOrganization, createUser } from '../src/api/accounts.js';
import { embeddedMigrations } from '../src/migrate/embedded.js';
import { migrate } from '../src/migrate/runner.js';
import { builtinEmbedder } from '../src/memory/embedders.js';
import { indexPending } from '../src/memory/indexer.js';
import { adoptEmbedder, readState, type MemoryState } from '../src/memory/models.js';
import { searchMemory } from '../src/memory/search.js';
import { withTenant } from '../src/tenancy/with-tenant.js';
import { startOwnServer } from '../test/helpers/server.js';
import { clusteredVectors, insertVectors, seeded } from '../test/helpers/vectors.js';
import { loadFixture } from '../test/helpers/relevance.js';
import { writeSection } from './results.js';

const arg = (name: string, def: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : def);
const SIZES = arg('--sizes', '10000,100000').split(',').map(Number);
const QUERIES = Number(arg('--queries', '20'));
const ENGINES = arg('--engines', 'pglite,postgres').split(',');
const DIMS = 768;
const MODEL = 'bench-768';
const CLUSTERS = 64;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const fmt = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Truth { ids: string[]; orgs: string[]; vs: Float32Array[] }

function nearestIn(t: Truth, q: number[], k: number, org?: string): string[] {
  const best: { id: string; s: number }[] = [];
  for (let i = 0; i < t.ids.length; i++) {
    if (org && t.orgs[i] !== org) continue;
    const v = t.vs[i]!;
    let s = 0;
    for (let j = 0; j < DIMS; j++) s += v[j]! * q[j]!;
    if (best.length < k || s > best[best.length - 1]!.s) {
      best.push({ id: t.ids[i]!, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.id);
}

interface Row { engine: string; n: number; method: string; scope: string; p50: number; p95: number; recall: number; queries: number }

async function measureSize(db: Db, engine: string, n: number): Promise<Row[]> {
  await migrate(db, { files: embeddedMigrations() });
  const small = (await createOrganization(db, { name: 'Small' })).id;
  const big = (await createOrganization(db, { name: 'Big' })).id;
  const user = (await createUser(db, { email: 'bench@memory.example', password: 'correct horse battery staple', orgId: small, role: 'owner' })).id;
  await db.query(`INSERT INTO embedding_models (model_key, provider, dimensions) VALUES ($1, 'openai', $2)`, [MODEL, DIMS]);
  await db.query(`UPDATE memory.state SET active_model = $1, active_provider = 'openai'`, [MODEL]);
  const rand = seeded(n);
  const truth: Truth = { ids: [], orgs: [], vs: [] };
  const t0 = performance.now();
  for (let i = 0; i < n; i += 2000) {
    const vs = clusteredVectors(rand, Math.min(2000, n - i), DIMS, CLUSTERS);
    const rows = await insertVectors(db, MODEL, vs.map((v, k) => ({ org: (i + k) % 100 === 0 ? small : big, v })), 500);
    for (const r of rows) {
      truth.ids.push(r.id);
      truth.orgs.push(r.org);
      truth.vs.push(Float32Array.from(r.v));
    }
    process.stderr.write(`\r  ${engine} ${n}: loaded ${i + vs.length} vectors`);
  }
  log(` in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const pgvector = engine === 'pglite';
  if (pgvector) {
    const t1 = performance.now();
    await db.exec(`SET maintenance_work_mem = '1GB'`);
    await db.query('SELECT memory.ensure_vector_indexes()');
    log(`  ${engine} ${n}: HNSW index built in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  await db.exec('ANALYZE memory.chunks; ANALYZE sticky_notes');
  const state = await readState(db);
  const queries = clusteredVectors(seeded(n + 1), QUERIES, DIMS, CLUSTERS);
  const out: Row[] = [];
  // HNSW: always through the index; auto: as search chooses (exact for an organization with few
  // vectors); exact: the same statement with index scans off (PGlite) or without pgvector.
  const methods = pgvector ? ['HNSW', 'auto', 'exact'] : ['exact'];
  for (const method of methods) {
    for (const scope of ['all rows', '1 % organization']) {
      if (method === 'auto' && scope === 'all rows') continue;
      const times: number[] = [];
      let recall = 0;
      // An exact scan of 100,000 real[] vectors takes seconds: fewer queries there.
      const qs = !pgvector && scope === 'all rows' && n > 20_000 ? queries.slice(0, 3) : queries;
      for (const q of qs) {
        const exactBelow = method === 'HNSW' ? 0 : undefined;
        const run = (tx: Queryable) => (method === 'exact' && pgvector ? tx.exec('SET LOCAL enable_indexscan = off') : Promise.resolve()).then(() => searchOnce(tx, state, q, exactBelow));
        const t = performance.now();
        const ids = scope === 'all rows' ? await db.transaction(run) : await withTenant(db, { orgId: small, userId: user }, run);
        times.push(performance.now() - t);
        const want = nearestIn(truth, q, 10, scope === 'all rows' ? undefined : small);
        recall += ids.filter((id) => want.includes(id)).length / want.length;
      }
      const row = { engine, n, method, scope, p50: pct(times, 50), p95: pct(times, 95), recall: recall / qs.length, queries: qs.length };
      log(`  ${engine} ${n} ${method} ${scope}: p50 ${fmt(row.p50)} p95 ${fmt(row.p95)} recall@10 ${row.recall.toFixed(3)}`);
      out.push(row);
    }
  }
  return out;
}

async function searchOnce(tx: Queryable, state: MemoryState, q: number[], exactBelow?: number): Promise<string[]> {
  const r = await searchMemory(tx, state, q, { query: 'bench', mode: 'vector', limit: 10, kinds: ['notes'], exactBelow });
  return r.hits.map((h) => h.id);
}

async function throughput(db: Db): Promise<{ embedder: number; queue: number; rows: number }> {
  await migrate(db, { files: embeddedMigrations() });
  const org = (await createOrganization(db, { name: 'Throughput' })).id;
  const f = loadFixture();
  const texts = Array.from({ length: 2000 }, (_, i) => f.docs[i % f.docs.length]!.text + ` (copy ${i})`);
  const e = builtinEmbedder();
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i += 64) await e.embed(texts.slice(i, i + 64), 'document');
  const embedder = texts.length / ((performance.now() - t0) / 1000);
  await adoptEmbedder(db, e);
  await db.query(`INSERT INTO sticky_notes (org_id, content) SELECT $1, t FROM unnest($2::text[]) t`, [org, texts]);
  const t1 = performance.now();
  const r = await indexPending(db, { embedder: e, batchSize: 64 });
  const queue = r.done / ((performance.now() - t1) / 1000);
  return { embedder, queue, rows: r.done };
}

const rows: Row[] = [];
const tp: { engine: string; embedder: number; queue: number; rows: number }[] = [];
const t0 = performance.now();
for (const engine of ENGINES) {
  const server = engine === 'postgres' ? startOwnServer() : undefined;
  const open = async (name: string): Promise<Db> => {
    if (!server) return PgliteDb.open();
    const admin = await PostgresDb.open(server.url);
    await admin.exec(`CREATE DATABASE ${name}`);
    await admin.close();
    const u = new URL(server.url);
    u.pathname = `/${name}`;
    return PostgresDb.open(u.toString());
  };
  try {
    for (const n of SIZES) {
      const db = await open(`memory_${n}`);
      try {
        rows.push(...(await measureSize(db, engine, n)));
      } finally {
        await db.close();
      }
    }
    const db = await open('memory_tp');
    try {
      tp.push({ engine, ...(await throughput(db)) });
      log(`  ${engine} indexing: built-in embedder ${tp.at(-1)!.embedder.toFixed(0)} rows/s, queue end to end ${tp.at(-1)!.queue.toFixed(0)} rows/s`);
    } finally {
      await db.close();
    }
  } finally {
    server?.stop();
  }
}

const exactOf = (r: Row) => rows.find((x) => x.engine === r.engine && x.n === r.n && x.scope === r.scope && x.method === 'exact')!;
const table = [
  '| engine | vectors | method | scope | queries | p50 | p95 | p50 vs exact | recall@10 |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.engine === 'pglite' ? 'PGlite (pgvector)' : 'PostgreSQL 15 (real[])'} | ${r.n.toLocaleString('en')} | ${r.method} | ${r.scope} | ${r.queries} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${r.method === 'exact' ? '1× (baseline)' : `${(r.p50 / exactOf(r).p50).toFixed(2)}×`} | ${r.recall.toFixed(3)} |`),
];
const tpTable = [
  '| engine | built-in embedder alone | queue end to end (trigger → claim → embed → store) |',
  '|---|---|---|',
  ...tp.map((x) => `| ${x.engine === 'pglite' ? 'PGlite' : 'PostgreSQL 15'} | ${x.embedder.toFixed(0)} rows/s | ${x.queue.toFixed(0)} rows/s (${x.rows} rows, batches of 64) |`),
];
const body = `### Memory search — vector search over ${DIMS}-d clustered synthetic vectors (${CLUSTERS} clusters), limit 10, ground truth by exact scan in the benchmark

${table.join('\n')}

"1 % organization": searched as a member of an organization holding 1 % of the rows (row-level security and privacy apply). HNSW: through the model's index with iterative scan, ef_search 100; auto: as search chooses (an organization with at most 5,000 vectors of the model is scanned exactly); exact on PGlite: the same statement with index scans disabled.

### Memory indexing throughput (2,000 notes of the relevance fixture's texts)

${tpTable.join('\n')}`;
console.log(`\n${body}\n`);
writeSection('memory', body);
console.log(`updated bench/RESULTS.md in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
