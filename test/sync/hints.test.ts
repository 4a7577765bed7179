/**
 * The hub's "changes available" hint: a node daemon LISTENs on the hub over a connection of its
 * own and pulls at once, so hub changes arrive in about a second instead of at the next scheduled
 * pull (here: an hour away, so any arrival is the hint's doing).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncDaemon, type SyncDaemonEvent } from '../../src/sync/daemon.js';
import { readSyncSettings } from '../../src/sync/settings.js';
import { onPostgres, waitFor } from '../helpers/db.js';
import { closeAll, count, createHub, createNode, joinNode, seedHub, type Hub, type SyncNode } from '../helpers/sync.js';

const HOUR = 3_600_000;

describe('hub hints: master changes reach a listening node at once', () => {
  let hub: Hub;
  let node: SyncNode;
  let daemon: SyncDaemon;
  let orgX: string;
  const events: SyncDaemonEvent[] = [];

  beforeAll(async () => {
    hub = await createHub();
    ({ orgX } = await seedHub(hub));
    node = await createNode('hinted');
    await joinNode(hub, node, 'hinted-local');
    daemon = new SyncDaemon({ local: node.db, settings: readSyncSettings(node.home)!, pullIntervalMs: HOUR, safetyPushMs: HOUR, onEvent: (e) => events.push(e) });
    await daemon.start();
    await waitFor(() => events.some((e) => e.type === 'hints' && e.listening), 'the daemon to LISTEN on the hub', 30_000);
  });
  afterAll(async () => {
    await daemon?.stop();
    await closeAll();
  });

  it('a row written on the hub is on the node without waiting for the scheduled pull', async () => {
    const t0 = Date.now();
    await hub.db.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'hinted task')`, [orgX]);
    await waitFor(async () => (await count(node.db, `SELECT count(*) AS v FROM tasks WHERE title = 'hinted task'`)) === 1, 'the task on the node', 20_000);
    // Reported, not asserted: the timing depends on the machine.
    console.log(`hub write → node: ${Date.now() - t0} ms`);
  });

  it('a change relayed from another node is hinted too', async () => {
    const other = await createNode('writer');
    await joinNode(hub, other, 'writer-local');
    const writer = new SyncDaemon({ local: other.db, settings: readSyncSettings(other.home)!, pullIntervalMs: HOUR, safetyPushMs: HOUR, debounceMs: 10 });
    await writer.start();
    try {
      await other.db.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'relayed task')`, [orgX]);
      await waitFor(async () => (await count(node.db, `SELECT count(*) AS v FROM tasks WHERE title = 'relayed task'`)) === 1, 'the relayed task on the node', 20_000);
    } finally {
      await writer.stop();
    }
  });

  it.skipIf(!onPostgres)('a hinted change held back by an older transaction on the hub arrives once that transaction ends', async () => {
    // An open transaction with an id older than the write holds the hub's read horizon.
    const blocker = new pg.Client({ connectionString: hub.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()');
      const pulls = events.filter((e) => e.type === 'exchange' && e.kind === 'full').length;
      await hub.db.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'held task')`, [orgX]);
      // The hint comes and the node pulls, but the change is not readable yet.
      await waitFor(() => events.filter((e) => e.type === 'exchange' && e.kind === 'full').length > pulls, 'a hinted pull', 20_000);
      expect(await count(node.db, `SELECT count(*) AS v FROM tasks WHERE title = 'held task'`)).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('COMMIT');
      await waitFor(async () => (await count(node.db, `SELECT count(*) AS v FROM tasks WHERE title = 'held task'`)) === 1, 'the held task on the node', 30_000);
    } finally {
      await blocker.end();
    }
  });
});
