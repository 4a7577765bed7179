/**
 * Approximate search against exact search on the same vectors (clustered synthetic data): with
 * pgvector the HNSW index finds ≥ 95 % of the true 10 nearest, over every row and inside an
 * organization holding 1 % of them (iterative scan: the filter never starves the result);
 * without pgvector the exact scan returns exactly the true nearest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { readState } from '../../src/memory/models.js';
import { searchMemory, vectorSql } from '../../src/memory/search.js';
import { memoryStatus } from '../../src/memory/status.js';
import { withTenant } from '../../src/tenancy/with-tenant.js';
import { engineName, onPostgres, openTestDb } from '../helpers/db.js';
import { clusteredVectors, insertVectors, nearest, seeded } from '../helpers/vectors.js';

const N = 4_000;
const DIMS = 64;
const MODEL = 'ann-test-64';

describe(`vector search: index against exact (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  let db: Db;
  let small: string;
  let user: string;
  let rows: { id: string; org: string; v: number[] }[];
  let queries: number[][];

  beforeAll(async () => {
    t = await openTestDb();
    db = t.db;
    await migrate(db, { files: embeddedMigrations() });
    small = (await createOrganization(db, { name: 'Small' })).id;
    const big = (await createOrganization(db, { name: 'Big' })).id;
    user = (await createUser(db, { email: 'small@ann.example', password: 'correct horse battery staple', orgId: small, role: 'owner' })).id;
    await db.query(`INSERT INTO embedding_models (model_key, provider, dimensions) VALUES ($1, 'openai', $2)`, [MODEL, DIMS]);
    await db.query(`UPDATE memory.state SET active_model = $1, active_provider = 'openai'`, [MODEL]);
    await db.query('SELECT memory.ensure_vector_indexes()');
    const rand = seeded(7);
    const vs = clusteredVectors(rand, N, DIMS, 24);
    rows = await insertVectors(db, MODEL, vs.map((v, i) => ({ org: i % 100 === 0 ? small : big, v })));
    queries = clusteredVectors(rand, 20, DIMS, 24);
  });
  afterAll(() => t?.close());

  const recall = (got: string[], truth: string[]) => got.filter((id) => truth.includes(id)).length / truth.length;

  it(`with pgvector an HNSW index serves the model${onPostgres ? ' (here: no pgvector, no index)' : ''}`, async () => {
    const s = await memoryStatus(db);
    if (onPostgres) {
      expect(s.vectorIndexes).toEqual([]);
      return;
    }
    expect(s.vectorIndexes.some((n) => n.includes('ann_test_64'))).toBe(true);
    // The search's own statement is planned on that index.
    await db.query('ANALYZE memory.chunks');
    const sql = vectorSql(MODEL, DIMS, true, 100);
    const literal = `EXPLAIN ${sql}`.replaceAll('$1::vector(64)', `'[${queries[0]!.join(',')}]'::vector(64)`).replace('$2', `'{sticky_notes}'`);
    const plan = (await db.query<Record<string, string>>(literal)).rows.map((r) => Object.values(r)[0]).join('\n');
    expect(plan).toMatch(/Index Scan using chunks_ann_test_64_\w+_hnsw/);
  });

  it('over every row: recall@10 ≥ 0.95 (exact search: 1)', async () => {
    const state = await readState(db);
    let sum = 0;
    for (const q of queries) {
      const r = await db.transaction((tx) => searchMemory(tx, state, q, { query: 'vector', mode: 'vector', limit: 10, kinds: ['notes'] }));
      sum += recall(r.hits.map((h) => h.id), nearest(rows, q, 10));
    }
    const mean = sum / queries.length;
    process.stdout.write(`  ${engineName} recall@10 over ${N} rows: ${mean.toFixed(3)}\n`);
    expect(mean).toBeGreaterThanOrEqual(onPostgres ? 1 : 0.95);
  });

  for (const [how, exactBelow] of [['through the index (iterative scan)', 0], ['as chosen (exact: the organization holds few vectors)', undefined]] as const) {
    it(`inside an organization holding 1 % of the rows, ${how}: recall@10 ≥ 0.95, ten hits every time`, async () => {
      const state = await readState(db);
      const mine = rows.filter((r) => r.org === small);
      let sum = 0;
      for (const q of queries) {
        const r = await withTenant(db, { orgId: small, userId: user }, (tx) => searchMemory(tx, state, q, { query: 'vector', mode: 'vector', limit: 10, kinds: ['notes'], exactBelow }));
        expect(r.hits).toHaveLength(10);
        expect(r.hits.every((h) => mine.some((m) => m.id === h.id))).toBe(true);
        sum += recall(r.hits.map((h) => h.id), nearest(mine, q, 10));
      }
      const mean = sum / queries.length;
      process.stdout.write(`  ${engineName} recall@10 inside a 1 % organization, ${how}: ${mean.toFixed(3)}\n`);
      expect(mean).toBeGreaterThanOrEqual(onPostgres || exactBelow === undefined ? 1 : 0.95);
    });
  }
});
