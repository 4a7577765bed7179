/**
 * SYNC.md §6, behaviours 9–12 and the write guards: foreign-key order, offline writes, tenant
 * scope, tables that never sync, TRUNCATE and hub-only tables refused on a node.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/types.js';
import { engineName, onPostgres } from '../helpers/db.js';
import {
  checksum, closeAll, count, createHub, createNode, hubDown, hubUp, joinNode, nodeKinds, scalar, seedHub, sync, syncUntilQuiet,
  versionOf, type Hub, type SyncNode,
} from '../helpers/sync.js';

describe(`sync: order, offline, scope, guards (hub and nodes on ${engineName})`, () => {
  let hub: Hub;
  let a: SyncNode;
  let b: SyncNode;
  let orgX: string;
  let orgY: string;
  let userId: string;

  const insertCompany = (db: Queryable, name: string, org: string) =>
    scalar(db, `INSERT INTO companies (org_id, name) VALUES ($1, $2) RETURNING id::text AS v`, [org, name]);
  const has = async (db: Hub['db'], table: string, id: string) => (await count(db, `SELECT count(*) AS v FROM ${table} WHERE id = $1`, [id])) === 1;
  const parkedOn = (db: Hub['db']) => count(db, `SELECT count(*) AS v FROM sync.parked`);

  beforeAll(async () => {
    const [kindA, kindB] = nodeKinds();
    [hub, a, b] = await Promise.all([createHub(), createNode('a', kindA), createNode('b', kindB)]);
    ({ orgX, orgY, userId } = await seedHub(hub));
    await joinNode(hub, a, 'scope-a');
    await joinNode(hub, b, 'scope-b', [orgX]);
  });

  afterAll(closeAll);

  async function expectLinked(parent: string, child: string) {
    await syncUntilQuiet([a, b]);
    for (const [where, db] of [['hub', hub.db], ['b', b.db]] as const) {
      expect(await scalar(db, `SELECT company_id::text AS v FROM contacts WHERE id = $1`, [child]), `child on ${where}`).toBe(parent);
      expect(await has(db, 'companies', parent), `parent on ${where}`).toBe(true);
      expect(await parkedOn(db), `parked on ${where}`).toBe(0);
      expect(await count(db, `SELECT count(*) AS v FROM sync_conflicts WHERE record_id IN ($1, $2)`, [parent, child])).toBe(0);
    }
  }

  it.skipIf(!onPostgres)('9 FK order: the child\'s transaction starts first and commits last; both apply on the hub and B', async () => {
    expect(a.kind).toBe('postgres');
    const parent = crypto.randomUUID();
    const child = crypto.randomUUID();
    await a.db.withSession(async (s) => {
      await s.exec('BEGIN; SET CONSTRAINTS ALL DEFERRED');
      await s.query(`INSERT INTO contacts (id, org_id, first_name, last_name, company_id) VALUES ($1, $2, 'Child', 'First', $3)`, [child, orgX, parent]);
      // The parent commits in another session while the child's transaction is still open.
      await a.db.query(`INSERT INTO companies (id, org_id, name) VALUES ($1, $2, 'Parent, second')`, [parent, orgX]);
      // Nothing past the still-running transaction is sent (no gap): the parent waits too.
      const mid = await sync(a, { pull: false });
      expect(mid.push.sent).toBe(0);
      await s.exec('COMMIT');
    });
    const { rows } = await a.db.query<{ table_name: string }>(
      `SELECT table_name FROM sync.change_log WHERE record_id IN ($1, $2) ORDER BY xid, position`, [parent, child]);
    expect(rows.map((r) => r.table_name)).toEqual(['contacts', 'companies']);
    await expectLinked(parent, child);
  });

  it('9 FK order: a child written before its parent in one transaction applies on the hub and B', async () => {
    const parent = crypto.randomUUID();
    const child = crypto.randomUUID();
    await a.db.transaction(async (tx) => {
      await tx.exec('SET CONSTRAINTS ALL DEFERRED');
      await tx.query(`INSERT INTO contacts (id, org_id, first_name, last_name, company_id) VALUES ($1, $2, 'Child', 'Before', $3)`, [child, orgX, parent]);
      await tx.query(`INSERT INTO companies (id, org_id, name) VALUES ($1, $2, 'Parent after')`, [parent, orgX]);
    });
    const { rows } = await a.db.query<{ table_name: string }>(
      `SELECT table_name FROM sync.change_log WHERE record_id IN ($1, $2) ORDER BY xid, position`, [parent, child]);
    expect(rows.map((r) => r.table_name)).toEqual(['contacts', 'companies']);
    const r = await sync(a, { pull: false });
    expect(r.push.parked).toBe(0);
    await expectLinked(parent, child);
  });

  it.skipIf(!onPostgres)('8 no gap: a hub transaction that started first and commits after a shorter one reaches the nodes, as does the short one', async () => {
    await syncUntilQuiet([a, b]);
    let long = '';
    let short = '';
    await hub.db.withSession(async (s) => {
      await s.exec('BEGIN');
      long = await insertCompany(s, 'long transaction', orgX);
      short = await insertCompany(hub.db, 'short transaction', orgX);
      // The short one is committed, but a reader must not move past the long one still running.
      const mid = await sync(b);
      expect(mid.pull.received).toBe(0);
      await s.exec('COMMIT');
    });
    const r = await sync(b);
    expect(r.pull.applied).toBe(2);
    await sync(a);
    for (const db of [a.db, b.db]) {
      expect(await has(db, 'companies', long)).toBe(true);
      expect(await has(db, 'companies', short)).toBe(true);
    }
  });

  it('10 offline: 100 writes on A while the hub is down all reach it, in order, when it is back', async () => {
    await syncUntilQuiet([a, b]);
    await hubDown(hub);
    await expect(sync(a)).rejects.toMatchObject({ code: 'E_CONNECT' });
    const first = await insertCompany(a.db, 'offline 1', orgX);
    for (let i = 2; i <= 100; i++) {
      if (i % 2) await insertCompany(a.db, `offline ${i}`, orgX);
      else await a.db.query(`UPDATE companies SET employee_count = $2 WHERE id = $1`, [first, i]);
    }
    await expect(sync(a)).rejects.toMatchObject({ code: 'E_CONNECT' });
    const sent = await a.db.query<{ record_id: string; op: string; hlc: string }>(
      `SELECT record_id::text, op, hlc::text FROM sync.change_log WHERE table_name = 'companies' AND row_data ->> 'name' LIKE 'offline %' ORDER BY xid, position`);
    expect(sent.rows).toHaveLength(100);

    await hubUp(hub);
    a.batchSize = 40;
    const r = await sync(a);
    a.batchSize = undefined;
    expect(r.push.batches).toBeGreaterThanOrEqual(5);
    expect(r.push).toMatchObject({ sent: 200, applied: 200, parked: 0, discarded: 0 });
    expect(await count(hub.db, `SELECT count(*) AS v FROM companies WHERE name LIKE 'offline %'`)).toBe(50);
    expect(await scalar(hub.db, `SELECT employee_count AS v FROM companies WHERE id = $1`, [first])).toBe(100);
    // The hub applied (and relays) them in A's order.
    const relayed = await hub.db.query<{ record_id: string; op: string; hlc: string }>(
      `SELECT record_id::text, op, hlc::text FROM sync.change_log
        WHERE origin_node_id = $1 AND table_name = 'companies' AND row_data ->> 'name' LIKE 'offline %' ORDER BY position`, [a.nodeId]);
    expect(relayed.rows).toEqual(sent.rows);
    await syncUntilQuiet([a, b]);
    expect(await checksum(b.db, 'companies', `name LIKE 'offline %'`)).toEqual(await checksum(hub.db, 'companies', `name LIKE 'offline %'`));
  });

  it('11 tenant scope: B (org X only) never gets org Y rows; a row moved out of X is deleted on B, one moved in arrives', async () => {
    const hubX = await insertCompany(hub.db, 'hub in X', orgX);
    const hubY = await insertCompany(hub.db, 'hub in Y', orgY);
    const aX = await insertCompany(a.db, 'A in X', orgX);
    const aY = await insertCompany(a.db, 'A in Y', orgY);
    await syncUntilQuiet([a, b]);
    for (const id of [hubX, aX]) expect(await has(b.db, 'companies', id)).toBe(true);
    for (const id of [hubY, aY]) {
      expect(await has(a.db, 'companies', id)).toBe(true);
      expect(await has(b.db, 'companies', id)).toBe(false);
      expect(await versionOf(b.db, 'companies', id)).toBeUndefined();
    }
    // (The organizations rows themselves: organization-scope.test.ts.)
    for (const t of ['companies', 'contacts', 'sticky_notes']) {
      expect(await count(b.db, `SELECT count(*) AS v FROM ${t} WHERE org_id = $1`, [orgY]), t).toBe(0);
    }

    // X → Y on the hub, X → Y on A, Y → X on the hub.
    await hub.db.query(`UPDATE companies SET org_id = $2 WHERE id = $1`, [hubX, orgY]);
    await a.db.query(`UPDATE companies SET org_id = $2 WHERE id = $1`, [aX, orgY]);
    await hub.db.query(`UPDATE companies SET org_id = $2, name = 'moved into X' WHERE id = $1`, [hubY, orgX]);
    await syncUntilQuiet([a, b]);
    expect(await has(b.db, 'companies', hubX)).toBe(false);
    expect(await has(b.db, 'companies', aX)).toBe(false);
    expect((await versionOf(b.db, 'companies', hubX))?.deleted).toBe(true);
    expect(await scalar(b.db, `SELECT name AS v FROM companies WHERE id = $1`, [hubY])).toBe('moved into X');
    for (const id of [hubX, aX]) {
      expect(await scalar(hub.db, `SELECT org_id::text AS v FROM companies WHERE id = $1`, [id])).toBe(orgY);
      expect(await scalar(a.db, `SELECT org_id::text AS v FROM companies WHERE id = $1`, [id])).toBe(orgY);
    }
    expect(await count(b.db, `SELECT count(*) AS v FROM companies WHERE org_id = $1`, [orgY])).toBe(0);
    expect(await checksum(b.db, 'companies')).toEqual(await checksum(hub.db, 'companies', `org_id = '${orgX}'`));
  });

  it('11 tenant scope: B cannot write a row of an organization outside its scope (its outbox would block), and nothing is logged', async () => {
    const before = await count(b.db, `SELECT count(*) AS v FROM sync.change_log`);
    // Organization Y is not on B: the row's own foreign key refuses it at once; with the keys
    // deferred to commit, the scope guard of capture refuses it first.
    await expect(insertCompany(b.db, 'B in Y', orgY)).rejects.toMatchObject({ code: '23503', message: expect.stringMatching(/companies_org_id_fkey/) });
    await expect(b.db.transaction(async (tx) => {
      await tx.exec('SET CONSTRAINTS ALL DEFERRED');
      await insertCompany(tx, 'B in Y, deferred', orgY);
    })).rejects.toThrow(/outside this node's sync scope/);
    const inX = await insertCompany(b.db, 'B in X', orgX);
    await expect(b.db.query(`UPDATE companies SET org_id = $2 WHERE id = $1`, [inX, orgY])).rejects.toMatchObject({ code: '23503' });
    await expect(b.db.transaction(async (tx) => {
      await tx.exec('SET CONSTRAINTS ALL DEFERRED');
      await tx.query(`UPDATE companies SET org_id = $2 WHERE id = $1`, [inX, orgY]);
    })).rejects.toThrow(/outside this node's sync scope/);
    expect(await count(b.db, `SELECT count(*) AS v FROM companies WHERE org_id = $1`, [orgY])).toBe(0);
    expect(await count(b.db, `SELECT count(*) AS v FROM sync.change_log`)).toBeGreaterThan(before);
    await syncUntilQuiet([a, b]);
    expect(await has(hub.db, 'companies', inX)).toBe(true);
    expect(await scalar(hub.db, `SELECT org_id::text AS v FROM companies WHERE id = $1`, [inX])).toBe(orgX);
  });

  it('11 tenant scope (users): a user reaches B with their first membership in org X, not before', async () => {
    const user = await scalar(hub.db, `INSERT INTO users (org_id, email, password_hash) VALUES ($1, 'only-y@sync.example', 'x') RETURNING id::text AS v`, [orgY]);
    await hub.db.query(`INSERT INTO organization_memberships (org_id, user_id) VALUES ($1, $2)`, [orgY, user]);
    await syncUntilQuiet([a, b]);
    expect(await has(a.db, 'users', user)).toBe(true);
    expect(await has(b.db, 'users', user)).toBe(false);
    await hub.db.query(`INSERT INTO organization_memberships (org_id, user_id) VALUES ($1, $2)`, [orgX, user]);
    await syncUntilQuiet([a, b]);
    expect(await has(b.db, 'users', user)).toBe(true);
    expect(await count(b.db, `SELECT count(*) AS v FROM organization_memberships WHERE user_id = $1`, [user])).toBe(1);
    expect(await parkedOn(b.db)).toBe(0);
    expect(await checksum(b.db, 'users', `id = '${user}'`)).toEqual(await checksum(hub.db, 'users', `id = '${user}'`));
    expect(await versionOf(b.db, 'users', user)).toEqual(await versionOf(hub.db, 'users', user));
    expect(await count(b.db, `SELECT count(*) AS v FROM sync_conflicts WHERE record_id = $1`, [user])).toBe(0);
    // A later change of the user reaches B as usual.
    await hub.db.query(`UPDATE users SET first_name = 'Later' WHERE id = $1`, [user]);
    await syncUntilQuiet([a, b]);
    expect(await scalar(b.db, `SELECT first_name AS v FROM users WHERE id = $1`, [user])).toBe('Later');
  });

  it('12 never-synced tables: writes to secrets, user_sessions and api_keys add nothing to the change log', async () => {
    await syncUntilQuiet([a, b]);
    for (const [where, db] of [['a', a.db], ['hub', hub.db]] as const) {
      const before = await count(db, `SELECT coalesce(max(position), 0) AS v FROM sync.change_log`);
      const secret = await scalar(db, `INSERT INTO secrets (org_id, service, key_name, key_value_encrypted) VALUES ($1, 'other', $2, 'ciphertext') RETURNING id::text AS v`, [orgX, `key-${where}`]);
      await db.query(`UPDATE secrets SET key_value_encrypted = 'rotated' WHERE id = $1`, [secret]);
      const session = await scalar(db, `INSERT INTO user_sessions (user_id, org_id, token_jti, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour') RETURNING id::text AS v`,
        [userId, orgX, `jti-${where}`]);
      await db.query(`UPDATE user_sessions SET revoked_at = now() WHERE id = $1`, [session]);
      await db.query(`INSERT INTO api_keys (user_id, org_id, name, key_hash, key_prefix) VALUES ($1, $2, 'k', 'hash', $3)`, [userId, orgX, `rv_${where}`]);
      await db.query(`DELETE FROM secrets WHERE id = $1`, [secret]);
      const added = await db.query<{ table_name: string; entity: string }>(
        `SELECT table_name, row_data ->> 'entity_type' AS entity FROM sync.change_log WHERE position > $1 ORDER BY position`, [before]);
      // Nothing of these tables; on a node only their audit rows (audit_log syncs local → hub), secrets redacted.
      expect(added.rows.filter((r) => r.table_name !== 'audit_log'), `change log on ${where}`).toEqual([]);
      if (where === 'hub') expect(added.rows).toEqual([]);
      else expect(added.rows.map((r) => r.entity)).toEqual(['secrets', 'secrets', 'user_sessions', 'user_sessions', 'api_keys', 'secrets']);
      expect(await count(db, `SELECT count(*) AS v FROM sync.change_log
                               WHERE row_data::text ~ '(ciphertext|rotated|jti-|"hash")' OR table_name IN ('secrets', 'user_sessions', 'api_keys')`)).toBe(0);
    }
    const r = await sync(a);
    expect(r.push.sent).toBe(6);
    expect(await count(hub.db, `SELECT count(*) AS v FROM secrets WHERE key_name = 'key-a'`)).toBe(0);
    expect(await count(hub.db, `SELECT count(*) AS v FROM user_sessions WHERE token_jti = 'jti-a'`)).toBe(0);
  });

  it('TRUNCATE of a synced table is refused; a write to a hub-only table on a node is refused with a clear message', async () => {
    await insertCompany(a.db, 'survives truncate', orgX);
    await syncUntilQuiet([a, b]);
    const before = await checksum(a.db, 'companies');
    await expect(a.db.exec('TRUNCATE companies CASCADE')).rejects.toMatchObject({ code: '0A000', message: expect.stringMatching(/TRUNCATE of synced table companies is refused/) });
    await expect(hub.db.exec('TRUNCATE contacts')).rejects.toMatchObject({ code: '0A000' });
    expect(await checksum(a.db, 'companies')).toEqual(before);

    const orgs = await checksum(a.db, 'organizations');
    for (const sql of [
      `UPDATE organizations SET name = 'renamed on a node' WHERE id = '${orgX}'`,
      `INSERT INTO organizations (name) VALUES ('made on a node')`,
      `DELETE FROM organization_memberships WHERE org_id = '${orgY}'`,
    ]) {
      await expect(a.db.query(sql), sql).rejects.toMatchObject({
        code: '25006',
        message: expect.stringMatching(/written on the hub only and is read-only on this node/),
        hint: expect.stringMatching(/make the change on the hub/),
      });
    }
    expect(await checksum(a.db, 'organizations')).toEqual(orgs);
    const r = await sync(a);
    expect(r.push.sent).toBe(0);
    expect(await scalar(hub.db, `SELECT name AS v FROM organizations WHERE id = $1`, [orgX])).toBe('Org X');
  });
  it('11 scope change: B joined again with X and Y gets Y\'s rows and keeps its pending change; narrowed to X, Y\'s rows leave', async () => {
    const oldY = await insertCompany(hub.db, 'in Y before the widening', orgY);
    await syncUntilQuiet([a, b]);
    const pending = await insertCompany(b.db, 'pending on B', orgX);
    const wide = await joinNode(hub, b, 'scope-b', [orgX, orgY]);
    expect(wide).toMatchObject({ alreadyJoined: true, seeded: true });
    expect(await has(b.db, 'companies', oldY)).toBe(true);
    expect(await has(b.db, 'companies', pending)).toBe(true);
    expect(await has(hub.db, 'companies', pending)).toBe(true);
    expect(await checksum(b.db, 'companies')).toEqual(await checksum(hub.db, 'companies'));
    await syncUntilQuiet([a, b]);

    const narrow = await joinNode(hub, b, 'scope-b', [orgX]);
    expect(narrow.seeded).toBe(true);
    expect(await count(b.db, `SELECT count(*) AS v FROM companies WHERE org_id = $1`, [orgY])).toBe(0);
    expect(await checksum(b.db, 'companies')).toEqual(await checksum(hub.db, 'companies', `org_id = '${orgX}'`));
    // Leaving the scope is local: nothing was deleted on the hub.
    expect(await has(hub.db, 'companies', oldY)).toBe(true);
    const r = await sync(b);
    expect(r.push.sent).toBe(0);
    // The same scope again changes nothing (no seed).
    expect((await joinNode(hub, b, 'scope-b', [orgX])).seeded).toBe(false);
  });
});
