/**
 * The labelled search fixture (test/fixtures/memory/relevance.json) loaded into a database, and
 * the ranking measures: nDCG@k (binary gains) and recall@k, averaged over the queries.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../src/db/types.js';
import { builtinEmbedder } from '../../src/memory/embedders.js';
import { indexPending } from '../../src/memory/indexer.js';
import { adoptEmbedder, readState } from '../../src/memory/models.js';
import { embedQuery, searchMemory, type Mode } from '../../src/memory/search.js';
import { withTenant } from '../../src/tenancy/with-tenant.js';

export interface Fixture {
  docs: { id: string; kind: 'note' | 'message' | 'knowledge'; title: string | null; text: string }[];
  queries: { id: string; text: string; relevant: string[] }[];
}

export function loadFixture(): Fixture {
  return JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'memory', 'relevance.json'), 'utf8')) as Fixture;
}

/**
 * Inserts the documents into organization `orgId`, with ids derived from the fixture's (so ties
 * in a ranking break the same way in every run); returns database id → fixture id.
 */
export async function loadDocs(db: Db, orgId: string, f: Fixture): Promise<Map<string, string>> {
  const byDb = new Map<string, string>();
  for (const d of f.docs) {
    const sql =
      d.kind === 'note' ? `INSERT INTO sticky_notes (id, org_id, content) VALUES (md5('relevance:' || $3)::uuid, $1, $2) RETURNING id::text`
      : d.kind === 'message' ? `INSERT INTO messages (id, org_id, role, content) VALUES (md5('relevance:' || $3)::uuid, $1, 'user', $2) RETURNING id::text`
      : `INSERT INTO knowledge_base (id, org_id, content, title) VALUES (md5('relevance:' || $4)::uuid, $1, $2, $3) RETURNING id::text`;
    const { rows } = await db.query<{ id: string }>(sql, d.kind === 'knowledge' ? [orgId, d.text, d.title, d.id] : [orgId, d.text, d.id]);
    byDb.set(rows[0]!.id, d.id);
  }
  await adoptEmbedder(db, builtinEmbedder());
  await indexPending(db, { embedder: builtinEmbedder(), batchSize: 64 });
  return byDb;
}

export function ndcgAt(ranked: string[], relevant: Set<string>, k = 10): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, i) => {
    if (relevant.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal ? dcg / ideal : 0;
}

export function recallAt(ranked: string[], relevant: Set<string>, k = 10): number {
  return relevant.size ? ranked.slice(0, k).filter((id) => relevant.has(id)).length / relevant.size : 0;
}

export interface Scores {
  ndcg10: number;
  recall10: number;
}

/** Runs every query in `mode` as `userId` of `orgId`; mean nDCG@10 and recall@10. */
export async function score(db: Db, orgId: string, userId: string, f: Fixture, byDb: Map<string, string>, mode: Mode): Promise<Scores> {
  const state = await readState(db);
  let ndcg = 0;
  let recall = 0;
  for (const q of f.queries) {
    const vector = await embedQuery(state, builtinEmbedder(), q.text, mode);
    const r = await withTenant(db, { orgId, userId }, (tx) => searchMemory(tx, state, vector, { query: q.text, mode, limit: 10, kinds: ['notes', 'messages', 'knowledge'] }));
    const ranked = r.hits.map((h) => byDb.get(h.id) ?? h.id);
    const rel = new Set(q.relevant);
    ndcg += ndcgAt(ranked, rel);
    recall += recallAt(ranked, rel);
  }
  return { ndcg10: ndcg / f.queries.length, recall10: recall / f.queries.length };
}
