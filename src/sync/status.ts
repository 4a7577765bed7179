import type { Queryable } from '../db/types.js';

export interface NodeStatus {
  node_id: string;
  node_key: string;
  node_type: string;
  enabled: boolean;
  last_contact_at: string | null;
  last_push_at: string | null;
  last_pull_at: string | null;
  outbound_backlog: number | null;
  inbound_backlog: number | null;
  parked: number;
  conflicts_24h: number;
  clock_offset_ms: number | null;
  schema_version: string | null;
  schema_match: boolean | null;
  last_error: string | null;
  health: 'never_synced' | 'error' | 'offline' | 'degraded' | 'healthy';
}

export interface SyncStatus {
  role: 'hub' | 'node' | null;
  nodeKey: string | null;
  nodes: NodeStatus[];
}

export async function syncStatus(db: Queryable): Promise<SyncStatus> {
  const me = await db.query<{ role: 'hub' | 'node'; node_key: string }>('SELECT role, node_key FROM sync.local');
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT node_id::text, node_key, node_type, enabled, last_contact_at, last_push_at, last_pull_at,
            outbound_backlog::int, inbound_backlog::int, parked::int, conflicts_24h::int, clock_offset_ms,
            schema_version, schema_match, last_error, health
       FROM sync_node_status`,
  );
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | null));
  return {
    role: me.rows[0]?.role ?? null,
    nodeKey: me.rows[0]?.node_key ?? null,
    nodes: rows.map((r) => ({ ...(r as unknown as NodeStatus), last_contact_at: iso(r.last_contact_at), last_push_at: iso(r.last_push_at), last_pull_at: iso(r.last_pull_at) })),
  };
}

export interface ConflictRow {
  id: string;
  detected_at: string;
  table_name: string;
  record_id: string;
  conflict_type: string;
  winner_node: string | null;
  winner_hlc: string | null;
  loser_node: string | null;
  loser_hlc: string | null;
  master_data: unknown;
  replica_data: unknown;
}

export async function listConflicts(db: Queryable, o: { table?: string; sinceMs?: number; limit?: number } = {}): Promise<ConflictRow[]> {
  const { rows } = await db.query<ConflictRow>(
    `SELECT c.id::text, c.created_at AS detected_at, c.table_name, c.record_id::text, c.conflict_type,
            w.node_key AS winner_node, c.winner_hlc, l.node_key AS loser_node, c.loser_hlc, c.master_data, c.replica_data
       FROM sync_conflicts c
       LEFT JOIN nodes w ON w.id = c.winner_node_id
       LEFT JOIN nodes l ON l.id = c.loser_node_id
      WHERE ($1::text IS NULL OR c.table_name = $1)
        AND ($2::bigint IS NULL OR c.created_at > now() - make_interval(secs => $2::bigint / 1000.0))
      ORDER BY c.created_at DESC, c.id
      LIMIT $3`,
    [o.table ?? null, o.sinceMs ?? null, o.limit ?? 100],
  );
  return rows.map((r) => ({ ...r, detected_at: (r.detected_at as unknown) instanceof Date ? (r.detected_at as unknown as Date).toISOString() : String(r.detected_at) }));
}
