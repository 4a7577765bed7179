/**
 * Log retention (`sync purge`): deletes change-log rows and tombstones no node needs any more
 * (sync.purge in 033). On the hub the highest key deleted becomes the purge horizon; a node whose
 * pull cursor lies before it must re-seed (E_SYNC_RESEED).
 */
import type { Queryable } from '../db/types.js';
import { RobbieverseError } from '../errors.js';

export const DEFAULT_RETENTION_MS = 30 * 24 * 3_600_000;

export interface PurgeOptions {
  /** Keep everything younger than this (default 30 days). */
  retentionMs?: number;
  /** Hub: a node that has not pulled for longer than this stops holding the log back (it will re-seed). Default: never. */
  nodeGraceMs?: number;
}

export interface PurgeResult {
  role: 'hub' | 'node';
  /** Change-log rows deleted. */
  log_rows: number;
  /** Tombstones (row versions of deleted rows) deleted. */
  tombstones: number;
  /** Hub: the nodes whose cursor held the log back (the oldest cursor, or never pulled). */
  held_by: string[];
  /** Hub: nodes past the grace period that no longer hold the log back. */
  released: string[];
  /** The highest log key ever purged here, or null. */
  horizon: { xid: string; position: string } | null;
}

export async function purgeSyncLog(db: Queryable, o: PurgeOptions = {}): Promise<PurgeResult> {
  const me = await db.query('SELECT 1 FROM sync.local');
  if (!me.rows.length) {
    throw new RobbieverseError('E_USAGE', 'this database does not sync (not a master, not joined): there is no sync log to purge', {
      hint: 'run it on the master (`--url MASTER_ADMIN_URL`) or on a node that joined one',
    });
  }
  const { rows } = await db.query<{ r: string }>(
    `SELECT sync.purge(make_interval(secs => $1::float8 / 1000), CASE WHEN $2::float8 IS NULL THEN NULL ELSE make_interval(secs => $2::float8 / 1000) END)::text AS r`,
    [o.retentionMs ?? DEFAULT_RETENTION_MS, o.nodeGraceMs ?? null],
  );
  const r = JSON.parse(rows[0]!.r) as Omit<PurgeResult, 'horizon'> & { horizon: { xid: number; position: number } | null };
  return { ...r, horizon: r.horizon ? { xid: String(r.horizon.xid), position: String(r.horizon.position) } : null };
}
