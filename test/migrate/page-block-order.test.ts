/**
 * Migration 040: a page's block order is unique by an ordinary (not deferrable) constraint, so
 * content scripts' `ON CONFLICT (page_id, block_order) DO NOTHING` works; reorders take two steps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { asServerError } from '../../src/errors.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName, openTestDb } from '../helpers/db.js';

const CONSTRAINT = 'robbieblocks_page_blocks_page_id_block_order_key';

const deferrable = async (db: Db) =>
  (
    await db.query<{ condeferrable: boolean }>(
      `SELECT condeferrable FROM pg_constraint WHERE conrelid = 'robbieblocks_page_blocks'::regclass AND conname = $1`,
      [CONSTRAINT],
    )
  ).rows.map((r) => r.condeferrable);

/** What the first implementation's content scripts run: one block, skipped when its order is taken. */
const CONTENT_SCRIPT = (order: number, props: string) => `
INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
SELECT (SELECT id FROM robbieblocks_pages WHERE page_key = 'content-page'),
       (SELECT id FROM robbieblocks_components WHERE component_key = 'sticky-notes'),
       ${order}, 'main', '${props}'::jsonb
ON CONFLICT (page_id, block_order) DO NOTHING`;

const blocks = async (db: Db) =>
  (
    await db.query<{ block_order: number; name: string }>(
      `SELECT b.block_order, b.props ->> 'name' AS name FROM robbieblocks_page_blocks b
         JOIN robbieblocks_pages p ON p.id = b.page_id WHERE p.page_key = 'content-page' ORDER BY b.block_order`,
    )
  ).rows.map((r) => `${r.block_order}:${r.name}`);

describe(`migration 040: page block order (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;

  beforeAll(async () => {
    t = await openTestDb();
    await migrate(t.db, { files: embeddedMigrations().filter((f) => f.version <= 39) });
  });
  afterAll(() => t?.close());

  it('on a database migrated to 039 the constraint is deferrable and ON CONFLICT on it is refused', async () => {
    expect(await deferrable(t.db)).toEqual([true]);
    await t.db.exec(`
      INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status)
      VALUES ('content-page', 'play', 'Content page', '/content', 'single-column', 'published');
      INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
      SELECT p.id, c.id, v.ord, 'main', jsonb_build_object('name', v.name)
        FROM robbieblocks_pages p, robbieblocks_components c, (VALUES (1, 'a'), (2, 'b')) v(ord, name)
       WHERE p.page_key = 'content-page' AND c.component_key = 'sticky-notes';`);
    const err = await t.db.query(CONTENT_SCRIPT(3, '{"name": "c"}')).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/ON CONFLICT does not support deferrable/);
  });

  it('applies there, keeps the rows, and leaves an ordinary constraint of the same name', async () => {
    const r = await migrate(t.db, { files: embeddedMigrations() });
    expect(r.applied.map((m) => m.name)[0]).toBe('040-page-block-order');
    expect(await deferrable(t.db)).toEqual([false]);
    expect(await blocks(t.db)).toEqual(['1:a', '2:b']);
  });

  it('a content script\'s INSERT … ON CONFLICT (page_id, block_order) DO NOTHING inserts a new order and skips a taken one', async () => {
    const fresh = await t.db.query(CONTENT_SCRIPT(3, '{"name": "c"}'));
    expect(fresh.rowCount).toBe(1);
    const again = await t.db.query(CONTENT_SCRIPT(1, '{"name": "not me"}'));
    expect(again.rowCount).toBe(0);
    expect(await blocks(t.db)).toEqual(['1:a', '2:b', '3:c']);
  });

  it('a swap in one statement is refused; the two-step update of docs/blocks.md works', async () => {
    const swap = `UPDATE robbieblocks_page_blocks SET block_order = 3 - block_order
                   WHERE block_order IN (1, 2) AND page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'content-page')`;
    expect(asServerError(await t.db.query(swap).catch((e: unknown) => e))?.code).toBe('23505');
    await t.db.transaction(async (tx) => {
      const page = `(SELECT id FROM robbieblocks_pages WHERE page_key = 'content-page')`;
      await tx.query(`UPDATE robbieblocks_page_blocks SET block_order = -block_order WHERE page_id = ${page} AND block_order IN (1, 2)`);
      await tx.query(`UPDATE robbieblocks_page_blocks SET block_order = 3 + block_order WHERE page_id = ${page} AND block_order IN (-1, -2)`);
    });
    expect(await blocks(t.db)).toEqual(['1:b', '2:a', '3:c']);
  });
});
