/**
 * Memory search, always inside a tenant context (the caller's transaction runs as the
 * application role with app.org_id / app.user_id set), so row-level security and privacy levels
 * decide what can be found. Hybrid by default: full-text ranking and vector similarity, each
 * over every chosen source, fused by reciprocal rank. Hits are re-read from their source tables
 * under those tables' own policies, for title and snippet.
 */
import type { Queryable } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { sqlLiteral as quoteLiteral } from '../db/literal.js';
import type { Embedder } from './embedders.js';
import { words } from './hashed.js';
import { quoteTable, type MemoryState } from './models.js';

export const KINDS = ['messages', 'notes', 'knowledge', 'code', 'patterns'] as const;
export type Kind = (typeof KINDS)[number];
export const DEFAULT_KINDS: Kind[] = ['messages', 'notes', 'knowledge', 'code'];
export const MODES = ['hybrid', 'vector', 'text'] as const;
export type Mode = (typeof MODES)[number];
/** The k of reciprocal rank fusion: 1 / (k + rank). */
export const RRF_K = 60;
export const MAX_LIMIT = 100;
/** An organization with at most this many vectors of the model is searched exactly. */
export const EXACT_BELOW = 5_000;

export interface SearchOptions {
  query: string;
  kinds?: Kind[];
  limit?: number;
  mode?: Mode;
  /** HNSW candidate list size (hnsw.ef_search); more = better recall, slower. */
  efSearch?: number;
  /** Search an organization holding at most this many vectors exactly (default EXACT_BELOW). */
  exactBelow?: number;
}

export interface Hit {
  table: string;
  kind: Kind;
  id: string;
  title: string | null;
  snippet: string;
  score: number;
  text_rank: number | null;
  text_score: number | null;
  vector_rank: number | null;
  similarity: number | null;
  created_at: string | null;
}

export interface SearchResult {
  mode: Mode;
  model: string | null;
  language: string;
  hits: Hit[];
  /** Why a part of the search did not run (e.g. no vectors yet). */
  notes: string[];
}

interface Source {
  source_table: string;
  kind: Kind;
  title_expr: string;
  text_expr: string;
}

export function parseKinds(s: string | undefined): Kind[] {
  if (!s) return DEFAULT_KINDS;
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const k of list) {
    if (!(KINDS as readonly string[]).includes(k)) {
      throw new RobbieverseError('E_USAGE', `"${k}" is not something search can look in`, { hint: `choose from ${KINDS.join(', ')} (comma-separated)` });
    }
  }
  return list.length ? (list as Kind[]) : DEFAULT_KINDS;
}

export function checkQuery(text: string): string {
  const query = text.trim();
  if (!query) throw new RobbieverseError('E_USAGE', 'the search text is empty', { hint: 'example: robbieverse memory search "renewal pricing"' });
  if (query.length > 2000) throw new RobbieverseError('E_USAGE', 'the search text is longer than 2000 characters', { hint: 'search with the few words that matter' });
  if (query.includes('\0')) throw new RobbieverseError('E_USAGE', 'the search text contains a NUL character', { hint: 'send plain text' });
  return query;
}

/**
 * The query's vector with the active model, computed before the search's transaction opens (a
 * provider's answer can take a while; no session should wait for it). Null in text mode or
 * when no model is active.
 */
export async function embedQuery(state: MemoryState, embedder: Embedder | null, text: string, mode: Mode = 'hybrid'): Promise<number[] | null> {
  if (mode === 'text' || !state.active_model || !embedder) return null;
  const [v] = await embedder.embed([checkQuery(text)], 'query');
  return v!;
}

/**
 * Searches inside the caller's tenant transaction. `vector` is the query embedded with
 * state.active_model (embedQuery); without it only the text side runs.
 */
export async function searchMemory(tx: Queryable, state: MemoryState, vector: number[] | null, o: SearchOptions): Promise<SearchResult> {
  const query = checkQuery(o.query);
  const limit = Math.min(Math.max(1, Math.trunc(o.limit ?? 10)), MAX_LIMIT);
  const mode = o.mode ?? 'hybrid';
  const kinds = o.kinds?.length ? o.kinds : DEFAULT_KINDS;
  const { rows: sources } = await tx.query<Source>(
    'SELECT source_table, kind, title_expr, text_expr FROM memory.sources WHERE kind = ANY($1) ORDER BY source_table',
    [kinds],
  );
  const depth = Math.max(limit * 4, 50);
  const notes: string[] = [];
  const text = mode === 'vector' ? [] : await textRanks(tx, sources, state.language, query, depth);
  let vectorHits: Ranked[] = [];
  if (mode !== 'text') {
    if (!state.active_model || !vector) {
      notes.push('no embedding model is active yet: run robbieverse memory index (or up) first');
    } else {
      vectorHits = await vectorRanks(tx, sources, state.active_model, vector, depth, o.efSearch, o.exactBelow ?? EXACT_BELOW);
      const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM memory.chunks WHERE model_key = $1', [state.active_model]);
      if (rows[0]!.n === 0) notes.push(`nothing is embedded with ${state.active_model} yet: run robbieverse memory index`);
    }
  }
  const fused = fuse(text, vectorHits).slice(0, limit * 2);
  const hits = await hydrate(tx, sources, fused, query);
  return { mode, model: mode === 'text' ? null : state.active_model, language: state.language, hits: hits.slice(0, limit), notes };
}

interface Ranked {
  table: string;
  id: string;
  score: number;
  start?: number;
}

/** OR of the query's lexemes: a natural-language question matches rows holding any of its words, best ranked first. */
async function textRanks(tx: Queryable, sources: Source[], language: string, query: string, depth: number): Promise<Ranked[]> {
  const lang = `${quoteLiteral(language)}::regconfig`;
  const { rows: q } = await tx.query<{ q: string }>(`SELECT replace(plainto_tsquery(${lang}, $1)::text, ' & ', ' | ') AS q`, [query]);
  const tsq = q[0]!.q;
  if (!tsq) return [];
  const parts = sources.map(
    (s) => `(SELECT ${quoteLiteral(s.source_table)} AS t, id::text AS id, ts_rank_cd(to_tsvector(${lang}, ${s.text_expr}), $1::tsquery, 1) AS score
               FROM public.${quoteTable(s.source_table)} WHERE to_tsvector(${lang}, ${s.text_expr}) @@ $1::tsquery
              ORDER BY 3 DESC LIMIT ${depth})`,
  );
  const { rows } = await tx.query<{ t: string; id: string; score: number }>(
    `SELECT t, id, score::float8 AS score FROM (${parts.join(' UNION ALL ')}) u ORDER BY score DESC, id LIMIT ${depth}`,
    [tsq],
  );
  return rows.map((r) => ({ table: r.t, id: r.id, score: Number(r.score) }));
}

/**
 * The nearest chunks of one model ($1: the query vector as text, $2: the source tables). With
 * pgvector the ORDER BY is the expression of the model's partial HNSW index, so the planner can
 * use it; without, an exact scan.
 */
export function vectorSql(model: string, dims: number, pgvector: boolean, limit: number): string {
  const m = quoteLiteral(model);
  if (pgvector) {
    return `SELECT source_table AS t, source_id::text AS id, chunk_start AS start, 1 - d AS score FROM (
              SELECT source_table, source_id, chunk_start, (embedding::vector(${dims})) <=> $1::vector(${dims}) AS d
                FROM memory.chunks WHERE model_key = ${m} AND source_table = ANY($2)
               ORDER BY (embedding::vector(${dims})) <=> $1::vector(${dims}) LIMIT ${limit}) c
            ORDER BY d`;
  }
  return `SELECT source_table AS t, source_id::text AS id, chunk_start AS start, score FROM (
            SELECT source_table, source_id, chunk_start, cosine_similarity(embedding, $1::real[]) AS score
              FROM memory.chunks WHERE model_key = ${m} AND source_table = ANY($2)) c
          WHERE score IS NOT NULL ORDER BY score DESC LIMIT ${limit}`;
}

async function vectorRanks(tx: Queryable, sources: Source[], model: string, qv: number[], depth: number, ef: number | undefined, exactBelow: number): Promise<Ranked[]> {
  const { rows: meta } = await tx.query<{ dims: number; t: string }>(
    `SELECT (SELECT dimensions FROM embedding_models WHERE model_key = $1) AS dims,
            (SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'memory.chunks'::regclass AND attname = 'embedding') AS t`,
    [model],
  );
  const dims = meta[0]!.dims;
  if (qv.length !== dims) {
    throw new RobbieverseError('E_EMBEDDER', `the query embedding has ${qv.length} dimensions, model ${model} has ${dims}`, { hint: 'check the embedder settings' });
  }
  const tables = sources.map((s) => s.source_table);
  const pgvector = meta[0]!.t === 'vector';
  // Inside an organization with few vectors an exact scan of them beats walking the HNSW graph
  // for the few nodes that pass the filter (measured: bench/memory.ts).
  const held = pgvector ? (await tx.query<{ n: string | null }>('SELECT memory.org_vector_count($1) AS n', [model])).rows[0]!.n : null;
  const few = held !== null && Number(held) <= exactBelow;
  if (pgvector && !few) {
    // Iterative scan: the index keeps producing candidates until the filters (organization,
    // privacy, tables) leave enough rows, instead of returning the few that survive one pass.
    await tx.exec(`SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = ${Math.max(10, Math.min(1000, Math.trunc(ef ?? 100)))}`);
  }
  if (few) await tx.exec('SET LOCAL enable_indexscan = off');
  const vec = pgvector ? `[${qv.join(',')}]` : `{${qv.join(',')}}`;
  const sql = vectorSql(model, dims, pgvector, depth * 2);
  const { rows } = await tx.query<{ t: string; id: string; start: number; score: number }>(sql, [vec, tables]);
  if (few) await tx.exec('SET LOCAL enable_indexscan = on');
  // A row is as close as its closest chunk.
  const best = new Map<string, Ranked>();
  for (const r of rows) {
    const k = `${r.t}/${r.id}`;
    if (!best.has(k)) best.set(k, { table: r.t, id: r.id, score: Number(r.score), start: r.start });
  }
  return [...best.values()].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)).slice(0, depth);
}

interface Fused {
  table: string;
  id: string;
  score: number;
  text?: { rank: number; score: number };
  vector?: { rank: number; score: number; start?: number };
}

/** Reciprocal rank fusion of the two rankings; either may be empty. */
export function fuse(text: Ranked[], vector: Ranked[]): Fused[] {
  const all = new Map<string, Fused>();
  const get = (r: Ranked) => {
    const k = `${r.table}/${r.id}`;
    let f = all.get(k);
    if (!f) all.set(k, (f = { table: r.table, id: r.id, score: 0 }));
    return f;
  };
  text.forEach((r, i) => {
    const f = get(r);
    f.text = { rank: i + 1, score: r.score };
    f.score += 1 / (RRF_K + i + 1);
  });
  vector.forEach((r, i) => {
    const f = get(r);
    f.vector = { rank: i + 1, score: r.score, start: r.start };
    f.score += 1 / (RRF_K + i + 1);
  });
  return [...all.values()].sort((a, b) => b.score - a.score || a.table.localeCompare(b.table) || a.id.localeCompare(b.id));
}

async function hydrate(tx: Queryable, sources: Source[], fused: Fused[], query: string): Promise<Hit[]> {
  const byTable = new Map<string, string[]>();
  for (const f of fused) byTable.set(f.table, [...(byTable.get(f.table) ?? []), f.id]);
  const found = new Map<string, { title: string | null; text: string; created_at: string | null }>();
  for (const [table, ids] of byTable) {
    const s = sources.find((x) => x.source_table === table)!;
    const { rows } = await tx.query<{ id: string; title: string | null; text: string | null; created_at: string | null }>(
      `SELECT id::text, (${s.title_expr})::text AS title, (${s.text_expr})::text AS text, created_at::text
         FROM public.${quoteTable(table)} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    for (const r of rows) found.set(`${table}/${r.id}`, { title: r.title, text: r.text ?? '', created_at: r.created_at });
  }
  const kindOf = new Map(sources.map((s) => [s.source_table, s.kind]));
  const out: Hit[] = [];
  for (const f of fused) {
    const row = found.get(`${f.table}/${f.id}`);
    if (!row) continue; // not readable here (its own policies), or deleted since it was indexed
    out.push({
      table: f.table,
      kind: kindOf.get(f.table)!,
      id: f.id,
      title: row.title,
      snippet: snippet(row.text, query, f.vector?.start),
      score: Number(f.score.toFixed(6)),
      text_rank: f.text?.rank ?? null,
      text_score: f.text ? Number(f.text.score.toFixed(6)) : null,
      vector_rank: f.vector?.rank ?? null,
      similarity: f.vector ? Number(f.vector.score.toFixed(6)) : null,
      created_at: row.created_at,
    });
  }
  return out;
}

/** About 200 characters around the first query word found, else around the best chunk. */
export function snippet(text: string, query: string, chunkStart?: number, width = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const lower = flat.toLowerCase();
  let at = -1;
  for (const w of words(query)) {
    const i = lower.indexOf(w);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  if (at < 0) at = Math.min(chunkStart ?? 0, Math.max(0, flat.length - width));
  const from = Math.max(0, at - Math.floor(width / 3));
  const piece = flat.slice(from, from + width);
  return `${from > 0 ? '…' : ''}${piece}${from + width < flat.length ? '…' : ''}`;
}
