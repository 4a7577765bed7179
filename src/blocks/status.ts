import type { Db } from '../db/types.js';
import { sitePaths } from './paths.js';
import { listReleases, readCurrent } from './releases.js';

export interface DeployRow {
  id: string;
  node_key: string;
  app_namespace: string;
  deploy_status: string;
  triggered_by: string;
  build_hash: string | null;
  release_id: string | null;
  pages_count: number | null;
  components_count: number | null;
  build_duration_ms: number | null;
  deploy_duration_ms: number | null;
  artifact_bytes: number | null;
  error_message: string | null;
  rollback_of: string | null;
  claimed_by: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export async function listDeploys(db: Db, f: { nodeKey?: string; app?: string; status?: string; limit?: number } = {}): Promise<DeployRow[]> {
  const { rows } = await db.query<DeployRow>(
    `SELECT d.id, n.node_key, d.app_namespace, d.deploy_status, d.triggered_by, d.build_hash, d.release_id, d.pages_count,
            d.components_count, d.build_duration_ms, d.deploy_duration_ms, d.artifact_bytes, d.error_message, d.rollback_of,
            d.claimed_by, d.created_at, d.started_at, d.completed_at
       FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
      WHERE ($1::text IS NULL OR n.node_key = $1) AND ($2::text IS NULL OR d.app_namespace = $2)
        AND ($3::text IS NULL OR d.deploy_status = $3)
      ORDER BY d.created_at DESC, d.id DESC
      LIMIT $4`,
    [f.nodeKey ?? null, f.app ?? null, f.status ?? null, f.limit ?? 20],
  );
  return rows;
}

export interface PageListRow {
  page_key: string;
  app_namespace: string;
  page_route: string;
  layout_template: string;
  status: string;
  version: number;
  blocks: number;
  updated_at: Date;
}

export async function listPages(db: Db, f: { app?: string; status?: string } = {}): Promise<PageListRow[]> {
  const { rows } = await db.query<PageListRow>(
    `SELECT p.page_key, p.app_namespace, p.page_route, p.layout_template, p.status, p.version,
            (SELECT count(*)::int FROM robbieblocks_page_blocks b WHERE b.page_id = p.id) AS blocks, p.updated_at
       FROM robbieblocks_pages p
      WHERE ($1::text IS NULL OR p.app_namespace = $1) AND ($2::text IS NULL OR p.status = $2)
      ORDER BY p.app_namespace, p.page_route, p.page_key`,
    [f.app ?? null, f.status ?? null],
  );
  return rows;
}

export interface SiteStatus {
  node_key: string;
  app: string;
  enabled: boolean;
  live_release: string | null;
  live_hash: string | null;
  releases: string[];
  last_deploy: { id: string; status: string; triggered_by: string; completed_at: Date | null; error_message: string | null } | null;
  active: { id: string; status: string } | null;
}

export interface BlocksStatus {
  unprocessed_changes: number;
  oldest_unprocessed: Date | null;
  manual_only_changes: number;
  sites: SiteStatus[];
}

/** Queue depth and, per (node, app) with branding or history, what is live and what ran last. */
export async function blocksStatus(db: Db, deployRoot: string): Promise<BlocksStatus> {
  const q = await db.query<{ n: number; oldest: Date | null; manual: number }>(
    `SELECT count(*) FILTER (WHERE auto_deploy)::int AS n, min(created_at) FILTER (WHERE auto_deploy) AS oldest,
            count(*) FILTER (WHERE NOT auto_deploy)::int AS manual
       FROM robbieblocks_change_triggers WHERE processed_at IS NULL`,
  );
  const pairs = await db.query<{ node_id: string; node_key: string; app: string; enabled: boolean }>(
    `SELECT n.id AS node_id, n.node_key, a.app, coalesce(a.app = ANY(b.enabled_apps), false) AS enabled
       FROM nodes n
       LEFT JOIN robbieblocks_node_branding b ON b.node_id = n.id
       JOIN LATERAL (SELECT unnest(coalesce(b.enabled_apps, '{}')) AS app
                     UNION SELECT DISTINCT d.app_namespace FROM robbieblocks_deploys d WHERE d.node_id = n.id) a ON true
      ORDER BY n.node_key, a.app`,
  );
  const sites: SiteStatus[] = [];
  for (const r of pairs.rows) {
    const last = await db.query<{ id: string; status: string; triggered_by: string; completed_at: Date | null; error_message: string | null }>(
      `SELECT id, deploy_status AS status, triggered_by, completed_at, error_message FROM robbieblocks_deploys
        WHERE node_id = $1::uuid AND app_namespace = $2 AND deploy_status NOT IN ('pending', 'building', 'deploying')
        ORDER BY coalesce(completed_at, created_at) DESC LIMIT 1`,
      [r.node_id, r.app],
    );
    const active = await db.query<{ id: string; status: string }>(
      `SELECT id, deploy_status AS status FROM robbieblocks_deploys
        WHERE node_id = $1::uuid AND app_namespace = $2 AND deploy_status IN ('pending', 'building', 'deploying')`,
      [r.node_id, r.app],
    );
    const p = sitePaths(deployRoot, r.node_key, r.app);
    const cur = readCurrent(p);
    sites.push({
      node_key: r.node_key,
      app: r.app,
      enabled: r.enabled,
      live_release: cur?.releaseId ?? null,
      live_hash: cur?.manifest.build_hash ?? null,
      releases: listReleases(p),
      last_deploy: last.rows[0] ?? null,
      active: active.rows[0] ?? null,
    });
  }
  const s = q.rows[0]!;
  return { unprocessed_changes: s.n, oldest_unprocessed: s.oldest, manual_only_changes: s.manual, sites };
}
