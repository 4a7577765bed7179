import os from 'node:os';
import type { Db } from '../db/types.js';
import { ensurePending } from './plan.js';

export const DEFAULT_LEASE_MS = 15 * 60_000;

export interface ExpiredDeploy {
  id: string;
  node_key: string;
  app_namespace: string;
  reason: string;
}

function claimerIsDead(claimedBy: string | null): boolean {
  if (!claimedBy) return false;
  const [host, pid] = claimedBy.split(':');
  if (host !== os.hostname() || !pid || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Closes deploys left in building/deploying by a builder that is gone: after the lease, or at
 * once when the claiming process ran on this host and no longer exists (or is `ownBuilderId`,
 * which calls this only between its builds). Each becomes `failed`
 * ("interrupted") and its pair gets a new pending deploy.
 */
export async function expireLeases(db: Db, leaseMs = DEFAULT_LEASE_MS, ownBuilderId?: string): Promise<ExpiredDeploy[]> {
  const { rows } = await db.query<{ id: string; node_id: string; node_key: string; app_namespace: string; triggered_by: string; change_trigger_id: string | null; claimed_by: string | null; expired: boolean }>(
    `SELECT d.id, d.node_id, n.node_key, d.app_namespace, d.triggered_by, d.change_trigger_id, d.claimed_by,
            coalesce(d.started_at, d.created_at) < now() - make_interval(secs => $1::double precision / 1000) AS expired
       FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
      WHERE d.deploy_status IN ('building', 'deploying') AND robbieblocks_builds_here(d.node_id)`,
    [leaseMs],
  );
  const out: ExpiredDeploy[] = [];
  for (const d of rows) {
    // Called between builds: a deploy still claimed by this very builder is one whose result
    // could not be recorded (the database was away); it is as dead as a crashed builder's.
    const own = ownBuilderId !== undefined && d.claimed_by === ownBuilderId;
    const dead = own || claimerIsDead(d.claimed_by);
    if (!d.expired && !dead) continue;
    const reason = own
      ? `interrupted: the result of builder ${d.claimed_by} could not be recorded`
      : dead
        ? `interrupted: builder ${d.claimed_by} is no longer running`
        : `interrupted: no result within the ${Math.round(leaseMs / 1000)} s lease (builder ${d.claimed_by ?? 'unknown'})`;
    const closed = await db.transaction(async (tx) => {
      const u = await tx.query(
        `UPDATE robbieblocks_deploys SET deploy_status = 'failed', error_message = $2, completed_at = now(), updated_at = now()
          WHERE id = $1::uuid AND deploy_status IN ('building', 'deploying')`,
        [d.id, reason],
      );
      if (!u.rowCount) return false;
      await ensurePending(tx, d.node_id, d.app_namespace, d.triggered_by === 'rollback' ? 'manual' : d.triggered_by, d.change_trigger_id);
      return true;
    });
    if (closed) out.push({ id: d.id, node_key: d.node_key, app_namespace: d.app_namespace, reason });
  }
  return out;
}
