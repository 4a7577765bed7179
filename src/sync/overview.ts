import type { Queryable } from '../db/types.js';
import type { NodeStatus } from './status.js';

/** The last finished deploy (success, failed, skipped) of one app of one node. */
export interface OverviewDeploy {
  id: string;
  status: 'success' | 'failed' | 'skipped';
  triggered_by: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  release_id: string | null;
  build_hash: string | null;
  error_message: string | null;
}

export interface OverviewApp {
  app: string;
  /** In the node's branding (enabled_apps); false: only deploy history is left. */
  enabled: boolean;
  last_deploy: OverviewDeploy | null;
  in_progress: { id: string; status: 'pending' | 'building' | 'deploying'; triggered_by: string; queued_at: string; started_at: string | null } | null;
}

export interface OverviewNode {
  node_id: string;
  node_key: string;
  node_type: string | null;
  /**
   * joined: syncs with this database (a node of this master, or this node itself); not_joined: on
   * the master, a node with branding or deploys that never joined (the master builds for it);
   * master: the master's own row; standalone: this database does not sync.
   */
  sync: 'joined' | 'not_joined' | 'master' | 'standalone';
  /** Null unless sync is joined. */
  health: NodeStatus['health'] | null;
  /** See docs/sync.md, "The master's overview". */
  lag_ms: number | null;
  oldest_waiting_at: string | null;
  last_contact_at: string | null;
  last_push_at: string | null;
  last_pull_at: string | null;
  outbound_backlog: number | null;
  inbound_backlog: number | null;
  parked: number | null;
  conflicts_24h: number | null;
  clock_offset_ms: number | null;
  schema_match: boolean | null;
  last_error: string | null;
  /** Health error or offline, or an enabled app whose last deploy failed. */
  attention: boolean;
  apps: OverviewApp[];
}

export interface SyncOverview {
  role: 'hub' | 'node' | null;
  node_key: string | null;
  generated_at: string;
  /** Some node needs attention: `sync overview` exits 1. */
  attention: boolean;
  nodes: OverviewNode[];
}

/** The overview of the database asked (sync.overview(), migration 041): the owner's view. */
export async function syncOverview(db: Queryable): Promise<SyncOverview> {
  const { rows } = await db.query<{ r: SyncOverview }>('SELECT sync.overview() AS r');
  return orderOverview(rows[0]!.r);
}

const NODE_KEYS = [
  'node_id', 'node_key', 'node_type', 'sync', 'health', 'lag_ms', 'oldest_waiting_at', 'last_contact_at', 'last_push_at', 'last_pull_at',
  'outbound_backlog', 'inbound_backlog', 'parked', 'conflicts_24h', 'clock_offset_ms', 'schema_match', 'last_error', 'attention', 'apps',
] as const;
const DEPLOY_KEYS = ['id', 'status', 'triggered_by', 'started_at', 'completed_at', 'duration_ms', 'release_id', 'build_hash', 'error_message'] as const;

function pick<T>(o: T, keys: readonly string[]): T {
  const src = o as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, src[k] ?? null])) as T;
}

/** jsonb sorts keys by length; the CLI's --json keeps the documented order. */
export function orderOverview(r: SyncOverview): SyncOverview {
  return {
    role: r.role,
    node_key: r.node_key,
    generated_at: r.generated_at,
    attention: r.attention,
    nodes: r.nodes.map((n) => ({
      ...pick(n, NODE_KEYS),
      apps: n.apps.map((a) => ({ app: a.app, enabled: a.enabled, last_deploy: a.last_deploy && pick(a.last_deploy, DEPLOY_KEYS), in_progress: a.in_progress })),
    })),
  };
}
