import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/api/accounts.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName, openTestDb } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { RowFactory } from '../helpers/rowgen.js';

/**
 * A user named on a tenant row (owner_id, assigned_to, user_id, created_by, …) is a member of that
 * row's organization, enforced by composite keys (org_id, col) → organization_memberships.
 */
describe(`user references stay inside the organization (${engineName})`, () => {
  let h: ApiHarness;
  let orgA: string;
  let orgB: string;
  let a: { id: string; token: string };
  let a2: { id: string; token: string };
  let b: { id: string; token: string };

  beforeAll(async () => {
    h = await startApi();
    orgA = await h.org('Org A');
    orgB = await h.org('Org B');
    a = await h.user(orgA, 'alice@a.test', 'owner');
    a2 = await h.user(orgA, 'arthur@a.test', 'member');
    b = await h.user(orgB, 'bob@b.test', 'owner');
  });
  afterAll(() => h.close());

  /** Columns on tenant tables (org_id) that reference users(id), as the catalog has them. */
  const userColumns = async () => (await h.db.query<{ t: string; col: string; del: string }>(
    `SELECT k.relname AS t, a.attname AS col, c.confdeltype AS del
       FROM pg_constraint c JOIN pg_class k ON k.oid = c.conrelid
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass AND k.relnamespace = 'public'::regnamespace
        AND EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.conrelid AND o.attname = 'org_id' AND NOT o.attisdropped)
      ORDER BY 1, 2`)).rows;
  /** The composite (org_id, col) → organization_memberships keys. */
  const membershipKeys = async () => (await h.db.query<{ t: string; col: string; del: string; set_cols: string[] | null; name: string }>(
    `SELECT k.relname AS t, a.attname AS col, c.confdeltype AS del, c.conname AS name,
            ARRAY(SELECT x.attname::text FROM unnest(c.confdelsetcols) s(n) JOIN pg_attribute x ON x.attrelid = c.conrelid AND x.attnum = s.n) AS set_cols
       FROM pg_constraint c JOIN pg_class k ON k.oid = c.conrelid
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[2]
       JOIN pg_attribute o ON o.attrelid = c.conrelid AND o.attnum = c.conkey[1] AND o.attname = 'org_id'
      WHERE c.contype = 'f' AND c.confrelid = 'organization_memberships'::regclass AND cardinality(c.conkey) = 2
      ORDER BY 1, 2`)).rows;

  it('the catalog: every user column of a tenant table has a composite membership key (SET NULL names the column)', async () => {
    const keys = await membershipKeys();
    const covered = new Set(keys.map((k) => `${k.t}.${k.col}`));
    const missing = (await userColumns())
      .filter((c) => c.t !== 'audit_log' && !(c.t === 'organization_memberships' && c.col === 'user_id'))
      .map((c) => `${c.t}.${c.col}`)
      .filter((c) => !covered.has(c));
    expect(missing).toEqual([]);
    for (const col of ['deals.owner_id', 'contacts.owner_id', 'companies.owner_id', 'tasks.assigned_to', 'tasks.user_id', 'knowledge_base.verified_by', 'organization_memberships.invited_by', 'organization_invitations.invited_by']) {
      expect(covered, col).toContain(col);
    }
    expect(keys.length).toBeGreaterThanOrEqual(60);
    for (const k of keys) if (k.del === 'n') expect(k.set_cols, k.name).toEqual([k.col]);
  });

  it('plain SQL: naming a user of another organization in any of those columns is refused (23503)', async () => {
    const refused: string[] = [];
    const accepted: string[] = [];
    for (const k of await membershipKeys()) {
      if (['api_keys', 'user_sessions', 'town_memberships', 'resource_grants'].includes(k.t) && k.col !== 'invited_by') continue; // made before 029, tested with them
      await h.db.transaction(async (tx) => {
        const f = new RowFactory(tx);
        const row = await f.insert(k.t, orgA);
        try {
          await tx.query(`SAVEPOINT s`);
          await tx.query(`UPDATE ${k.t} SET ${k.col} = $2 WHERE id = $1`, [row.id, b.id]);
          accepted.push(`${k.t}.${k.col}`);
        } catch (e) {
          if ((e as { code?: string }).code === '23503') refused.push(`${k.t}.${k.col}`);
          else throw new Error(`${k.t}.${k.col}: ${(e as Error).message}`);
          await tx.query(`ROLLBACK TO SAVEPOINT s`);
        }
        // A member of the row's own organization is fine.
        await tx.query(`UPDATE ${k.t} SET ${k.col} = $2 WHERE id = $1`, [row.id, a2.id]);
        throw Object.assign(new Error('rollback'), { rollback: true });
      }).catch((e) => {
        if (!(e as { rollback?: boolean }).rollback) throw e;
      });
    }
    expect(accepted).toEqual([]);
    expect(refused.length).toBeGreaterThanOrEqual(55);
  });

  const post = async (path: string, body: Record<string, unknown>, token = a.token) => h.call('POST', path, { token, body });

  it('the API: owner_id, assigned_to, verified_by, approved_by naming another organization\'s user → 422 invalid_reference, nothing written', async () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['/api/deals', 'deals', { name: 'Stolen deal' }, 'owner_id'],
      ['/api/contacts', 'contacts', { first_name: 'Ann', last_name: 'Other' }, 'owner_id'],
      ['/api/companies', 'companies', { name: 'Other Co' }, 'owner_id'],
      ['/api/tasks', 'tasks', { title: 'Assigned away' }, 'assigned_to'],
      ['/api/knowledge-base', 'knowledge_base', { title: 'KB', content: 'text' }, 'verified_by'],
      ['/api/touch-ready', 'touch_ready_queue', { draft_message: 'hi' }, 'approved_by'],
    ];
    for (const [path, table, body, col] of cases) {
      const before = (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
      const bad = await post(path, { ...body, [col]: b.id });
      expect(bad.status, `${path} ${col}: ${JSON.stringify(bad.body)}`).toBe(422);
      expect(bad.body.error.code).toBe('invalid_reference');
      expect((await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n).toBe(before);
      // Own organization's member: fine; and a PATCH to the other organization's user is refused too.
      const ok = await post(path, { ...body, [col]: a2.id });
      expect(ok.status, `${path} ${col}: ${JSON.stringify(ok.body)}`).toBe(201);
      const patch = await h.call('PATCH', `${path}/${ok.body.id}`, { token: a.token, body: { [col]: b.id } });
      expect(patch.status, `${path} PATCH ${col}`).toBe(422);
      expect(patch.body.error.code).toBe('invalid_reference');
      expect((await h.db.query<{ v: string }>(`SELECT ${col}::text AS v FROM ${table} WHERE id = $1`, [ok.body.id])).rows[0]!.v).toBe(a2.id);
    }
  });

  it('removing a member through the API keeps their references; deleting the membership row nulls them (org_id kept)', async () => {
    const leaver = await h.user(orgA, 'leaver@a.test', 'member');
    const deal = (await post('/api/deals', { name: 'Kept deal', owner_id: leaver.id })).body;
    const task = (await post('/api/tasks', { title: 'Kept task', assigned_to: leaver.id })).body;
    const m = (await h.db.query<{ id: string }>(`SELECT id FROM organization_memberships WHERE org_id = $1 AND user_id = $2`, [orgA, leaver.id])).rows[0]!;
    expect((await h.call('DELETE', `/api/members/${m.id}`, { token: a.token })).status).toBe(204);
    expect((await h.db.query(`SELECT 1 FROM deals WHERE id = $1 AND owner_id = $2`, [deal.id, leaver.id])).rows).toHaveLength(1);
    await h.db.query(`DELETE FROM organization_memberships WHERE id = $1`, [m.id]);
    const d = (await h.db.query<{ owner_id: string | null; org_id: string }>(`SELECT owner_id, org_id FROM deals WHERE id = $1`, [deal.id])).rows[0]!;
    expect(d).toEqual({ owner_id: null, org_id: orgA });
    expect((await h.db.query<{ assigned_to: string | null }>(`SELECT assigned_to FROM tasks WHERE id = $1`, [task.id])).rows[0]!.assigned_to).toBeNull();
  });
});

describe(`migration 029 on existing data (${engineName})`, () => {
  it('keeps every row: a reference to a non-member is nulled, a row of the user (cascade) gets them an inactive membership', async () => {
    const t = await openTestDb();
    try {
      await migrate(t.db, { files: embeddedMigrations().filter((f) => f.version <= 28) });
      const q = (sql: string, args: unknown[] = []) => t.db.query<Record<string, any>>(sql, args);
      const orgA = (await q(`INSERT INTO organizations (name) VALUES ('A') RETURNING id`)).rows[0]!.id as string;
      const orgB = (await q(`INSERT INTO organizations (name) VALUES ('B') RETURNING id`)).rows[0]!.id as string;
      const pw = 'correct horse battery staple';
      const inA = await createUser(t.db, { email: 'a@a.test', password: pw, orgId: orgA, role: 'owner' });
      const outsider = await createUser(t.db, { email: 'b@b.test', password: pw, orgId: orgB, role: 'owner' });
      // What 028 allowed: org A's rows naming org B's user.
      const deal = (await q(`INSERT INTO deals (org_id, name, owner_id) VALUES ($1, 'cross', $2) RETURNING id`, [orgA, outsider.id])).rows[0]!.id;
      const ownDeal = (await q(`INSERT INTO deals (org_id, name, owner_id) VALUES ($1, 'fine', $2) RETURNING id`, [orgA, inA.id])).rows[0]!.id;
      const block = (await q(`INSERT INTO focus_blocks (org_id, user_id, starts_at, ends_at) VALUES ($1, $2, now(), now() + interval '1 hour') RETURNING id`, [orgA, outsider.id])).rows[0]!.id;
      await migrate(t.db, { files: embeddedMigrations() });
      expect((await q(`SELECT owner_id FROM deals WHERE id = $1`, [deal])).rows[0]!.owner_id).toBeNull();
      expect((await q(`SELECT owner_id FROM deals WHERE id = $1`, [ownDeal])).rows[0]!.owner_id).toBe(inA.id);
      expect((await q(`SELECT user_id FROM focus_blocks WHERE id = $1`, [block])).rows[0]!.user_id).toBe(outsider.id);
      expect((await q(`SELECT role, is_active FROM organization_memberships WHERE org_id = $1 AND user_id = $2`, [orgA, outsider.id])).rows[0]).toEqual({ role: 'viewer', is_active: false });
      // The nulled value stays in the audit trail.
      expect((await q(`SELECT old_values ->> 'owner_id' AS v FROM audit_log WHERE entity_type = 'deals' AND entity_id = $1 AND action = 'update'`, [deal])).rows[0]!.v).toBe(outsider.id);
    } finally {
      await t.close();
    }
  });
});
