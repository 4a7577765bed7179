import type { Db } from '../db/types.js';
import { ensurePending } from './plan.js';
import { assertBuildsHere, nodeByKey } from './served.js';

/**
 * Queues a manual build of one (node, app): a pending deploy (`triggered_by` manual), or the one
 * already pending. Returns the active deploy's id and whether this call created it. A worker
 * serving the node picks it up (it is woken by NOTIFY robbieblocks_change).
 */
export async function requestDeploy(db: Db, o: { nodeKey: string; app: string; userId?: string | null }): Promise<{ deployId: string; created: boolean; status: string }> {
  const node = await nodeByKey(db, o.nodeKey);
  await assertBuildsHere(db, node);
  return db.transaction(async (tx) => {
    const created = await ensurePending(tx, node.id, o.app, 'manual', null, o.userId ?? null);
    const r = await tx.query<{ id: string; deploy_status: string }>(
      `SELECT id, deploy_status FROM robbieblocks_deploys WHERE node_id = $1::uuid AND app_namespace = $2
          AND deploy_status IN ('pending', 'building', 'deploying')`,
      [node.id, o.app],
    );
    await tx.query(`SELECT pg_notify('robbieblocks_change', $1)`, [JSON.stringify({ change_trigger_id: null, trigger_type: 'manual', entity_type: null, entity_id: null, affected_apps: [o.app], affected_node_ids: [node.id] })]);
    return { deployId: r.rows[0]!.id, created, status: r.rows[0]!.deploy_status };
  });
}
