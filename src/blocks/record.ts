import type { Db } from '../db/types.js';

export interface DeployRecord {
  status: 'success' | 'skipped' | 'failed';
  build_hash?: string | null;
  pages_count?: number | null;
  components_count?: number | null;
  build_duration_ms?: number | null;
  deploy_duration_ms?: number | null;
  error_message?: string | null;
  build_log?: string | null;
  release_id?: string | null;
  artifact_bytes?: number | null;
  builder_version?: string | null;
}

/**
 * Closes a claimed deploy with its result and sends the `robbieblocks_deployed` hint, in one
 * transaction. False when the row was no longer ours (closed meanwhile as interrupted).
 */
export async function recordDeploy(db: Db, deployId: string, r: DeployRecord, hint: Record<string, unknown>): Promise<boolean> {
  return db.transaction(async (tx) => {
    const u = await tx.query(
      `UPDATE robbieblocks_deploys
          SET deploy_status = $2, build_hash = $3, pages_count = $4, components_count = $5,
              build_duration_ms = $6, deploy_duration_ms = $7, error_message = $8, build_log = $9,
              release_id = $10, artifact_bytes = $11, builder_version = $12,
              completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND deploy_status IN ('building', 'deploying')`,
      [
        deployId,
        r.status,
        r.build_hash ?? null,
        r.pages_count ?? null,
        r.components_count ?? null,
        r.build_duration_ms ?? null,
        r.deploy_duration_ms ?? null,
        r.error_message ?? null,
        r.build_log ?? null,
        r.release_id ?? null,
        r.artifact_bytes ?? null,
        r.builder_version ?? null,
      ],
    );
    if (!u.rowCount) return false;
    await tx.query(`SELECT pg_notify('robbieblocks_deployed', $1)`, [JSON.stringify({ deploy_id: deployId, status: r.status, release_id: r.release_id ?? null, build_hash: r.build_hash ?? null, ...hint })]);
    return true;
  });
}

export async function markDeploying(db: Db, deployId: string): Promise<void> {
  await db.query(`UPDATE robbieblocks_deploys SET deploy_status = 'deploying', updated_at = now() WHERE id = $1::uuid AND deploy_status = 'building'`, [deployId]);
}
