/**
 * SYNC.md §6, behaviours 13 and 14 and the hub's guards: schema mismatch stops all traffic until
 * the schemas match again, a node's clock far ahead parks its changes, forged batches are refused
 * whole and recorded, and a node's role can do nothing but the exchange for itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineName, onPostgres } from '../helpers/db.js';
import {
  checksum, closeAll, count, createHub, createNode, hubOf, joinNode, nodeKinds, scalar, seedHub, sync, syncUntilQuiet, versionOf,
  type Hub, type SyncNode,
} from '../helpers/sync.js';

describe(`sync: schema check, clock skew, forged batches (hub and nodes on ${engineName})`, () => {
  let hub: Hub;
  let a: SyncNode;
  let b: SyncNode;
  let orgX: string;
  let orgY: string;

  const insertCompany = (db: Hub['db'], name: string, org = orgX) =>
    scalar(db, `INSERT INTO companies (org_id, name) VALUES ($1, $2) RETURNING id::text AS v`, [org, name]);
  const has = async (db: Hub['db'], id: string) => (await count(db, `SELECT count(*) AS v FROM companies WHERE id = $1`, [id])) === 1;

  beforeAll(async () => {
    const [kindA, kindB] = nodeKinds();
    [hub, a, b] = await Promise.all([createHub(), createNode('a', kindA), createNode('b', kindB)]);
    ({ orgX, orgY } = await seedHub(hub));
    await joinNode(hub, a, 'guard-a', [orgX]);
    await joinNode(hub, b, 'guard-b');
  });

  afterAll(closeAll);

  it('13 schema mismatch: a column added on A only stops data both ways; after it is dropped the queued changes move', async () => {
    const fromA = await insertCompany(a.db, 'queued on A');
    const fromHub = await insertCompany(hub.db, 'queued on the hub');
    const hubBefore = await checksum(hub.db, 'companies');
    await a.db.exec('ALTER TABLE companies ADD COLUMN sync_probe text');
    const during = await insertCompany(a.db, 'written during the mismatch');
    const aBefore = await checksum(a.db, 'companies');

    await expect(sync(a)).rejects.toMatchObject({ code: 'E_SYNC_SCHEMA_MISMATCH', hint: expect.stringMatching(/upgrade the hub first/) });
    // The hub refuses a push of an old-schema node on its own too (not only the node's own check).
    const version = await scalar(a.db, `SELECT sync.schema_version() AS v`);
    const refused = JSON.parse(await scalar(await hubOf(a), `SELECT sync.push($1, $2, $3::jsonb)::text AS v`,
      [a.key, version, await scalar(a.db, `SELECT sync.outbox(0, 0, 500)::text AS v`)]));
    expect(refused.refused).toBe('schema_mismatch');
    await expect(scalar(await hubOf(a), `SELECT sync.pull($1, $2, 0, 0, 10)::text AS v`, [a.key, version])).resolves.toMatch(/"refused": "schema_mismatch"/);

    expect(await checksum(hub.db, 'companies')).toEqual(hubBefore);
    expect(await checksum(a.db, 'companies')).toEqual(aBefore);
    expect(await has(hub.db, fromA)).toBe(false);
    expect(await has(a.db, fromHub)).toBe(false);

    await a.db.exec('ALTER TABLE companies DROP COLUMN sync_probe');
    const r = await sync(a);
    expect(r.push.applied).toBeGreaterThanOrEqual(2);
    for (const id of [fromA, during, fromHub]) {
      expect(await has(hub.db, id)).toBe(true);
      expect(await has(a.db, id)).toBe(true);
    }
    expect(await checksum(a.db, 'companies')).toEqual(await checksum(hub.db, 'companies', `org_id = '${orgX}'`));
  });

  describe('forged batches are refused whole, recorded, and change nothing', () => {
    let template: string;
    let version: string;
    let genuine: string;

    beforeAll(async () => {
      await syncUntilQuiet([a, b]);
      genuine = await insertCompany(a.db, 'genuine change of A');
      template = await scalar(a.db, `SELECT e::text AS v FROM jsonb_array_elements(sync.outbox(0, 0, 500)) e WHERE e ->> 'record_id' = $1`, [genuine]);
      version = await scalar(a.db, `SELECT sync.schema_version() AS v`);
      expect(template).toMatch(/"op": "I"/);
    });

    const forgeries: [string, string, string][] = [
      ['another node\'s origin', 'wrong_origin', `jsonb_set(c, '{origin_node_id}', to_jsonb(other_node))`],
      ['an organization outside A\'s scope', 'out_of_scope', `jsonb_set(jsonb_set(c, '{row_data,org_id}', to_jsonb(other_org)), '{new_org_id}', to_jsonb(other_org))`],
      ['a table that never syncs (secrets)', 'table_not_synced', `jsonb_set(c, '{table_name}', '"secrets"')`],
      ['a hub-only table (organizations)', 'table_not_synced', `jsonb_set(jsonb_set(c, '{table_name}', '"organizations"'), '{row_data,name}', '"forged org"')`],
      ['a row image whose id is another row', 'malformed', `jsonb_set(c, '{row_data,id}', to_jsonb(gen_random_uuid()::text))`],
      ['an unknown operation', 'malformed', `jsonb_set(c, '{op}', '"X"')`],
      ['a stamp that is not a number', 'malformed', `jsonb_set(c, '{hlc}', '"soon"')`],
      ['a stamp beyond 64 bits', 'malformed', `jsonb_set(c, '{hlc}', '99999999999999999999')`],
      ['a null stamp', 'malformed', `jsonb_set(c, '{hlc}', 'null')`],
      ['a record id that is not a UUID', 'malformed', `jsonb_set(jsonb_set(c, '{record_id}', '"row-1"'), '{row_data,id}', '"row-1"')`],
      ['a batch that is not an array', 'malformed', `jsonb_build_object('change', c)`],
    ];

    it.each(forgeries)('%s → refused (%s)', async (_what, reason, forge) => {
      const hubState = async () => ({
        companies: await checksum(hub.db, 'companies'),
        organizations: await checksum(hub.db, 'organizations'),
        secrets: await count(hub.db, `SELECT count(*) AS v FROM secrets`),
        log: await count(hub.db, `SELECT count(*) AS v FROM sync.change_log`),
        marks: await scalar(hub.db, `SELECT coalesce(string_agg(to_jsonb(m)::text, ',' ORDER BY origin_node_id), '') AS v FROM sync.origin_marks m`),
      });
      const before = await hubState();
      const rejections = await count(hub.db, `SELECT count(*) AS v FROM sync.rejections WHERE node_key = $1 AND reason = $2`, [a.key, reason]);
      const sql = `SELECT sync.push($1, $2, ${forge.includes('jsonb_build_object') ? forge : `jsonb_build_array(${forge})`})::text AS v
                     FROM (SELECT $3::jsonb AS c, $4::text AS other_node, $5::text AS other_org) x`;
      const r = JSON.parse(await scalar(await hubOf(a), sql, [a.key, version, template, b.nodeId, orgY]));
      expect(r.refused).toBe(reason);
      expect(r.applied).toBeUndefined();
      expect(await count(hub.db, `SELECT count(*) AS v FROM sync.rejections WHERE node_key = $1 AND reason = $2`, [a.key, reason])).toBe(rejections + 1);
      expect(await hubState()).toEqual(before);
      if (reason === 'out_of_scope') {
        expect(await count(hub.db, `SELECT count(*) AS v FROM sync_conflicts WHERE conflict_type = 'out_of_scope' AND record_id = $1 AND loser_node_id = $2`,
          [genuine, a.nodeId])).toBe(1);
      }
    });

    it('after the forgeries the genuine change still goes through', async () => {
      expect(await has(hub.db, genuine)).toBe(false);
      const r = await sync(a);
      expect(r.push.parked).toBe(0);
      expect(await has(hub.db, genuine)).toBe(true);
      expect(await scalar(hub.db, `SELECT org_id::text AS v FROM companies WHERE id = $1`, [genuine])).toBe(orgX);
    });
  });

  it.skipIf(!onPostgres)('a node\'s role may only exchange for itself: not for another node, no table, no other function', async () => {
    const conn = await hubOf(a);
    const role = await scalar(conn, `SELECT current_user::text AS v`);
    expect(role).toMatch(/^rv_node_guard_a_[0-9a-f]{8}$/);
    expect(await scalar(hub.db, `SELECT rolsuper AS v FROM pg_roles WHERE rolname = $1`, [role])).toBe(false);
    const version = await scalar(a.db, `SELECT sync.schema_version() AS v`);
    await expect(conn.query(`SELECT sync.hello($1, $2)`, [b.key, version])).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/may not act for node guard-b/) });
    await expect(conn.query(`SELECT sync.push($1, $2, '[]')`, [b.key, version])).rejects.toMatchObject({ code: '42501' });
    await expect(conn.query(`SELECT sync.pull($1, $2, 0, 0, 10)`, [b.key, version])).rejects.toMatchObject({ code: '42501' });
    for (const sql of [
      `SELECT count(*) FROM companies`,
      `SELECT count(*) FROM users`,
      `SELECT count(*) FROM secrets`,
      `SELECT count(*) FROM sync.change_log`,
      `SELECT count(*) FROM sync.node_auth`,
      `INSERT INTO companies (org_id, name) VALUES ('${orgX}', 'direct write')`,
      `SELECT sync.register_node('guard-c', NULL, NULL)`,
      `SELECT sync.apply_batch('[]')`,
    ]) {
      await expect(conn.query(sql), sql).rejects.toMatchObject({ code: '42501' });
    }
    // Its own exchange works.
    await expect(conn.query(`SELECT sync.hello($1, $2)`, [a.key, version])).resolves.toBeDefined();
  });

  it('14 clock skew: with A\'s clock an hour ahead its changes are parked on the hub (clock_skew), not applied', async () => {
    await syncUntilQuiet([a, b]);
    await a.db.query(`UPDATE sync.local SET clock_adjust_ms = 3600000`);
    const future = await insertCompany(a.db, 'from the future');
    const stamp = (await versionOf(a.db, 'companies', future))!.hlc;
    const r = await sync(a);
    expect(r.push).toMatchObject({ applied: 0, parked: r.push.sent });
    expect(r.push.sent).toBeGreaterThanOrEqual(1);
    expect(await has(hub.db, future)).toBe(false);
    const { rows } = await hub.db.query<{ reason: string; last_error: string }>(
      `SELECT reason, last_error FROM sync.parked WHERE table_name = 'companies' AND record_id = $1`, [future]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.reason).toBe('clock_skew');
    expect(rows[0]!.last_error).toMatch(/ahead of this clock/);
    // The hub's clock did not jump to the parked stamp: its next write is stamped below it.
    const hubRow = await insertCompany(hub.db, 'written on the hub after the skew');
    expect(BigInt((await versionOf(hub.db, 'companies', hubRow))!.hlc)).toBeLessThan(BigInt(stamp));
    // Another exchange neither applies nor parks it twice; B never sees it.
    await sync(a);
    await sync(b);
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync.parked WHERE record_id = $1`, [future])).toBe(1);
    expect(await has(b.db, future)).toBe(false);
    expect(await has(b.db, hubRow)).toBe(true);
  });
});
