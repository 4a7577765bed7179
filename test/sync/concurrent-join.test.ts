/**
 * Nodes joining a new master at the same moment (each node's first `up --master` does): the
 * master becomes a hub once, and both nodes are registered and exchange.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresDb } from '../../src/db/postgres.js';
import { engineName, onPostgres } from '../helpers/db.js';
import { closeAll, count, createHub, createNode, joinNode, sync } from '../helpers/sync.js';

describe(`two first joins at once (${engineName})`, () => {
  afterAll(closeAll);

  it('both succeed; the master is one hub with both nodes', async () => {
    const hub = await createHub();
    const [a, b] = await Promise.all([createNode('join-a'), createNode('join-b')]);
    const joined = await Promise.allSettled([joinNode(hub, a, 'concurrent-a'), joinNode(hub, b, 'concurrent-b')]);
    expect(joined.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync.local WHERE role = 'hub'`)).toBe(1);
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync.registrations r JOIN nodes n ON n.id = r.node_id WHERE n.node_key IN ('concurrent-a', 'concurrent-b')`)).toBe(2);
    await hub.db.query(`INSERT INTO organizations (name) VALUES ('After both joined')`);
    await Promise.all([sync(a), sync(b)]);
    for (const n of [a, b]) expect(await count(n.db, `SELECT count(*) AS v FROM organizations WHERE name = 'After both joined'`)).toBe(1);
  });

  it.skipIf(!onPostgres)('the second registration waits for the first instead of failing on the hub row', async () => {
    const hub = await createHub();
    const [one, two] = await Promise.all([PostgresDb.open(hub.url), PostgresDb.open(hub.url)]);
    try {
      // the first registration makes the database a hub, uncommitted; the second starts meanwhile
      const first = one.transaction(async (tx) => {
        await tx.query(`SELECT sync.register_node('race-a', NULL, NULL)`);
        await new Promise((r) => setTimeout(r, 500));
      });
      await new Promise((r) => setTimeout(r, 150));
      const second = two.query(`SELECT sync.register_node('race-b', NULL, NULL)`);
      const settled = await Promise.allSettled([first, second]);
      expect(settled.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
      expect(await count(hub.db, `SELECT count(*) AS v FROM sync.local WHERE role = 'hub'`)).toBe(1);
      expect(await count(hub.db, `SELECT count(*) AS v FROM sync.registrations r JOIN nodes n ON n.id = r.node_id WHERE n.node_key IN ('race-a', 'race-b')`)).toBe(2);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
