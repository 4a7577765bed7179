import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { sitePaths } from './paths.js';
import { listReleases, readCurrent, readManifest, switchCurrent } from './releases.js';
import { nodeByKey } from './served.js';
import { BUILDER_VERSION } from './version.js';

export interface RollbackOptions {
  deployRoot: string;
  nodeKey: string;
  app: string;
  /** A kept release id; default: the release that was live before the current one. */
  toRelease?: string;
  userId?: string | null;
}

export interface RollbackResult {
  deployId: string;
  fromRelease: string;
  toRelease: string;
  buildHash: string;
  rollbackOf: string | null;
}

/**
 * Points `current` at an earlier kept release without rebuilding, and records a deploy row
 * (`triggered_by` rollback, `rollback_of` = the deploy being replaced, the restored hash).
 */
export async function rollbackRelease(db: Db, o: RollbackOptions): Promise<RollbackResult> {
  const node = await nodeByKey(db, o.nodeKey);
  const p = sitePaths(o.deployRoot, node.node_key, o.app);
  const cur = readCurrent(p);
  if (!cur) {
    throw new RobbieverseError('E_USAGE', `${node.node_key}/${o.app} has no live release to roll back`, {
      hint: `see the kept releases with \`robbieverse blocks status\`; deploy with \`robbieverse blocks deploy ${node.node_key} ${o.app}\``,
    });
  }
  const kept = listReleases(p);
  let target = o.toRelease;
  if (!target) {
    const prev = cur.manifest.previous_release_id;
    target = prev && kept.includes(prev) && prev !== cur.releaseId ? prev : kept.find((r) => r < cur.releaseId);
  }
  if (!target || !kept.includes(target) || target === cur.releaseId) {
    throw new RobbieverseError('E_USAGE', target && target !== cur.releaseId ? `release "${target}" of ${node.node_key}/${o.app} is not kept` : `${node.node_key}/${o.app} has no earlier release to roll back to`, {
      hint: `kept releases: ${kept.join(', ') || '(none)'}; live: ${cur.releaseId}`,
    });
  }
  const active = await db.query(
    `SELECT 1 FROM robbieblocks_deploys WHERE node_id = $1::uuid AND app_namespace = $2 AND deploy_status IN ('building', 'deploying')`,
    [node.id, o.app],
  );
  if (active.rowCount) {
    throw new RobbieverseError('E_USAGE', `a build of ${node.node_key}/${o.app} is running`, { hint: 'wait for it to finish (robbieverse blocks deploys), then roll back' });
  }
  const m = readManifest(p, target)!;
  const replaced = await db.query<{ id: string }>(
    `SELECT id FROM robbieblocks_deploys WHERE node_id = $1::uuid AND app_namespace = $2 AND release_id = $3
        AND deploy_status = 'success' ORDER BY completed_at DESC NULLS LAST LIMIT 1`,
    [node.id, o.app, cur.releaseId],
  );
  const rollbackOf = replaced.rows[0]?.id ?? null;
  switchCurrent(p, target);
  const ins = await db.transaction(async (tx) => {
    const r = await tx.query<{ id: string }>(
      `INSERT INTO robbieblocks_deploys
         (node_id, app_namespace, build_hash, pages_count, components_count, deploy_status, triggered_by, triggered_by_user_id,
          started_at, completed_at, build_duration_ms, deploy_duration_ms, release_id, builder_version, rollback_of, build_log)
       VALUES ($1::uuid, $2, $3, $4, $5, 'success', 'rollback', $6::uuid, now(), now(), 0, 0, $7, $8, $9::uuid, $10)
       RETURNING id`,
      [node.id, o.app, m.build_hash, m.pages_count, m.components_count, o.userId ?? null, target, m.builder_version ?? BUILDER_VERSION, rollbackOf, `rolled back from ${cur.releaseId} to ${target}`],
    );
    await tx.query(`SELECT pg_notify('robbieblocks_deployed', $1)`, [JSON.stringify({ deploy_id: r.rows[0]!.id, status: 'success', release_id: target, build_hash: m.build_hash, node_id: node.id, node_key: node.node_key, app: o.app, rollback: true })]);
    return r.rows[0]!.id;
  });
  return { deployId: ins, fromRelease: cur.releaseId, toRelease: target, buildHash: m.build_hash, rollbackOf };
}
