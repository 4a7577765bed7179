import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';

export interface ServedNode {
  id: string;
  node_key: string;
}

/**
 * The nodes a builder builds for: the named node keys, or by default every node with a branding
 * row (plus nodes that still have deploy history, so a deleted branding row is withdrawn) that
 * this database builds for (not a node that joined this hub: it builds for itself).
 */
export async function servedNodes(db: Db, nodeKeys?: string[]): Promise<ServedNode[]> {
  if (nodeKeys?.length) {
    const { rows } = await db.query<ServedNode>('SELECT id, node_key FROM nodes WHERE node_key = ANY($1::text[]) ORDER BY node_key', [nodeKeys]);
    return rows;
  }
  const { rows } = await db.query<ServedNode>(
    `SELECT n.id, n.node_key FROM nodes n
      WHERE (EXISTS (SELECT 1 FROM robbieblocks_node_branding b WHERE b.node_id = n.id)
             OR EXISTS (SELECT 1 FROM robbieblocks_deploys d WHERE d.node_id = n.id))
        AND robbieblocks_builds_here(n.id)
      ORDER BY n.node_key`,
  );
  return rows;
}

/** One node by key, or a usage error that lists the known ones. */
export async function nodeByKey(db: Db, key: string): Promise<ServedNode> {
  const { rows } = await db.query<ServedNode>('SELECT id, node_key FROM nodes WHERE node_key = $1', [key]);
  if (rows[0]) return rows[0];
  const known = await db.query<{ node_key: string }>('SELECT node_key FROM nodes ORDER BY node_key');
  throw new RobbieverseError('E_USAGE', `no node "${key}"`, { hint: `known nodes: ${known.rows.map((r) => r.node_key).join(', ') || '(none)'}` });
}

/**
 * Refuses a build request for a node that this database does not build for: in a sync network a
 * node that joined the master builds its own apps (request it there), and builds for nobody else.
 */
export async function assertBuildsHere(db: Db, node: ServedNode): Promise<void> {
  const { rows } = await db.query<{ here: boolean }>('SELECT robbieblocks_builds_here($1::uuid) AS here', [node.id]);
  if (rows[0]?.here) return;
  throw new RobbieverseError('E_USAGE', `node ${node.node_key} is not built by this database: in a sync network each joined node builds its own apps`, {
    hint: `run it on ${node.node_key} itself (robbieverse blocks deploy ${node.node_key} <app> there); its deploys show on the master once synced`,
  });
}
