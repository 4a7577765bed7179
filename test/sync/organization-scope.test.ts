/**
 * Organizations are scoped by their own id (migration 045): a node limited to some organizations
 * holds those organizations' rows of `organizations` and no other, from its join snapshot on and
 * in every pull; a node with no scope holds them all. Also the upgrade of a hub (and its nodes)
 * whose change log already holds organizations rows captured with the old, global scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName } from '../helpers/db.js';
import {
  checksum, closeAll, count, createHub, createNode, joinNode, nodeKinds, scalar, seedHub, sync, versionOf, type Hub, type SyncNode,
} from '../helpers/sync.js';

const orgIds = async (db: Db) =>
  (await db.query<{ id: string }>(`SELECT id::text AS id FROM organizations ORDER BY id`)).rows.map((r) => r.id);
const nameOf = (db: Db, id: string) => scalar<string | undefined>(db, `SELECT name AS v FROM organizations WHERE id = $1`, [id]);
const homeKey = (db: Db) => count(db, `SELECT count(*) AS v FROM pg_constraint WHERE conname = 'users_org_id_fkey'`);
const parked = (db: Db) => count(db, `SELECT count(*) AS v FROM sync.parked`);

describe(`sync: organizations scoped by their own id (hub and nodes on ${engineName})`, () => {
  let hub: Hub;
  let all: SyncNode;
  let onlyX: SyncNode;
  let orgX: string;
  let orgY: string;
  let memberOfX: string;

  beforeAll(async () => {
    const [kindA, kindB] = nodeKinds();
    [hub, all, onlyX] = await Promise.all([createHub(), createNode('all', kindA), createNode('only-x', kindB)]);
    ({ orgX, orgY } = await seedHub(hub));
    // At home in Y, a member of X only: reaches the node limited to X, without Y.
    memberOfX = await scalar(hub.db, `INSERT INTO users (org_id, email, password_hash) VALUES ($1, 'home-y@sync.example', 'x') RETURNING id::text AS v`, [orgY]);
    await hub.db.query(`INSERT INTO organization_memberships (org_id, user_id) VALUES ($1, $2), ($3, $2)`, [orgY, memberOfX, orgX]);
    await joinNode(hub, all, 'org-scope-all');
    await joinNode(hub, onlyX, 'org-scope-x', ['Org X']);
  });

  afterAll(closeAll);

  it('the join snapshot gives a node limited to X exactly X\'s row (with its version), and every organization to a node with no scope', async () => {
    expect(await orgIds(onlyX.db)).toEqual([orgX]);
    expect(await checksum(onlyX.db, 'organizations')).toEqual(await checksum(hub.db, 'organizations', `id = '${orgX}'`));
    // (Written before the hub joined a network: the baseline version, stamp 0.)
    expect(await versionOf(onlyX.db, 'organizations', orgX)).toMatchObject({ hlc: '0', deleted: false });
    expect(await versionOf(onlyX.db, 'organizations', orgY)).toBeUndefined();
    expect(await orgIds(all.db)).toEqual(await orgIds(hub.db));
    expect(await checksum(all.db, 'organizations')).toEqual(await checksum(hub.db, 'organizations'));
  });

  it('a member whose home organization is outside the scope arrives as on the hub; only the limited node does without the home-organization key', async () => {
    expect(await checksum(onlyX.db, 'users', `id = '${memberOfX}'`)).toEqual(await checksum(hub.db, 'users', `id = '${memberOfX}'`));
    expect(await scalar(onlyX.db, `SELECT org_id::text AS v FROM users WHERE id = $1`, [memberOfX])).toBe(orgY);
    expect(await count(onlyX.db, `SELECT count(*) AS v FROM organization_memberships WHERE user_id = $1`, [memberOfX])).toBe(1);
    expect(await homeKey(onlyX.db)).toBe(0);
    expect(await homeKey(all.db)).toBe(1);
    expect(await homeKey(hub.db)).toBe(1);
    for (const n of [all, onlyX]) expect(await parked(n.db)).toBe(0);
  });

  it('an organization created on the hub later reaches the node with no scope only', async () => {
    const later = await scalar(hub.db, `INSERT INTO organizations (name) VALUES ('Org Later') RETURNING id::text AS v`);
    const rx = await sync(onlyX);
    expect(rx.pull.received).toBe(0);
    await sync(all);
    expect(await nameOf(all.db, later)).toBe('Org Later');
    expect(await orgIds(onlyX.db)).toEqual([orgX]);
    expect(await versionOf(onlyX.db, 'organizations', later)).toBeUndefined();
    // Its organization, as capture recorded it, is its own id.
    expect(await scalar(hub.db, `SELECT new_org_id::text AS v FROM sync.change_log WHERE table_name = 'organizations' AND record_id = $1`, [later])).toBe(later);
    expect(await scalar(hub.db, `SELECT org_id::text AS v FROM sync.row_versions WHERE table_name = 'organizations' AND record_id = $1`, [later])).toBe(later);
  });

  it('renaming X reaches the node limited to X; renaming Y does not (the node with no scope gets both)', async () => {
    await hub.db.query(`UPDATE organizations SET name = 'Org X renamed' WHERE id = $1`, [orgX]);
    await hub.db.query(`UPDATE organizations SET name = 'Org Y renamed', settings = '{"secret": "of Y"}' WHERE id = $1`, [orgY]);
    const rx = await sync(onlyX);
    expect(rx.pull.received).toBe(1);
    expect(await nameOf(onlyX.db, orgX)).toBe('Org X renamed');
    expect(await orgIds(onlyX.db)).toEqual([orgX]);
    await sync(all);
    expect(await nameOf(all.db, orgX)).toBe('Org X renamed');
    expect(await nameOf(all.db, orgY)).toBe('Org Y renamed');
    expect(await count(onlyX.db, `SELECT count(*) AS v FROM sync.change_log WHERE row_data::text LIKE '%of Y%'`)).toBe(0);
    for (const n of [all, onlyX]) expect(await parked(n.db)).toBe(0);
  });

  it('deleting an organization reaches only the nodes whose scope includes it', async () => {
    const [kind] = nodeKinds();
    const gone = await scalar(hub.db, `INSERT INTO organizations (name) VALUES ('Org Gone') RETURNING id::text AS v`);
    const onlyGone = await createNode('only-gone', kind);
    await joinNode(hub, onlyGone, 'org-scope-gone', [gone]);
    expect(await orgIds(onlyGone.db)).toEqual([gone]);
    await sync(all);
    expect(await nameOf(all.db, gone)).toBe('Org Gone');

    await hub.db.query(`DELETE FROM organizations WHERE id = $1`, [gone]);
    expect((await sync(onlyX)).pull.received).toBe(0);
    const rg = await sync(onlyGone);
    expect(rg.pull.received).toBe(1);
    expect(await orgIds(onlyGone.db)).toEqual([]);
    expect((await versionOf(onlyGone.db, 'organizations', gone))?.deleted).toBe(true);
    await sync(all);
    expect(await nameOf(all.db, gone)).toBeUndefined();
  });

  it('joined again with no scope, the node holds every organization and has its home-organization key back', async () => {
    const r = await joinNode(hub, onlyX, 'org-scope-x');
    expect(r.seeded).toBe(true);
    expect(await orgIds(onlyX.db)).toEqual(await orgIds(hub.db));
    expect(await homeKey(onlyX.db)).toBe(1);
    expect(await scalar(onlyX.db, `SELECT bool_and(convalidated) AS v FROM pg_constraint WHERE conname = 'users_org_id_fkey'`)).toBe(true);
    // And limited again: the other organizations leave, the key with them.
    await joinNode(hub, onlyX, 'org-scope-x', [orgX]);
    expect(await orgIds(onlyX.db)).toEqual([orgX]);
    expect(await homeKey(onlyX.db)).toBe(0);
    expect(await scalar(onlyX.db, `SELECT org_id::text AS v FROM users WHERE id = $1`, [memberOfX])).toBe(orgY);
  });
});

describe(`sync: upgrading to 045 a network whose change log holds organizations captured as global (${engineName})`, () => {
  const before045 = embeddedMigrations().filter((m) => m.version <= 44);
  let hub: Hub;
  let all: SyncNode;
  let onlyX: SyncNode;
  let orgX: string;
  let orgY: string;
  let later: string;

  beforeAll(async () => {
    const [kindA, kindB] = nodeKinds();
    [hub, all, onlyX] = await Promise.all([createHub(before045), createNode('up-all', kindA, before045), createNode('up-x', kindB, before045)]);
    ({ orgX, orgY } = await seedHub(hub));
    await joinNode(hub, all, 'upgrade-all');
    await joinNode(hub, onlyX, 'upgrade-x', [orgX]);
    // Before 045 organizations are global: the limited node received Y (and the default organization) too.
    expect(await orgIds(onlyX.db)).toEqual(await orgIds(hub.db));
    expect(await orgIds(onlyX.db)).toContain(orgY);
    // Changes the nodes have not pulled yet, captured with no organization.
    later = await scalar(hub.db, `INSERT INTO organizations (name) VALUES ('Org Later') RETURNING id::text AS v`);
    await hub.db.query(`UPDATE organizations SET name = 'Org X renamed' WHERE id = $1`, [orgX]);
    await hub.db.query(`UPDATE organizations SET name = 'Org Y renamed' WHERE id = $1`, [orgY]);
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync.change_log WHERE table_name = 'organizations' AND new_org_id IS NULL`)).toBe(3);

    for (const db of [hub.db, all.db, onlyX.db]) await migrate(db, { files: embeddedMigrations() });
  });

  afterAll(closeAll);

  it('the hub\'s existing organizations log rows and versions carry their organization', async () => {
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync.change_log WHERE table_name = 'organizations'
                                 AND (new_org_id IS DISTINCT FROM record_id OR (op <> 'I' AND old_org_id IS DISTINCT FROM record_id))`)).toBe(0);
    expect(await count(hub.db, `SELECT count(*) AS v FROM sync.row_versions WHERE table_name = 'organizations' AND org_id IS DISTINCT FROM record_id`)).toBe(0);
    expect(await scalar(hub.db, `SELECT scope AS v FROM sync.tables WHERE table_name = 'organizations'`)).toBe('self');
    expect(await scalar(hub.db, `SELECT pg_get_triggerdef(oid) AS v FROM pg_trigger WHERE tgname = 'sync_capture' AND tgrelid = 'organizations'::regclass`))
      .toMatch(/sync\.capture\('self'\)/);
  });

  it('the upgraded limited node drops the organizations outside its scope and its home-organization key', async () => {
    expect(await orgIds(onlyX.db)).toEqual([orgX]);
    expect(await homeKey(onlyX.db)).toBe(0);
    expect(await homeKey(all.db)).toBe(1);
  });

  it('pulls after the upgrade are scoped: the limited node gets X\'s rename only; the node with no scope gets everything', async () => {
    const rx = await sync(onlyX);
    expect(rx.pull.received).toBe(1);
    expect(await orgIds(onlyX.db)).toEqual([orgX]);
    expect(await nameOf(onlyX.db, orgX)).toBe('Org X renamed');
    await sync(all);
    expect(await nameOf(all.db, later)).toBe('Org Later');
    expect(await nameOf(all.db, orgY)).toBe('Org Y renamed');
    expect(await checksum(all.db, 'organizations')).toEqual(await checksum(hub.db, 'organizations'));
    for (const n of [all, onlyX]) expect(await parked(n.db)).toBe(0);
    // New changes after the upgrade follow the same rule.
    await hub.db.query(`UPDATE organizations SET name = 'Org Y again' WHERE id = $1`, [orgY]);
    expect((await sync(onlyX)).pull.received).toBe(0);
  });
});
