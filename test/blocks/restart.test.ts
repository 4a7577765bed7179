import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlocksEvent } from '../../src/blocks/events.js';
import { startBlocksWorker, type BlocksWorker } from '../../src/blocks/worker.js';
import { PostgresDb } from '../../src/db/postgres.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { onPostgres, tmpDir, waitFor } from '../helpers/db.js';
import { startOwnServer, type OwnServer } from '../helpers/server.js';
import { dbNow, releaseText, SEED_EXAMPLE, waitForBuilds } from './helpers.js';

describe.skipIf(!onPostgres)('RobbieBlocks worker across PostgreSQL restarts', () => {
  let server: OwnServer;
  let db: PostgresDb;
  let worker: BlocksWorker;
  let root: string;
  const events: BlocksEvent[] = [];
  /** Runs inside the worker's event handler, so it happens at that exact point of a build. */
  let atEvent: ((e: BlocksEvent) => void) | undefined;
  beforeAll(async () => {
    server = startOwnServer();
    db = await PostgresDb.open(server.url);
    await migrate(db, { files: embeddedMigrations() });
    root = tmpDir('rv-blocks-restart-');
    worker = await startBlocksWorker({ db, deployRoot: root, nodeKeys: ['vengeance-local'], quietMs: 50, retries: 5, retryBaseMs: 200, onEvent: (e) => {
        events.push(e);
        atEvent?.(e);
      },
    });
    await waitForBuilds(db, ['vengeance-local/play', 'vengeance-local/code'], new Date(0));
  });
  afterAll(async () => {
    await worker?.stop();
    await db?.close();
    server?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('reconnects after a restart and builds the next change', async () => {
    server.restart();
    await waitFor(() => events.some((e) => e.type === 'reconnect'), 'the worker to reconnect', 60_000);
    const t0 = await waitFor(async () => dbNow(db), 'the pool to reconnect', 30_000);
    await db.exec(SEED_EXAMPLE);
    const built = await waitForBuilds(db, ['vengeance-local/play'], t0);
    expect(built.get('vengeance-local/play')).toMatchObject({ deploy_status: 'success', pages_count: 1 });
  });

  it('a restart in the middle of a build: the build is retried or re-planned, and the change goes live', async () => {
    const t0 = await dbNow(db);
    const mark = events.length;
    await db.query(`UPDATE robbieblocks_pages SET meta_title = 'After the restart' WHERE page_key = 'robbie-play-home'`);
    await waitFor(() => events.slice(mark).some((e) => e.type === 'build-start' && e.app === 'play'), 'the build to start', 30_000);
    server.restart();
    await waitFor(
      async () => {
        const r = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
            WHERE n.node_key = 'vengeance-local' AND d.app_namespace = 'play' AND d.created_at > $1 AND d.deploy_status = 'success'`,
          [t0],
        );
        return r.rows[0]!.n >= 1;
      },
      'a successful build after the restart',
      90_000,
    );
    expect(releaseText(root, 'vengeance-local', 'play').includes('After the restart')).toBe(true);
  });

  it('a restart after the release is published but before it is recorded: the retry records the release it published as a success', async () => {
    const t0 = await dbNow(db);
    const mark = events.length;
    let restarted = false;
    atEvent = (e) => {
      // The 'deploy' step ends once the new release is live; recording it comes next.
      if (!restarted && e.type === 'build-step' && e.step === 'deploy') {
        restarted = true;
        server.restart();
      }
    };
    try {
      await db.query(`UPDATE robbieblocks_pages SET meta_title = 'Published, then the restart' WHERE page_key = 'robbie-play-home'`);
      const d = await waitFor(
        async () => {
          const r = await db.query<{ id: string; deploy_status: string; release_id: string | null }>(
            `SELECT d.id, d.deploy_status, d.release_id FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
              WHERE n.node_key = 'vengeance-local' AND d.app_namespace = 'play' AND d.created_at > $1 AND d.deploy_status <> 'pending' AND d.deploy_status <> 'building' AND d.deploy_status <> 'deploying'`,
            [t0],
          );
          return r.rows.length ? r.rows : undefined;
        },
        'the deploy to be recorded after the restart',
        60_000,
      );
      expect(restarted).toBe(true);
      expect(events.slice(mark).some((e) => e.type === 'build-retry')).toBe(true);
      // One deploy, and it says what happened: success, with the release that is live.
      expect(d).toHaveLength(1);
      const live = fs.readlinkSync(`${root}/vengeance-local/play/current`);
      expect(d[0]).toMatchObject({ deploy_status: 'success' });
      expect(live.endsWith(d[0]!.release_id!)).toBe(true);
      expect(releaseText(root, 'vengeance-local', 'play').includes('Published, then the restart')).toBe(true);
    } finally {
      atEvent = undefined;
    }
  });
});
