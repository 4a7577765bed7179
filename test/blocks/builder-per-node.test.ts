import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerComponentLibrary, startBlocksWorker, type BlocksWorker } from '../../src/blocks/index.js';
import { engineName } from '../helpers/db.js';
import { blocksFixture, dbNow, SEED_EXAMPLE, waitForBuilds, type BlocksFixture } from './helpers.js';

/**
 * As deployed, every node runs a builder for itself. One builder plans the deploys of every node
 * for a change; the others must hear of it even when they looked for work before that plan
 * committed — with a long poll interval, a lost wake-up shows as a build waiting for the poll.
 */
describe(`a builder per node on one queue (${engineName})`, () => {
  let f: BlocksFixture;
  let workers: BlocksWorker[] = [];
  const NODES = ['vengeance-local', 'collaboration-local'];

  beforeAll(async () => {
    f = await blocksFixture();
    await registerComponentLibrary(f.db, { publish: true });
    workers = await Promise.all(NODES.map((n) => startBlocksWorker({ db: f.db, deployRoot: f.deployRoot, nodeKeys: [n], quietMs: 50, pollMs: 600_000, syncComponents: false })));
    await Promise.all(workers.map((w) => w.idle()));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await f.close();
  });

  it('every edit goes live on both nodes without waiting for the poll', async () => {
    let since = await dbNow(f.db);
    await f.db.exec(SEED_EXAMPLE);
    await waitForBuilds(f.db, NODES.map((n) => `${n}/play`), since, 60_000);
    for (let i = 0; i < 6; i++) {
      since = await dbNow(f.db);
      await f.db.query(
        `UPDATE robbieblocks_page_blocks SET props = jsonb_build_object('mood', $1::text)
          WHERE page_id = (SELECT id FROM robbieblocks_pages WHERE page_key = 'robbie-play-home')`,
        [i % 2 ? 'playful' : 'focused'],
      );
      const done = await waitForBuilds(f.db, NODES.map((n) => `${n}/play`), since, 30_000);
      for (const d of done.values()) expect(d.deploy_status).toBe('success');
    }
  }, 300_000);
});
