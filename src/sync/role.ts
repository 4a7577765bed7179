import type { Queryable } from '../db/types.js';

/**
 * This database's role in a sync network: 'hub' (the master), 'node' (joined a master; its hub →
 * node tables, the RobbieBlocks content among them, are read-only here) or null (not syncing).
 */
export async function syncRole(q: Queryable): Promise<'hub' | 'node' | null> {
  const t = await q.query<{ t: string | null }>(`SELECT to_regclass('sync.local')::text AS t`);
  if (t.rows[0]?.t == null) return null;
  const { rows } = await q.query<{ role: 'hub' | 'node' }>('SELECT role FROM sync.local');
  return rows[0]?.role ?? null;
}
