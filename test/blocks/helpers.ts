import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { libraryDir } from '../../src/blocks/paths.js';
import { releaseSite } from '../../src/blocks/serve.js';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { openTestDb, tmpDir, waitFor } from '../helpers/db.js';

export interface BlocksFixture {
  db: Db;
  deployRoot: string;
  close(): Promise<void>;
}

/** A migrated database of the engine under test and an empty deploy root. */
export async function blocksFixture(): Promise<BlocksFixture> {
  const t = await openTestDb();
  await migrate(t.db, { files: embeddedMigrations() });
  const deployRoot = tmpDir('rv-blocks-sites-');
  return {
    db: t.db,
    deployRoot,
    close: async () => {
      await t.close();
      fs.rmSync(deployRoot, { recursive: true, force: true });
    },
  };
}

export interface DeployView {
  id: string;
  node_key: string;
  app_namespace: string;
  deploy_status: string;
  triggered_by: string;
  build_hash: string | null;
  release_id: string | null;
  error_message: string | null;
  pages_count: number | null;
  rollback_of: string | null;
  created_at: Date;
}

export async function deploys(db: Db, where = 'true', params: unknown[] = []): Promise<DeployView[]> {
  const { rows } = await db.query<DeployView>(
    `SELECT d.id, n.node_key, d.app_namespace, d.deploy_status, d.triggered_by, d.build_hash, d.release_id, d.error_message,
            d.pages_count, d.rollback_of, d.created_at
       FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id WHERE ${where} ORDER BY d.created_at, d.id`,
    params,
  );
  return rows;
}

export const FINISHED = `d.deploy_status IN ('success', 'failed', 'skipped')`;

/** Waits until every listed pair has a finished deploy started after `since` and nothing queued, and returns those deploys. */
export async function waitForBuilds(db: Db, pairs: string[], since: Date, timeoutMs = 90_000): Promise<Map<string, DeployView>> {
  try {
    return await waitFor(
      async () => {
        // A build that started after `since` read the content as of then (a deploy queued
        // earlier may have absorbed the change and started later).
        const rows = await deploys(db, `coalesce(d.started_at, d.created_at) > $1 AND ${FINISHED}`, [since]);
        const last = new Map<string, DeployView>();
        for (const r of rows) last.set(`${r.node_key}/${r.app_namespace}`, r);
        const pending = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
            WHERE d.deploy_status IN ('pending', 'building', 'deploying') AND n.node_key || '/' || d.app_namespace = ANY($1::text[])`,
          [pairs],
        );
        return pairs.every((p) => last.has(p)) && pending.rows[0]!.n === 0 ? last : undefined;
      },
      `builds of ${pairs.join(', ')}`,
      timeoutMs,
    );
  } catch (err) {
    // Say what the queue looked like: which pair was missing or still active.
    const recent = await deploys(db, `d.created_at > $1 OR d.deploy_status IN ('pending', 'building', 'deploying')`, [since]);
    const changes = await db.query(`SELECT trigger_type, entity_type, affected_apps, processed_at IS NOT NULL AS processed FROM robbieblocks_change_triggers WHERE created_at > $1 OR processed_at IS NULL`, [since]);
    throw new Error(`${(err as Error).message}\ndeploys: ${JSON.stringify(recent.map((r) => [r.node_key, r.app_namespace, r.deploy_status, r.triggered_by, r.created_at]))}\nchanges: ${JSON.stringify(changes.rows)}`);
  }
}

export async function dbNow(db: Db): Promise<Date> {
  const r = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return new Date(r.rows[0]!.now);
}

/** A real HTTP server for one (node, app) site. */
export async function serveSite(deployRoot: string, node: string, app: string): Promise<{ url: string; close(): Promise<void> }> {
  const f: FastifyInstance = Fastify();
  await f.register(releaseSite, { deployRoot, node, app });
  const url = await f.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => f.close() };
}

/** All text of the live release (html, js, css), to look for routes, props and CSS values. */
export function releaseText(deployRoot: string, node: string, app: string): string {
  const dir = fs.realpathSync(path.join(deployRoot, node, app, 'current'));
  let out = '';
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (/\.(html|js|css|json)$/.test(e.name)) out += fs.readFileSync(f, 'utf8') + '\n';
    }
  };
  walk(dir);
  return out;
}

export function liveRelease(deployRoot: string, node: string, app: string): string | null {
  try {
    return path.basename(fs.readlinkSync(path.join(deployRoot, node, app, 'current')));
  } catch {
    return null;
  }
}

export const SEED_EXAMPLE = `
INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status)
VALUES ('robbie-play-home', 'play', 'Play Home', '/play/', 'single-column', 'published');
INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
SELECT (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home'),
       (SELECT id FROM robbieblocks_components WHERE component_key = 'robbie-bar'),
       1, 'sidebar', '{"mood": "playful"}'::jsonb;`;

/** A copy of the bundled component library (components.json and components/) to edit. */
export function copyLibrary(): string {
  const dir = tmpDir('rv-blocks-lib-');
  fs.copyFileSync(path.join(libraryDir(), 'components.json'), path.join(dir, 'components.json'));
  fs.cpSync(path.join(libraryDir(), 'components'), path.join(dir, 'components'), { recursive: true });
  return dir;
}
