/**
 * Which model the index holds: memory.state names the active model (search uses it) and, during
 * a switch, the one being built. Configuring another embedder starts a build: every row is
 * queued again and embedded with the new model too; search keeps the old vectors until the
 * queue is empty, then the new model becomes active and the old vectors are dropped.
 */
import type { Db, Queryable } from '../db/types.js';
import { asServerError, RobbieverseError } from '../errors.js';
import { createEmbedder, type Embedder, type ProviderName } from './embedders.js';

export interface MemoryState {
  language: string;
  active_model: string | null;
  active_provider: ProviderName | null;
  active_endpoint: string | null;
  building_model: string | null;
  building_provider: ProviderName | null;
  building_endpoint: string | null;
  building_started_at: string | null;
  switched_at: string | null;
}

export async function readState(q: Queryable, lock = false): Promise<MemoryState> {
  const { rows } = await q.query<MemoryState>(
    `SELECT language::text AS language, active_model, active_provider, active_endpoint, building_model, building_provider,
            building_endpoint, building_started_at::text, switched_at::text FROM memory.state${lock ? ' FOR UPDATE' : ''}`,
  );
  if (!rows[0]) throw new RobbieverseError('E_MIGRATION_DRIFT', 'memory.state has no row', { hint: 'run robbieverse db migrate' });
  return rows[0];
}

/** The models the indexer writes: the active one and the one being built. */
export function modelsOf(s: MemoryState): string[] {
  return [s.active_model, s.building_model].filter((m): m is string => Boolean(m));
}

/**
 * Registers the embedder's model in embedding_models if it is new (asking the provider once for
 * its dimension), and refuses one whose stored dimension differs from what it answers.
 */
export async function registerModel(db: Db, e: Embedder): Promise<number> {
  const { rows } = await db.query<{ dimensions: number }>('SELECT dimensions FROM embedding_models WHERE model_key = $1', [e.model]);
  if (rows[0] && e.dimensions !== null && rows[0].dimensions !== e.dimensions) {
    throw new RobbieverseError('E_EMBEDDER', `embedding model ${e.model} is registered with ${rows[0].dimensions} dimensions, the embedder gives ${e.dimensions}`, {
      hint: 'use another model name for a model of another size',
    });
  }
  if (rows[0] && e.dimensions === null) {
    // Check once that the provider agrees with the registry before anything is stored.
    const [probe] = await e.embed(['dimension check'], 'document');
    if (probe!.length !== rows[0].dimensions) {
      throw new RobbieverseError('E_EMBEDDER', `${e.provider} model ${e.model} answers ${probe!.length} dimensions, embedding_models says ${rows[0].dimensions}`, {
        hint: 'use another model name for a model of another size',
      });
    }
    return rows[0].dimensions;
  }
  if (rows[0]) return rows[0].dimensions;
  const dims = e.dimensions ?? (await e.embed(['dimension check'], 'document'))[0]!.length;
  try {
    await db.query(
      `INSERT INTO embedding_models (id, model_key, provider, dimensions, distance_metric, index_enabled)
       VALUES (reference_uuid('embedding_models', $1), $1, $2, $3, 'cosine', $3 <= 2000) ON CONFLICT (model_key) DO NOTHING`,
      [e.model, e.provider === 'builtin' ? 'builtin' : e.provider, dims],
    );
  } catch (err) {
    const s = asServerError(err);
    throw new RobbieverseError('E_EMBEDDER', `cannot register embedding model ${e.model}: ${s?.message ?? String(err)}`, {
      hint: 'on a sync node embedding_models comes from the master: register the model there (run the indexer on the master once), then sync',
      cause: err,
    });
  }
  return dims;
}

export type StateChange = 'unchanged' | 'activated' | 'build-started' | 'build-cancelled';

/**
 * Brings memory.state in line with the configured embedder: the first one becomes active at
 * once; another one starts a build (all rows queued again); going back to the active one
 * cancels a build. Returns what changed.
 */
export async function adoptEmbedder(db: Db, e: Embedder): Promise<StateChange> {
  await registerModel(db, e);
  const change = await db.transaction(async (tx): Promise<StateChange> => {
    const s = await readState(tx, true);
    if (!s.active_model) {
      await tx.query(`UPDATE memory.state SET active_model = $1, active_provider = $2, active_endpoint = $3, switched_at = now(), updated_at = now()`, [e.model, e.provider, e.endpoint]);
      return 'activated';
    }
    if (s.active_model === e.model) {
      if (s.active_provider !== e.provider || s.active_endpoint !== e.endpoint) {
        await tx.query(`UPDATE memory.state SET active_provider = $1, active_endpoint = $2, updated_at = now()`, [e.provider, e.endpoint]);
      }
      if (!s.building_model) return 'unchanged';
      await tx.query('DELETE FROM memory.chunks WHERE model_key = $1', [s.building_model]);
      await tx.query(`UPDATE memory.state SET building_model = NULL, building_provider = NULL, building_endpoint = NULL, building_started_at = NULL, updated_at = now()`);
      return 'build-cancelled';
    }
    if (s.building_model === e.model) {
      if (s.building_provider !== e.provider || s.building_endpoint !== e.endpoint) {
        await tx.query(`UPDATE memory.state SET building_provider = $1, building_endpoint = $2, updated_at = now()`, [e.provider, e.endpoint]);
      }
      return 'unchanged';
    }
    if (s.building_model) await tx.query('DELETE FROM memory.chunks WHERE model_key = $1', [s.building_model]);
    await tx.query(
      `UPDATE memory.state SET building_model = $1, building_provider = $2, building_endpoint = $3, building_started_at = now(), updated_at = now()`,
      [e.model, e.provider, e.endpoint],
    );
    await requeueAll(tx);
    return 'build-started';
  });
  await db.query('SELECT memory.ensure_vector_indexes()');
  return change;
}

/** Queues every row of every source (a model build, or `memory index --all`). */
export async function requeueAll(q: Queryable): Promise<number> {
  const { rows: sources } = await q.query<{ source_table: string }>('SELECT source_table FROM memory.sources ORDER BY 1');
  let n = 0;
  for (const s of sources) {
    const r = await q.query(
      `INSERT INTO memory.queue (source_table, source_id, org_id) SELECT $1, id, org_id FROM public.${quoteTable(s.source_table)} WHERE org_id IS NOT NULL
       ON CONFLICT (source_table, source_id) DO UPDATE SET not_before = now(), attempts = 0, last_error = NULL, last_error_at = NULL`,
      [s.source_table],
    );
    n += r.rowCount;
  }
  return n;
}

export function quoteTable(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RobbieverseError('E_QUERY', `"${name}" is not a table name`);
  return `"${name}"`;
}

/**
 * When a build's queue is empty, the built model becomes the active one and the old vectors
 * are dropped, in one transaction. Returns the new active model, or null if nothing switched.
 */
export async function completeBuild(db: Db): Promise<string | null> {
  return db.transaction(async (tx) => {
    const s = await readState(tx, true);
    if (!s.building_model) return null;
    const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM memory.queue');
    if (rows[0]!.n > 0) return null;
    await tx.query(
      `UPDATE memory.state SET active_model = building_model, active_provider = building_provider, active_endpoint = building_endpoint,
              building_model = NULL, building_provider = NULL, building_endpoint = NULL, building_started_at = NULL,
              switched_at = now(), updated_at = now()`,
    );
    if (s.active_model) await tx.query('DELETE FROM memory.chunks WHERE model_key = $1', [s.active_model]);
    return s.building_model;
  });
}

/** The embedder of the active model, for queries: same provider and endpoint; the key from settings. */
export function activeEmbedder(s: MemoryState, apiKey: string | undefined, timeoutMs?: number): Embedder | null {
  if (!s.active_model || !s.active_provider) return null;
  return createEmbedder({ provider: s.active_provider, model: s.active_model, url: s.active_endpoint ?? undefined, apiKey, timeoutMs });
}
