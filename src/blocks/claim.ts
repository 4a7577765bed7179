import os from 'node:os';
import crypto from 'node:crypto';
import type { Db } from '../db/types.js';

export interface DeployJob {
  id: string;
  node_id: string;
  node_key: string;
  app_namespace: string;
  triggered_by: string;
  change_trigger_id: string | null;
}

/** `host:pid:random`, stored in `claimed_by`; the pid lets a restarted builder on the same host spot a dead claim. */
export function newBuilderId(): string {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * The build stage's claim (BLOCKS.md §2.5): one pending deploy of a served node (all nodes when
 * `nodeIds` is null) becomes `building` with started_at and claimed_by, committed at once. The
 * build then runs outside any transaction, holding no row lock.
 */
export async function claimDeploy(db: Db, nodeIds: string[] | null, builderId: string, deployId?: string): Promise<DeployJob | null> {
  const r = await db.query<DeployJob>(
    `UPDATE robbieblocks_deploys d
        SET deploy_status = 'building', started_at = now(), claimed_by = $2, updated_at = now()
       FROM nodes n
      WHERE n.id = d.node_id
        AND d.id = (SELECT id FROM robbieblocks_deploys
                     WHERE deploy_status = 'pending'
                       AND ($1::uuid[] IS NULL OR node_id = ANY($1::uuid[]))
                       AND ($3::uuid IS NULL OR id = $3::uuid)
                     ORDER BY created_at, id
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED)
        AND d.deploy_status = 'pending'
      RETURNING d.id, d.node_id, n.node_key, d.app_namespace, d.triggered_by, d.change_trigger_id`,
    [nodeIds, builderId, deployId ?? null],
  );
  return r.rows[0] ?? null;
}
