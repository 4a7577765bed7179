/**
 * The indexer: claims queued rows (a lease, SKIP LOCKED, so several indexers never take the same
 * row), embeds their text in batches with each model the index holds, and replaces the rows'
 * chunks in one transaction per batch. A row changed again while it was being embedded stays
 * queued for the next round; a provider failure leaves the batch queued with the error, retried
 * after a backoff, and stores nothing.
 */
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Db, Listener } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import type { Embedder } from './embedders.js';
import { activeEmbedder, adoptEmbedder, completeBuild, modelsOf, quoteTable, readState, type MemoryState } from './models.js';

export const CHUNK_CHARS = 1_500;
export const CHUNK_OVERLAP = 200;
const LEASE_SECONDS = 120;
const MAX_BACKOFF_SECONDS = 600;

export interface Chunk {
  start: number;
  end: number;
  text: string;
}

/** Splits text into overlapping pieces of at most CHUNK_CHARS, cut at a space where one is near. */
export function chunkText(text: string, max = CHUNK_CHARS, overlap = CHUNK_OVERLAP): Chunk[] {
  const t = text.trim() ? text : '';
  if (!t) return [];
  const out: Chunk[] = [];
  let start = 0;
  while (start < t.length) {
    let end = Math.min(t.length, start + max);
    if (end < t.length) {
      const space = t.lastIndexOf(' ', end);
      if (space > start + max / 2) end = space;
    }
    out.push({ start, end, text: t.slice(start, end) });
    if (end >= t.length) break;
    start = Math.max(end - overlap, start + 1);
  }
  return out;
}

interface Claimed {
  source_table: string;
  source_id: string;
  queued_at: string;
  attempts: number;
}

interface SourceRow {
  id: string;
  org_id: string;
  text: string | null;
  privacy: string;
  owner: string | null;
  town: string | null;
}

export interface BatchResult {
  claimed: number;
  embedded: number;
  unchanged: number;
  failed: number;
  error?: string;
}

export interface IndexerOptions {
  embedder: Embedder;
  /** Embedders of the other models the index holds (the active one during a build), by model key. */
  others?: Map<string, Embedder>;
  batchSize?: number;
  logger?: Logger;
  /** For the other model's embedder, made from memory.state (its provider and endpoint). */
  apiKey?: string;
  timeoutMs?: number;
}

async function sourcesOf(db: Db): Promise<Map<string, { text_expr: string; privacy_expr: string; owner_expr: string; town_expr: string }>> {
  const { rows } = await db.query<{ source_table: string; text_expr: string; privacy_expr: string; owner_expr: string; town_expr: string }>(
    'SELECT source_table, text_expr, privacy_expr, owner_expr, town_expr FROM memory.sources',
  );
  return new Map(rows.map((r) => [r.source_table, r]));
}

async function vectorLiteral(db: Db): Promise<(v: number[]) => string> {
  const { rows } = await db.query<{ t: string }>(
    `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'memory.chunks'::regclass AND attname = 'embedding'`,
  );
  return rows[0]?.t === 'vector' ? (v) => `[${v.join(',')}]` : (v) => `{${v.join(',')}}`;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** One round: claim up to batchSize due rows, embed, store. */
export async function indexBatch(db: Db, o: IndexerOptions): Promise<BatchResult> {
  const size = o.batchSize ?? 32;
  const { rows: claimed } = await db.query<Claimed>(
    `UPDATE memory.queue q SET not_before = now() + make_interval(secs => ${LEASE_SECONDS})
       FROM (SELECT source_table, source_id FROM memory.queue WHERE not_before <= now()
              ORDER BY not_before, queued_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
      WHERE q.source_table = c.source_table AND q.source_id = c.source_id
     RETURNING q.source_table, q.source_id::text, q.queued_at::text, q.attempts`,
    [size],
  );
  const result: BatchResult = { claimed: claimed.length, embedded: 0, unchanged: 0, failed: 0 };
  if (claimed.length === 0) return result;
  const state = await readState(db);
  const models = modelsOf(state);
  const sources = await sourcesOf(db);
  const literal = await vectorLiteral(db);

  // The rows' current text, read as the owner (the index covers every organization).
  const rows = new Map<string, SourceRow & { table: string }>();
  for (const [table, ids] of groupBy(claimed)) {
    const s = sources.get(table);
    if (!s) continue;
    const { rows: found } = await db.query<SourceRow>(
      `SELECT id::text, org_id::text, (${s.text_expr})::text AS text, (${s.privacy_expr})::text AS privacy,
              (${s.owner_expr})::text AS owner, (${s.town_expr})::text AS town
         FROM public.${quoteTable(table)} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    for (const r of found) rows.set(`${table}/${r.id}`, { ...r, table });
  }
  // What each model already holds for these rows: unchanged text is not embedded again.
  const { rows: held } = await db.query<{ k: string; model_key: string; sha: string }>(
    `SELECT DISTINCT source_table || '/' || source_id AS k, model_key, content_sha256 AS sha FROM memory.chunks
      WHERE (source_table, source_id) IN (SELECT t, i::uuid FROM unnest($1::text[], $2::text[]) AS u(t, i)) AND model_key = ANY($3)`,
    [claimed.map((c) => c.source_table), claimed.map((c) => c.source_id), models],
  );
  const heldSha = new Map(held.map((h) => [`${h.k}@${h.model_key}`, h.sha]));

  interface Todo { row: SourceRow & { table: string }; sha: string; chunks: Chunk[] }
  const perModel = new Map<string, Todo[]>();
  let unchanged = 0;
  for (const row of rows.values()) {
    const text = row.text ?? '';
    const sha = sha256(text);
    const chunks = chunkText(text);
    for (const m of models) {
      if (chunks.length > 0 && heldSha.get(`${row.table}/${row.id}@${m}`) === sha) {
        unchanged++;
        continue;
      }
      const list = perModel.get(m) ?? [];
      list.push({ row, sha, chunks });
      perModel.set(m, list);
    }
  }

  let vectors: Map<string, number[][]>;
  try {
    vectors = new Map();
    for (const [m, todos] of perModel) {
      const e = embedderFor(m, o, state);
      const texts = todos.flatMap((t) => t.chunks.map((c) => c.text));
      const out = texts.length ? await e.embed(texts, 'document') : [];
      vectors.set(m, out);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await db.query(
      `UPDATE memory.queue q SET attempts = q.attempts + 1, last_error = $3, last_error_at = now(),
              not_before = now() + make_interval(secs => least(${MAX_BACKOFF_SECONDS}, 5 * power(2, q.attempts)))
         FROM unnest($1::text[], $2::text[], $4::text[]) AS u(t, i, at)
        WHERE q.source_table = u.t AND q.source_id = u.i::uuid AND q.queued_at = u.at::timestamptz`,
      [claimed.map((c) => c.source_table), claimed.map((c) => c.source_id), message.slice(0, 2000), claimed.map((c) => c.queued_at)],
    );
    o.logger?.warn({ err: message, rows: claimed.length }, 'memory: embedding failed; the rows stay queued');
    return { ...result, failed: claimed.length, error: message };
  }

  await db.transaction(async (tx) => {
    const records: Record<string, unknown>[] = [];
    const replaced: { t: string; i: string; m: string }[] = [];
    for (const [m, todos] of perModel) {
      const vs = vectors.get(m)!;
      let k = 0;
      for (const t of todos) {
        replaced.push({ t: t.row.table, i: t.row.id, m });
        t.chunks.forEach((c, idx) => {
          records.push({
            source_table: t.row.table, source_id: t.row.id, model_key: m, chunk_index: idx, org_id: t.row.org_id,
            privacy_level: t.row.privacy ?? 'team', owner_id: t.row.owner, town_id: t.row.town, content_sha256: t.sha,
            chunk_start: c.start, chunk_end: c.end, embedding: literal(vs[k++]!),
          });
        });
      }
    }
    if (replaced.length) {
      await tx.query(
        `DELETE FROM memory.chunks c USING jsonb_to_recordset($1::jsonb) AS r(t text, i uuid, m text)
          WHERE c.source_table = r.t AND c.source_id = r.i AND c.model_key = r.m`,
        [JSON.stringify(replaced)],
      );
    }
    if (records.length) {
      const cast = literal([0]).startsWith('[') ? 'vector' : 'real[]';
      await tx.query(
        `INSERT INTO memory.chunks (source_table, source_id, model_key, chunk_index, org_id, privacy_level, owner_id, town_id,
                                    content_sha256, chunk_start, chunk_end, embedding)
         SELECT source_table, source_id, model_key, chunk_index, org_id, privacy_level, owner_id, town_id, content_sha256,
                chunk_start, chunk_end, embedding::${cast}
           FROM jsonb_to_recordset($1::jsonb) AS r(source_table text, source_id uuid, model_key text, chunk_index int, org_id uuid,
                privacy_level text, owner_id uuid, town_id uuid, content_sha256 text, chunk_start int, chunk_end int, embedding text)`,
        [JSON.stringify(records)],
      );
    }
    // Done: unless the row was queued again meanwhile (then its newer text is embedded next round).
    await tx.query(
      `DELETE FROM memory.queue q USING unnest($1::text[], $2::text[], $3::text[]) AS u(t, i, at)
        WHERE q.source_table = u.t AND q.source_id = u.i::uuid AND q.queued_at = u.at::timestamptz`,
      [claimed.map((c) => c.source_table), claimed.map((c) => c.source_id), claimed.map((c) => c.queued_at)],
    );
  });
  result.embedded = [...perModel.values()].reduce((n, l) => n + l.length, 0);
  result.unchanged = unchanged;
  return result;
}

function embedderFor(model: string, o: IndexerOptions, s: MemoryState): Embedder {
  if (o.embedder.model === model) return o.embedder;
  const e = o.others?.get(model);
  if (e) return e;
  const active = s.active_model === model ? activeEmbedder(s, o.apiKey, o.timeoutMs) : null;
  if (active) {
    (o.others ??= new Map()).set(model, active);
    return active;
  }
  throw new RobbieverseError('E_EMBEDDER', `no embedder for model ${model} (the index holds ${modelsOf(s).join(' and ')})`, {
    hint: 'configure the embedder of that model, or let the switch to the configured one finish',
  });
}

function groupBy(claimed: Claimed[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const c of claimed) m.set(c.source_table, [...(m.get(c.source_table) ?? []), c.source_id]);
  return m;
}

export interface DrainProgress {
  done: number;
  pending: number;
  failed: number;
}

/**
 * Embeds everything due now: batches until the queue holds no due row (rows waiting after a
 * failure are left for later). Completes a model switch when its queue is empty.
 */
export async function indexPending(db: Db, o: IndexerOptions & { onProgress?: (p: DrainProgress) => void; maxBatches?: number }): Promise<DrainProgress & { switchedTo: string | null; errors: string[] }> {
  let done = 0;
  let failed = 0;
  const errors: string[] = [];
  for (let i = 0; i < (o.maxBatches ?? Infinity); i++) {
    const r = await indexBatch(db, o);
    if (r.claimed === 0) break;
    done += r.claimed - r.failed;
    failed += r.failed;
    if (r.error && !errors.includes(r.error)) errors.push(r.error);
    o.onProgress?.({ done, failed, pending: await pendingCount(db) });
  }
  const switchedTo = await completeBuild(db);
  return { done, failed, pending: await pendingCount(db), switchedTo, errors };
}

export async function pendingCount(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM memory.queue');
  return rows[0]!.n;
}

export interface MemoryWorker {
  stop(): Promise<void>;
  /** Look at the queue now (e.g. after writes this process was not notified of). */
  kick(): void;
  /** Resolves when the queue has no due row (for tests and `up`'s first report). */
  idle(): Promise<void>;
}

/**
 * The background indexer of `up` and `memory worker`: adopts the configured embedder, then
 * indexes whenever memory_pending is notified, and every pollMs in any case (rows retried after
 * a failure, a notification lost during a reconnect).
 */
export async function startMemoryWorker(db: Db, o: IndexerOptions & { pollMs?: number; onAdopt?: (change: string) => void; onError?: (message: string) => void }): Promise<MemoryWorker> {
  let adopted = false;
  let stopped = false;
  let wake: (() => void) | null = null;
  let idleWaiters: (() => void)[] = [];
  const kick = () => wake?.();
  const listener: Listener = await db.listen(['memory_pending'], { onNotify: kick, onReconnect: kick }, { logger: o.logger });
  const loop = (async () => {
    while (!stopped) {
      try {
        if (!adopted) {
          // A provider that is down at start is tried again at every round.
          const change = await adoptEmbedder(db, o.embedder);
          adopted = true;
          o.logger?.info({ model: o.embedder.model, provider: o.embedder.provider, change }, 'memory: indexer started');
          o.onAdopt?.(change);
        }
        const r = await indexPending(db, { ...o, maxBatches: 50 });
        if (r.switchedTo) o.logger?.info({ model: r.switchedTo }, 'memory: model switch complete; search uses the new vectors');
        if (r.done || r.failed) o.logger?.debug({ done: r.done, failed: r.failed, pending: r.pending }, 'memory: indexed');
        if (r.done === 0 && r.failed === 0) {
          for (const w of idleWaiters) w();
          idleWaiters = [];
        } else continue;
      } catch (err) {
        o.logger?.warn({ err: (err as Error).message }, 'memory: indexer round failed; retrying');
        o.onError?.((err as Error).message);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, o.pollMs ?? 30_000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  })();
  return {
    kick,
    async stop() {
      stopped = true;
      kick();
      await loop;
      await listener.close();
      for (const w of idleWaiters) w();
    },
    idle: () => new Promise<void>((resolve) => {
      idleWaiters.push(resolve);
      kick();
    }),
  };
}
