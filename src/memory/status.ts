import type { Db } from '../db/types.js';
import { quoteTable, readState, type MemoryState } from './models.js';

export interface SourceStatus {
  table: string;
  kind: string;
  rows: number;
  pending: number;
  failed: number;
  /** Rows holding vectors, per model of the index. */
  indexed: Record<string, number>;
}

export interface MemoryStatus {
  state: MemoryState;
  sources: SourceStatus[];
  /** The newest errors of rows waiting after a failure. */
  errors: { table: string; id: string; attempts: number; error: string; at: string }[];
  vectorIndexes: string[];
}

/** Rows indexed, pending and failed per source and model (as the owner: every organization). */
export async function memoryStatus(db: Db): Promise<MemoryStatus> {
  const state = await readState(db);
  const { rows: sources } = await db.query<{ source_table: string; kind: string }>('SELECT source_table, kind FROM memory.sources ORDER BY source_table');
  const { rows: queue } = await db.query<{ t: string; pending: number; failed: number }>(
    `SELECT source_table AS t, count(*) FILTER (WHERE last_error IS NULL)::int AS pending, count(*) FILTER (WHERE last_error IS NOT NULL)::int AS failed
       FROM memory.queue GROUP BY 1`,
  );
  const { rows: held } = await db.query<{ t: string; m: string; n: number }>(
    'SELECT source_table AS t, model_key AS m, count(DISTINCT source_id)::int AS n FROM memory.chunks GROUP BY 1, 2',
  );
  const out: SourceStatus[] = [];
  for (const s of sources) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.${quoteTable(s.source_table)}`);
    const q = queue.find((x) => x.t === s.source_table);
    const indexed: Record<string, number> = {};
    for (const m of [state.active_model, state.building_model]) if (m) indexed[m] = 0;
    for (const h of held.filter((x) => x.t === s.source_table)) indexed[h.m] = h.n;
    out.push({ table: s.source_table, kind: s.kind, rows: rows[0]!.n, pending: q?.pending ?? 0, failed: q?.failed ?? 0, indexed });
  }
  const { rows: errors } = await db.query<{ table: string; id: string; attempts: number; error: string; at: string }>(
    `SELECT source_table AS table, source_id::text AS id, attempts, last_error AS error, last_error_at::text AS at
       FROM memory.queue WHERE last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 5`,
  );
  const { rows: idx } = await db.query<{ n: string }>(
    `SELECT indexname AS n FROM pg_indexes WHERE schemaname = 'memory' AND tablename = 'chunks' AND indexdef ILIKE '%hnsw%' ORDER BY 1`,
  );
  return { state, sources: out, errors, vectorIndexes: idx.map((r) => r.n) };
}
