import { failIf, type Check } from '../types.js';

/** Which embedding mode is active, and whether the columns and indexes agree with it. */
export const vectorMode: Check = {
  id: 'vector-mode',
  title: 'vector mode',
  async run(q) {
    const ext = await q.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`);
    const version = ext.rows[0]?.v;
    const cols = await q.query<{ t: string; col: string; type: string }>(`
      SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT a.attisdropped
         AND a.attname IN ('embedding', 'query_embedding')
       ORDER BY 1`);
    const expected = version ? 'vector' : 'real[]';
    // An upgraded legacy database keeps messages.embedding as it was until phase B converts it.
    const legacy = (await q.query<{ t: string | null }>(`SELECT to_regclass('robbieverse_meta.legacy_upgrade')::text AS t`)).rows[0]?.t != null;
    const kept = cols.rows.filter((r) => legacy && r.t === 'messages' && r.col === 'embedding' && r.type !== expected);
    const wrong = cols.rows
      .filter((r) => r.type !== expected && !kept.includes(r))
      .map((r) => `${r.t}.${r.col} is ${r.type}, expected ${expected}`);
    const hnsw = await q.query<{ n: number }>(`
      SELECT count(*)::int AS n FROM pg_class i JOIN pg_am am ON am.oid = i.relam JOIN pg_namespace n ON n.oid = i.relnamespace
       WHERE n.nspname = 'public' AND am.amname = 'hnsw'`);
    const summary = version
      ? `pgvector ${version}: ${cols.rows.length} embedding columns of type vector, ${hnsw.rows[0]!.n} per-model HNSW indexes`
      : `exact search: pgvector is not available, ${cols.rows.length} embedding columns are real[] and similarity is computed exactly`;
    return failIf(wrong, summary + (kept.length ? `; legacy messages.embedding kept as ${kept[0]!.type} until the legacy phase B` : ''), 'embedding columns disagree with the vector mode', {
      mode: version ? 'pgvector' : 'exact',
      pgvector: version ?? null,
      embeddingColumns: cols.rows.length,
      hnswIndexes: hnsw.rows[0]!.n,
    });
  },
};
