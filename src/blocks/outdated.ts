import type { Db } from '../db/types.js';
import { sitePaths } from './paths.js';
import { ensurePending } from './plan.js';
import { readCurrent } from './releases.js';
import { servedNodes } from './served.js';
import { toolchainHash } from './version.js';

/**
 * Queues a build (`triggered_by` schedule) for every enabled app of a served node that has no
 * live release, or whose live release was built by another toolchain (a new builder version,
 * runtime or pinned package). No content change would otherwise rebuild those.
 */
export async function queueOutdatedSites(db: Db, deployRoot: string, nodeKeys?: string[]): Promise<number> {
  const nodes = await servedNodes(db, nodeKeys);
  if (!nodes.length) return 0;
  const { rows } = await db.query<{ node_id: string; node_key: string; enabled_apps: string[] }>(
    `SELECT b.node_id, n.node_key, b.enabled_apps FROM robbieblocks_node_branding b JOIN nodes n ON n.id = b.node_id
      WHERE b.node_id = ANY($1::uuid[])`,
    [nodes.map((n) => n.id)],
  );
  const current = toolchainHash();
  let queued = 0;
  for (const r of rows) {
    for (const app of r.enabled_apps) {
      const live = readCurrent(sitePaths(deployRoot, r.node_key, app));
      if (live && live.manifest.toolchain_hash === current) continue;
      if (await ensurePending(db, r.node_id, app, 'schedule', null)) queued++;
    }
  }
  return queued;
}
