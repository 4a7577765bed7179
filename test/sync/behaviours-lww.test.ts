/**
 * SYNC.md §6, behaviours 1, 2, 4, 6, 7 on a hub and two nodes: push on write, convergence after a
 * partition with last-writer-wins and the audit trail, idempotent replay, delete over an older
 * update, no echo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineName } from '../helpers/db.js';
import {
  checksum, closeAll, count, createHub, createNode, joinNode, nodeKinds, scalar, seedHub, sync, syncUntilQuiet, versionOf,
  hubOf, type Hub, type SyncNode,
} from '../helpers/sync.js';

const TOUCHED = ['companies', 'contacts', 'sticky_notes'];
const hex = (hlc: string) => BigInt(hlc).toString(16).padStart(16, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`sync: last writer wins, audit, replay, no echo (hub and nodes on ${engineName})`, () => {
  let hub: Hub;
  let a: SyncNode;
  let b: SyncNode;
  let orgX: string;
  let hubNodeId: string;

  async function insertCompany(db: SyncNode['db'] | Hub['db'], name: string, org = orgX): Promise<string> {
    return scalar(db, `INSERT INTO companies (org_id, name) VALUES ($1, $2) RETURNING id::text AS v`, [org, name]);
  }
  const nameOn = (db: Hub['db'], id: string) => scalar<string | undefined>(db, `SELECT name AS v FROM companies WHERE id = $1`, [id]);

  beforeAll(async () => {
    const [kindA, kindB] = nodeKinds();
    [hub, a, b] = await Promise.all([createHub(), createNode('a', kindA), createNode('b', kindB)]);
    ({ orgX } = await seedHub(hub));
    await joinNode(hub, a, 'lww-a');
    await joinNode(hub, b, 'lww-b', [orgX]);
    hubNodeId = await scalar(hub.db, `SELECT node_id::text AS v FROM sync.local`);
  });

  afterAll(closeAll);

  it('1 push on write: a row written on A is on the hub after A exchanges, on B after B exchanges', async () => {
    const id = await insertCompany(a.db, 'Written on A');
    expect(await nameOn(hub.db, id)).toBeUndefined();
    // The outbox: the row and the audit_log row its audit trigger wrote (audit_log syncs local → hub).
    const outbox = await a.db.query<{ t: string }>(`SELECT table_name || ':' || op AS t FROM sync.change_log ORDER BY position`);
    expect(outbox.rows.map((r) => r.t).sort()).toEqual(['audit_log:I', 'companies:I']);
    const ra = await sync(a);
    expect(ra.push.sent).toBe(2);
    expect(ra.push.applied).toBe(2);
    expect(await nameOn(hub.db, id)).toBe('Written on A');
    expect(await nameOn(b.db, id)).toBeUndefined();
    const rb = await sync(b);
    expect(rb.pull.applied).toBe(1);
    expect(await nameOn(b.db, id)).toBe('Written on A');
    // The version travels with the row: the same (hlc, origin) everywhere.
    const v = await versionOf(a.db, 'companies', id);
    expect(v?.node_id).toBe(a.nodeId);
    expect(await versionOf(hub.db, 'companies', id)).toEqual(v);
    expect(await versionOf(b.db, 'companies', id)).toEqual(v);
  });

  it('a batch of new rows applies set-wise, a contested one change by change; every write has one audit row, wherever it is applied', async () => {
    await syncUntilQuiet([a, b]);
    const auditRows = (db: Hub['db'], id: string) => count(db, `SELECT count(*) AS v FROM audit_log WHERE entity_type = 'companies' AND entity_id = $1`, [id]);
    // 30 new rows of A (and their audit rows): one batch, set-wise on the hub and on B.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await insertCompany(a.db, `set-wise ${i}`));
    await a.db.query(`UPDATE companies SET name = name || ' (edited)' WHERE id = ANY ($1::uuid[])`, [ids.slice(0, 10)]);
    const ra = await sync(a);
    expect(ra.push).toMatchObject({ sent: 80, applied: 80, batches: 1, setWise: 1 });
    const rb = await sync(b);
    expect(rb.pull).toMatchObject({ received: 40, applied: 40, setWise: rb.pull.batches });
    for (const db of [hub.db, b.db]) expect(await checksum(db, 'companies', `name LIKE 'set-wise %'`)).toEqual(await checksum(a.db, 'companies', `name LIKE 'set-wise %'`));
    // The hub has A's audit rows (an insert and, for ten, an update) and none of its own; B none.
    for (const [i, id] of ids.entries()) {
      expect(await auditRows(hub.db, id), `hub audit of ${id}`).toBe(i < 10 ? 2 : 1);
      expect(await auditRows(b.db, id), `B audit of ${id}`).toBe(0);
    }

    // Contested: A and B change the same row; B's change reaches the hub second, concurrent with A's.
    const contested = ids[20]!;
    await a.db.query(`UPDATE companies SET name = 'A wins?' WHERE id = $1`, [contested]);
    await b.db.query(`UPDATE companies SET name = 'B wins?' WHERE id = $1`, [contested]);
    const other = await insertCompany(b.db, 'beside the contested row');
    expect((await sync(a)).push.setWise).toBe(1);
    const rb2 = await sync(b);
    expect(rb2.push).toMatchObject({ sent: 4, batches: 1, setWise: 0 });
    await syncUntilQuiet([a, b]);
    const names = await Promise.all([hub.db, a.db, b.db].map((db) => nameOn(db, contested)));
    expect(new Set(names).size).toBe(1);
    expect(await nameOn(hub.db, other)).toBe('beside the contested row');
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync_conflicts WHERE record_id = $1 AND detected_on_node_id = $2`, [contested, hubNodeId])).toBe(1);
    // The hub's own write: audited once on the hub, and no node sends a copy back.
    const hubs = await insertCompany(hub.db, 'written on the hub');
    await syncUntilQuiet([a, b]);
    expect(await auditRows(hub.db, hubs)).toBe(1);
    expect(await auditRows(a.db, hubs)).toBe(0);
  });

  it('2 convergence after a partition: identical tables, the greatest (hlc, node) wins, every loser audited on the hub', async () => {
    const contested = await insertCompany(hub.db, 'Contested');
    const doomedOnHub = await insertCompany(hub.db, 'Deleted on the hub');
    const doomedOnA = await insertCompany(hub.db, 'Deleted on A');
    const changedOnB = await insertCompany(hub.db, 'Changed on B');
    await syncUntilQuiet([a, b]);
    expect(await nameOn(b.db, contested)).toBe('Contested');

    // Partition: nobody exchanges. The same row is changed in three places, 2 ms apart (B, hub, A).
    const writes: { where: string; db: Hub['db']; nodeId: string; name: string }[] = [
      { where: 'b', db: b.db, nodeId: b.nodeId!, name: 'Contested (B)' },
      { where: 'hub', db: hub.db, nodeId: hubNodeId, name: 'Contested (hub)' },
      { where: 'a', db: a.db, nodeId: a.nodeId!, name: 'Contested (A)' },
    ];
    const versions: { where: string; nodeId: string; name: string; hlc: string }[] = [];
    for (const w of writes) {
      await w.db.query(`UPDATE companies SET name = $2, employee_count = $3 WHERE id = $1`, [contested, w.name, w.name.length]);
      const v = await versionOf(w.db, 'companies', contested);
      expect(v?.node_id).toBe(w.nodeId);
      versions.push({ where: w.where, nodeId: w.nodeId, name: w.name, hlc: v!.hlc });
      await sleep(2);
    }
    await hub.db.query(`DELETE FROM companies WHERE id = $1`, [doomedOnHub]);
    await hub.db.query(`INSERT INTO contacts (org_id, first_name, last_name) VALUES ($1, 'Hub', 'Contact')`, [orgX]);
    await a.db.query(`DELETE FROM companies WHERE id = $1`, [doomedOnA]);
    await insertCompany(a.db, 'New on A');
    await b.db.query(`UPDATE companies SET industry = 'changed on B' WHERE id = $1`, [changedOnB]);
    await insertCompany(b.db, 'New on B');
    await b.db.query(`INSERT INTO sticky_notes (org_id, content) VALUES ($1, 'note from B')`, [orgX]);

    const rounds = await syncUntilQuiet([a, b, a, b]);
    expect(rounds).toBeLessThanOrEqual(3);

    // Identical content: A holds all orgs (full tables), B only org X.
    for (const t of TOUCHED) {
      const full = await checksum(hub.db, t);
      expect(await checksum(a.db, t), `${t} on A`).toEqual(full);
      const inX = await checksum(hub.db, t, `org_id = '${orgX}'`);
      expect(inX.rows).toBeGreaterThan(0);
      expect(await checksum(b.db, t, `org_id = '${orgX}'`), `${t} on B`).toEqual(inX);
      expect(await count(b.db, `SELECT count(*) AS v FROM ${t} WHERE org_id <> $1`, [orgX]), `${t} outside B's scope`).toBe(0);
    }
    expect(await nameOn(a.db, doomedOnHub)).toBeUndefined();
    expect(await nameOn(b.db, doomedOnA)).toBeUndefined();
    expect(await scalar(a.db, `SELECT industry AS v FROM companies WHERE id = $1`, [changedOnB])).toBe('changed on B');

    // One-way (local → hub) tables: the hub holds every row each node wrote there itself.
    for (const n of [a, b]) {
      const ids = (await n.db.query<{ id: string }>(`SELECT record_id::text AS id FROM sync.change_log WHERE table_name = 'audit_log'`)).rows.map((r) => r.id);
      expect(ids.length, `audit rows written on ${n.name}`).toBeGreaterThan(0);
      const where = `id IN (${ids.map((i) => `'${i}'`).join(', ')})`;
      expect(await checksum(hub.db, 'audit_log', where), `${n.name}'s audit rows on the hub`).toEqual(await checksum(n.db, 'audit_log', where));
    }

    // The winner is the greatest (hlc, node id) — here also the last write (A's).
    const byOrder = [...versions].sort((x, y) => {
      const d = BigInt(x.hlc) - BigInt(y.hlc);
      return d !== 0n ? (d > 0n ? 1 : -1) : x.nodeId < y.nodeId ? -1 : x.nodeId > y.nodeId ? 1 : 0;
    });
    const winner = byOrder[2]!;
    expect(winner.where).toBe('a');
    for (const db of [hub.db, a.db, b.db]) {
      expect(await nameOn(db, contested)).toBe(winner.name);
      expect(await versionOf(db, 'companies', contested)).toEqual({ hlc: winner.hlc, node_id: winner.nodeId, deleted: false });
    }
    // Every loser is on the hub, with both row images.
    for (const loser of byOrder.slice(0, 2)) {
      const { rows } = await hub.db.query<{ conflict_type: string; winner_node_id: string; images: string[] }>(
        `SELECT conflict_type, winner_node_id::text AS winner_node_id, ARRAY[master_data ->> 'name', replica_data ->> 'name'] AS images
           FROM sync_conflicts WHERE table_name = 'companies' AND record_id = $1 AND loser_node_id = $2 AND loser_hlc = $3`,
        [contested, loser.nodeId, hex(loser.hlc)],
      );
      expect(rows, `loser ${loser.where} audited`).toHaveLength(1);
      expect(rows[0]!.conflict_type).toBe('concurrent_update');
      expect(rows[0]!.images.every((x) => typeof x === 'string')).toBe(true);
      expect(rows[0]!.images).toContain(loser.name);
    }
    // The last conflict's winner image is the final row.
    const finalImage = await scalar(hub.db,
      `SELECT count(*) AS v FROM sync_conflicts WHERE record_id = $1 AND winner_node_id = $2 AND resolved_data ->> 'name' = $3`,
      [contested, winner.nodeId, winner.name]);
    expect(Number(finalImage)).toBeGreaterThanOrEqual(1);
  });

  it('6 delete wins over an older update: gone everywhere, tombstone, update_delete audited, no resurrection', async () => {
    // Two rows, the exchanges in both orders (the delete reaches the hub first, or the update does).
    const first = await insertCompany(hub.db, 'Delete reaches the hub first');
    const second = await insertCompany(hub.db, 'Update reaches the hub first');
    await syncUntilQuiet([a, b]);
    for (const id of [first, second]) {
      await b.db.query(`UPDATE companies SET industry = 'older update on B' WHERE id = $1`, [id]);
      await sleep(2);
      await a.db.query(`DELETE FROM companies WHERE id = $1`, [id]);
    }
    const tombA = { first: await versionOf(a.db, 'companies', first), second: await versionOf(a.db, 'companies', second) };
    const updB = { first: await versionOf(b.db, 'companies', first), second: await versionOf(b.db, 'companies', second) };
    expect(tombA.first?.deleted).toBe(true);
    expect(BigInt(tombA.first!.hlc)).toBeGreaterThan(BigInt(updB.first!.hlc));

    // first: A exchanges, then B. second: B pushes its update first, then A's delete arrives.
    await sync(a, { pull: false });
    await sync(b, { pull: false });
    await sync(a);
    await sync(b);
    await syncUntilQuiet([a, b]);

    for (const [label, id] of [['first', first], ['second', second]] as const) {
      for (const db of [hub.db, a.db, b.db]) {
        expect(await nameOn(db, id), `${label} row`).toBeUndefined();
        expect(await versionOf(db, 'companies', id)).toEqual({ hlc: tombA[label]!.hlc, node_id: a.nodeId, deleted: true });
      }
      const { rows } = await hub.db.query<{ conflict_type: string; winner_node_id: string; replica_industry: string | null; master_data: unknown }>(
        `SELECT conflict_type, winner_node_id::text AS winner_node_id, replica_data ->> 'industry' AS replica_industry, master_data
           FROM sync_conflicts WHERE record_id = $1 AND loser_node_id = $2 AND loser_hlc = $3`,
        [id, b.nodeId, hex(updB[label]!.hlc)],
      );
      expect(rows, `${label}: B's update audited as the loser`).toHaveLength(1);
      expect(rows[0]!.conflict_type).toBe('update_delete');
      expect(rows[0]!.winner_node_id).toBe(a.nodeId);
      expect(rows[0]!.replica_industry).toBe('older update on B');
    }
    // Another round: nothing comes back.
    const r1 = await sync(b);
    const r2 = await sync(a);
    expect(r1.push.sent + r1.pull.received + r2.push.sent + r2.pull.received).toBe(0);
    for (const db of [hub.db, a.db, b.db]) {
      expect(await count(db, `SELECT count(*) AS v FROM companies WHERE id = ANY ($1::uuid[])`, [[first, second]])).toBe(0);
    }
  });

  it('6 (reverse) an update newer than a delete restores the row everywhere; the delete is audited as delete_update', async () => {
    const id = await insertCompany(hub.db, 'Deleted, then updated');
    await syncUntilQuiet([a, b]);
    await a.db.query(`DELETE FROM companies WHERE id = $1`, [id]);
    const tomb = (await versionOf(a.db, 'companies', id))!;
    await sleep(2);
    await b.db.query(`UPDATE companies SET industry = 'newer update on B' WHERE id = $1`, [id]);
    const upd = (await versionOf(b.db, 'companies', id))!;
    await syncUntilQuiet([a, b]);
    for (const db of [hub.db, a.db, b.db]) {
      expect(await scalar(db, `SELECT industry AS v FROM companies WHERE id = $1`, [id])).toBe('newer update on B');
      expect(await versionOf(db, 'companies', id)).toEqual(upd);
    }
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync_conflicts
                                 WHERE record_id = $1 AND conflict_type = 'delete_update' AND loser_node_id = $2 AND loser_hlc = $3 AND winner_node_id = $4`,
      [id, a.nodeId, hex(tomb.hlc), b.nodeId])).toBe(1);
  });

  it('5 crash mid-batch: an applier that fails half-way leaves nothing of the batch; the retry applies it once', async () => {
    await syncUntilQuiet([a, b]);
    // A trigger that fails while armed stands in for a crash of B's applier in the middle of a batch.
    await b.db.exec(`CREATE TABLE crash_switch (armed boolean NOT NULL);
      INSERT INTO crash_switch VALUES (true);
      CREATE FUNCTION crash_on_boom() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN
        IF NEW.name = 'boom' AND (SELECT armed FROM crash_switch) THEN RAISE EXCEPTION 'simulated crash of the applier'; END IF;
        RETURN NEW;
      END $f$;
      CREATE TRIGGER crash_on_boom BEFORE INSERT ON companies FOR EACH ROW EXECUTE FUNCTION crash_on_boom();`);
    const names = ['before 1', 'before 2', 'boom', 'after 1', 'after 2'];
    const ids: string[] = [];
    for (const n of names) ids.push(await insertCompany(hub.db, n));
    const cursor = await scalar(b.db, `SELECT last_xid::text || '/' || last_position AS v FROM sync.cursors WHERE direction = 'pull'`);
    const marks = await scalar(b.db, `SELECT string_agg(to_jsonb(m)::text, ',' ORDER BY origin_node_id) AS v FROM sync.origin_marks m`);
    await expect(sync(b)).rejects.toThrow(/simulated crash of the applier/);
    expect(await count(b.db, `SELECT count(*) AS v FROM companies WHERE id = ANY ($1::uuid[])`, [ids])).toBe(0);
    expect(await count(b.db, `SELECT count(*) AS v FROM sync.row_versions WHERE record_id = ANY ($1::uuid[])`, [ids])).toBe(0);
    expect(await scalar(b.db, `SELECT last_xid::text || '/' || last_position AS v FROM sync.cursors WHERE direction = 'pull'`)).toBe(cursor);
    expect(await scalar(b.db, `SELECT string_agg(to_jsonb(m)::text, ',' ORDER BY origin_node_id) AS v FROM sync.origin_marks m`)).toBe(marks);

    await b.db.exec(`UPDATE crash_switch SET armed = false`);
    const r = await sync(b);
    expect(r.pull).toMatchObject({ applied: 5, skipped: 0, discarded: 0, parked: 0 });
    expect(await checksum(b.db, 'companies', `id IN (${ids.map((i) => `'${i}'`).join(', ')})`))
      .toEqual(await checksum(hub.db, 'companies', `id IN (${ids.map((i) => `'${i}'`).join(', ')})`));
    expect((await sync(b)).pull.received).toBe(0);
    await b.db.exec(`DROP TRIGGER crash_on_boom ON companies; DROP FUNCTION crash_on_boom(); DROP TABLE crash_switch`);
  });

  it('4 idempotent replay: a pushed batch sent again and a pulled batch applied again change nothing', async () => {
    await syncUntilQuiet([a, b]);
    const state = async (db: Hub['db']) => ({
      tables: await Promise.all(TOUCHED.map((t) => checksum(db, t))),
      conflicts: await checksum(db, 'sync_conflicts'),
      marks: await scalar(db, `SELECT coalesce(string_agg(to_jsonb(m)::text, ',' ORDER BY origin_node_id), '') AS v FROM sync.origin_marks m`),
      log: await count(db, `SELECT count(*) AS v FROM sync.change_log`),
    });

    // The hub receives A's whole outbox again (everything A ever wrote, already applied).
    const batch = await scalar(a.db, `SELECT sync.outbox(0, 0, 500)::text AS v`);
    const n = (JSON.parse(batch) as unknown[]).length;
    expect(n).toBeGreaterThanOrEqual(5);
    const before = await state(hub.db);
    const version = await scalar(a.db, `SELECT sync.schema_version() AS v`);
    const r = JSON.parse(await scalar((await hubOf(a)), `SELECT sync.push($1, $2, $3::jsonb)::text AS v`, [a.key, version, batch]));
    expect(r.refused).toBeUndefined();
    expect(r).toMatchObject({ applied: 0, skipped: n, discarded: 0, parked: 0 });
    expect(await state(hub.db)).toEqual(before);

    // B applies a pulled batch a second time: its cursor is put back before the last pull.
    const cursorBefore = await scalar(b.db, `SELECT to_jsonb(k)::text AS v FROM sync.cursors k WHERE direction = 'pull'`);
    const id = await insertCompany(hub.db, 'Pulled twice');
    await hub.db.query(`UPDATE companies SET industry = 'replayed' WHERE id = $1`, [id]);
    await insertCompany(a.db, 'From A, pulled twice');
    await sync(a);
    const first = await sync(b);
    expect(first.pull.applied).toBe(3);
    const bBefore = await state(b.db);
    const cursorAfter = await scalar(b.db, `SELECT last_xid::text || '/' || last_position AS v FROM sync.cursors WHERE direction = 'pull'`);
    const old = JSON.parse(cursorBefore) as { last_xid: number; last_position: number };
    await b.db.query(`UPDATE sync.cursors SET last_xid = $1, last_position = $2 WHERE direction = 'pull'`, [old.last_xid, old.last_position]);
    const again = await sync(b);
    expect(again.pull.received).toBe(3);
    expect(again.pull).toMatchObject({ applied: 0, skipped: 3, discarded: 0, parked: 0 });
    expect(await state(b.db)).toEqual(bBefore);
    expect(await scalar(b.db, `SELECT last_xid::text || '/' || last_position AS v FROM sync.cursors WHERE direction = 'pull'`)).toBe(cursorAfter);

    // Harsher: B's cursor back to the start of the hub's log — every change since the hub began.
    await b.db.query(`UPDATE sync.cursors SET last_xid = 0, last_position = 0 WHERE direction = 'pull'`);
    const all = await sync(b);
    expect(all.pull.received).toBeGreaterThan(10);
    expect(all.pull).toMatchObject({ applied: 0, skipped: all.pull.received, discarded: 0, parked: 0 });
    expect(await state(b.db)).toEqual(bBefore);
  });

  it('7 no echo: once quiet, exchanges move nothing and nodes never log what they applied', async () => {
    await syncUntilQuiet([a, b]);
    for (const n of [a, b, a, b]) {
      const r = await sync(n);
      expect(r.push.sent, `${n.name} sent`).toBe(0);
      expect(r.pull.received, `${n.name} received`).toBe(0);
    }
    for (const n of [a, b]) {
      expect(await count(n.db, `SELECT count(*) AS v FROM sync.change_log WHERE origin_node_id <> (SELECT node_id FROM sync.local)`)).toBe(0);
      // Rows this node only received have no entry in its log.
      const received = await count(n.db,
        `SELECT count(*) AS v FROM sync.row_versions v WHERE v.node_id <> (SELECT node_id FROM sync.local)
            AND EXISTS (SELECT 1 FROM sync.change_log l WHERE l.record_id = v.record_id AND l.hlc >= v.hlc)`);
      expect(received, `${n.name} re-logged applied rows`).toBe(0);
      expect(await count(n.db, `SELECT count(*) AS v FROM sync.row_versions WHERE node_id <> (SELECT node_id FROM sync.local)`)).toBeGreaterThan(3);
    }
    // The hub logged each node's changes once (relay), never twice.
    expect(await count(hub.db,
      `SELECT count(*) AS v FROM (SELECT origin_node_id, origin_xid, origin_position FROM sync.change_log
                                   GROUP BY 1, 2, 3 HAVING count(*) > 1) d`)).toBe(0);
  });
});
