/**
 * Page blocks reordered on the master reach a node although (page_id, block_order) is an ordinary,
 * immediately checked unique constraint (migration 040): a swap or a rotation made in one
 * transaction arrives in one batch whose final images clash with each other until every row of it
 * is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { engineName } from '../helpers/db.js';
import { closeAll, count, createHub, createNode, joinNode, nodeKinds, scalar, sync, type Hub, type SyncNode } from '../helpers/sync.js';

describe(`sync: page blocks reordered on the master (${engineName})`, () => {
  let hub: Hub;
  let node: SyncNode;
  let pageId: string;

  const orders = async (db: Db) => {
    const { rows } = await db.query<{ props: { name: string }; block_order: number }>(
      `SELECT props, block_order FROM robbieblocks_page_blocks WHERE page_id = $1 ORDER BY block_order`,
      [pageId],
    );
    return rows.map((r) => `${r.block_order}:${r.props.name}`);
  };
  const parked = (db: Db) => count(db, `SELECT count(*) AS v FROM sync.parked`);

  beforeAll(async () => {
    [hub, node] = await Promise.all([createHub(), createNode('blocks', nodeKinds()[0])]);
    await joinNode(hub, node, 'blocks-node');
    pageId = await scalar(
      hub.db,
      `INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status)
       VALUES ('reordered', 'play', 'Reordered', '/reordered', 'single-column', 'published') RETURNING id::text AS v`,
    );
    await hub.db.query(
      `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
       SELECT $1::uuid, c.id, v.ord, 'main', jsonb_build_object('name', v.name)
         FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) v(ord, name), robbieblocks_components c WHERE c.component_key = 'sticky-notes'`,
      [pageId],
    );
    await sync(node);
  });
  afterAll(closeAll);

  it('the node starts with the master\'s blocks', async () => {
    expect(await orders(node.db)).toEqual(['1:a', '2:b', '3:c']);
  });

  it('a swap made on the master in one transaction (two steps) reaches the node: swapped, nothing parked, set-wise', async () => {
    await hub.db.transaction(async (tx) => {
      // the two-step update of docs/blocks.md: out of the way first, then to the final orders
      await tx.query(`UPDATE robbieblocks_page_blocks SET block_order = -block_order WHERE page_id = $1 AND block_order IN (1, 2)`, [pageId]);
      await tx.query(
        `UPDATE robbieblocks_page_blocks SET block_order = CASE block_order WHEN -1 THEN 2 WHEN -2 THEN 1 END WHERE page_id = $1 AND block_order IN (-1, -2)`,
        [pageId],
      );
    });
    expect(await orders(hub.db)).toEqual(['1:b', '2:a', '3:c']);
    const r = await sync(node);
    // four block changes, and each bumps the page's version
    expect(r.pull.received).toBe(8);
    expect(await orders(node.db)).toEqual(['1:b', '2:a', '3:c']);
    expect(await parked(node.db)).toBe(0);
    expect(r.pull.parked).toBe(0);
    expect(r.pull.setWise).toBe(r.pull.batches);
  });

  it('a rotation made in four transactions through a free order arrives in one batch and applies set-wise', async () => {
    // Within the batch each row's final image takes an order another row of the batch still holds.
    await hub.db.query(`UPDATE robbieblocks_page_blocks SET block_order = 4 WHERE page_id = $1 AND block_order = 3`, [pageId]);
    await hub.db.query(`UPDATE robbieblocks_page_blocks SET block_order = 3 WHERE page_id = $1 AND block_order = 2`, [pageId]);
    await hub.db.query(`UPDATE robbieblocks_page_blocks SET block_order = 2 WHERE page_id = $1 AND block_order = 1`, [pageId]);
    await hub.db.query(`UPDATE robbieblocks_page_blocks SET block_order = 1 WHERE page_id = $1 AND block_order = 4`, [pageId]);
    expect(await orders(hub.db)).toEqual(['1:c', '2:b', '3:a']);
    const r = await sync(node);
    expect(await orders(node.db)).toEqual(['1:c', '2:b', '3:a']);
    expect(await parked(node.db)).toBe(0);
    expect(r.pull.parked).toBe(0);
    expect(r.pull.setWise).toBe(r.pull.batches);
  });

  it('a block deleted and its order taken by another block in the same batch applies', async () => {
    await hub.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM robbieblocks_page_blocks WHERE page_id = $1 AND block_order = 1`, [pageId]);
      await tx.query(`UPDATE robbieblocks_page_blocks SET block_order = 1 WHERE page_id = $1 AND block_order = 3`, [pageId]);
    });
    expect(await orders(hub.db)).toEqual(['1:a', '2:b']);
    const r = await sync(node);
    expect(await orders(node.db)).toEqual(['1:a', '2:b']);
    expect(await parked(node.db)).toBe(0);
    expect(r.pull.parked).toBe(0);
    expect(r.pull.setWise).toBe(r.pull.batches);
  });
});
