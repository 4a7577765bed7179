import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/api/accounts.js';
import { createApiKey } from '../../src/api/auth/keys.js';
import { engineName, onPostgres, waitFor } from '../helpers/db.js';
import { PASSWORD, startApi, type ApiHarness } from '../helpers/api.js';

/**
 * Accounts inside an organization: the last owner stays (API and plain SQL), people join only by
 * accepting an invitation addressed to them, and no answer tells whether an e-mail has an account.
 */
describe(`accounts: last owner, invitations, no account oracle (${engineName})`, () => {
  let h: ApiHarness;
  let acme: string;
  let other: string;
  let owner: { id: string; token: string };
  let admin: { id: string; token: string };
  let member: { id: string; token: string };
  let bob: { id: string; token: string };
  let eve: { id: string; token: string };
  const membership = async (org: string, user: string) =>
    (await h.db.query<{ id: string; role: string; is_active: boolean }>(`SELECT id, role, is_active FROM organization_memberships WHERE org_id = $1 AND user_id = $2`, [org, user])).rows[0];
  const count = async (sql: string, args: unknown[] = []) => (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) x`, args)).rows[0]!.n;

  beforeAll(async () => {
    h = await startApi();
    acme = await h.org('Acme');
    other = await h.org('Elsewhere');
    owner = await h.user(acme, 'owner@acme.test', 'owner');
    admin = await h.user(acme, 'admin@acme.test', 'admin');
    member = await h.user(acme, 'member@acme.test', 'member');
    bob = await h.user(other, 'bob@elsewhere.test', 'owner');
    eve = await h.user(other, 'eve@elsewhere.test', 'member');
  });
  afterAll(() => h.close());

  describe('the last owner', () => {
    it('the API refuses to demote, deactivate or remove the last owner (409 last_owner), changing nothing', async () => {
      const m = (await membership(acme, owner.id))!;
      for (const [method, body] of [['PATCH', { role: 'admin' }], ['PATCH', { is_active: false }], ['DELETE', undefined]] as const) {
        const r = await h.call(method, `/api/members/${m.id}`, { token: owner.token, body });
        expect(r.status, JSON.stringify(r.body)).toBe(409);
        expect(r.body.error.code).toBe('last_owner');
      }
      expect(await membership(acme, owner.id)).toMatchObject({ role: 'owner', is_active: true });
    });

    it('plain SQL cannot demote, deactivate or delete the last active owner either', async () => {
      const m = (await membership(acme, owner.id))!;
      for (const sql of [
        `UPDATE organization_memberships SET role = 'member' WHERE id = $1`,
        `UPDATE organization_memberships SET is_active = false WHERE id = $1`,
        `DELETE FROM organization_memberships WHERE id = $1`,
      ]) {
        await expect(h.db.query(sql, [m.id]), sql).rejects.toMatchObject({ code: '23514', constraint: 'organization_memberships_last_owner' });
      }
      await expect(h.db.query(`DELETE FROM users WHERE id = $1`, [owner.id])).rejects.toMatchObject({ code: '23514' });
      // Demoting every owner at once is judged by the result, too.
      await expect(h.db.query(`UPDATE organization_memberships SET role = 'admin' WHERE org_id = $1`, [acme])).rejects.toMatchObject({ code: '23514' });
      expect(await membership(acme, owner.id)).toMatchObject({ role: 'owner', is_active: true });
    });

    it('with a second owner the first may step down; ownership can be handed over in one transaction; an organization can still be deleted', async () => {
      const co = await h.user(acme, 'co-owner@acme.test', 'owner');
      const m = (await membership(acme, co.id))!;
      const r = await h.call('PATCH', `/api/members/${m.id}`, { token: owner.token, body: { role: 'admin' } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.role).toBe('admin');
      // Hand-over in either order inside one transaction (the check is deferrable).
      const temp = await h.org('Temporary');
      // (their home organization is another one: a home organization cannot be deleted)
      const t1 = await createUser(h.db, { email: 't1@temp.test', password: PASSWORD, orgId: other, role: 'member' });
      const t2 = await createUser(h.db, { email: 't2@temp.test', password: PASSWORD, orgId: other, role: 'member' });
      await createUser(h.db, { email: 't1@temp.test', password: PASSWORD, orgId: temp, role: 'owner' });
      await createUser(h.db, { email: 't2@temp.test', password: PASSWORD, orgId: temp, role: 'member' });
      await h.db.transaction(async (tx) => {
        await tx.query(`SET CONSTRAINTS organization_memberships_last_owner DEFERRED`);
        await tx.query(`UPDATE organization_memberships SET role = 'member' WHERE org_id = $1 AND user_id = $2`, [temp, t1.id]);
        await tx.query(`UPDATE organization_memberships SET role = 'owner' WHERE org_id = $1 AND user_id = $2`, [temp, t2.id]);
      });
      expect((await membership(temp, t2.id))!.role).toBe('owner');
      await h.db.query(`DELETE FROM organizations WHERE id = $1`, [temp]);
      expect(await count(`SELECT 1 FROM organization_memberships WHERE org_id = $1`, [temp])).toBe(0);
    });
  });

  // Two owners stepping down at the same time: without the lock on the organization each would
  // still see the other one as owner. (PGlite runs one transaction at a time.)
  it.skipIf(!onPostgres)('two concurrent demotions of the last two owners: one is refused', async () => {
    const org = await h.org('Race');
    const o1 = await createUser(h.db, { email: 'r1@race.test', password: PASSWORD, orgId: org, role: 'owner' });
    const o2 = await createUser(h.db, { email: 'r2@race.test', password: PASSWORD, orgId: org, role: 'owner' });
    const demote = `UPDATE organization_memberships SET role = 'admin' WHERE org_id = $1 AND user_id = $2`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstDone!: () => void;
    const first = new Promise<void>((r) => (firstDone = r));
    const t1 = h.db.transaction(async (tx) => {
      await tx.query(demote, [org, o1.id]);
      firstDone();
      await gate;
    });
    await first;
    const t2 = h.db.transaction((tx) => tx.query(`SET LOCAL application_name = 'race-2'`).then(() => tx.query(demote, [org, o2.id])));
    const t2settled = t2.then(() => 'ok', (e: { code?: string }) => e.code);
    await waitFor(async () => (await h.db.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'race-2' AND wait_event_type = 'Lock'`)).rows.length > 0, 'the second demotion to wait');
    release();
    await t1;
    expect(await t2settled).toBe('23514');
    const owners = await count(`SELECT 1 FROM organization_memberships WHERE org_id = $1 AND role = 'owner' AND is_active`, [org]);
    expect(owners).toBe(1);
  });

  describe('invitations', () => {
    it('POST /api/invitations answers the same for an e-mail with and without an account, and adds nobody', async () => {
      const known = await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'Bob@Elsewhere.test', role: 'member' } });
      const unknown = await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'nobody@nowhere.test', role: 'member' } });
      expect(known.status).toBe(201);
      expect(unknown.status).toBe(201);
      expect(Object.keys(known.body).sort()).toEqual(Object.keys(unknown.body).sort());
      expect(Object.keys(known.body).sort()).toEqual(['created_at', 'email', 'expires_at', 'id', 'org_id', 'role', 'status', 'token']);
      expect(known.body).toMatchObject({ email: 'bob@elsewhere.test', role: 'member', status: 'pending', org_id: acme });
      expect(JSON.stringify(known.body)).not.toContain(bob.id);
      expect(known.body.token).toMatch(/^rvi_/);
      // Only the hash is stored.
      expect(await count(`SELECT 1 FROM organization_invitations WHERE token_hash = $1`, [known.body.token])).toBe(0);
      expect(await membership(acme, bob.id)).toBeUndefined();
      // Audited like the other writes.
      expect(await count(`SELECT 1 FROM audit_log WHERE entity_type = 'organization_invitations' AND entity_id = $1 AND action = 'insert' AND user_id = $2`, [known.body.id, admin.id])).toBe(1);
    });

    it('POST /api/members with an e-mail only invites (202), the same for any e-mail', async () => {
      const before = await count(`SELECT 1 FROM organization_memberships WHERE org_id = $1`, [acme]);
      const r1 = await h.call('POST', '/api/members', { token: admin.token, body: { email: 'bob@elsewhere.test' } });
      const r2 = await h.call('POST', '/api/members', { token: admin.token, body: { email: 'ghost@nowhere.test' } });
      expect([r1.status, r2.status]).toEqual([202, 202]);
      expect(Object.keys(r1.body).sort()).toEqual(Object.keys(r2.body).sort());
      expect(r1.body).not.toHaveProperty('user_id');
      expect(await count(`SELECT 1 FROM organization_memberships WHERE org_id = $1`, [acme])).toBe(before);
    });

    it('only admins invite, only owners invite owners', async () => {
      expect((await h.call('POST', '/api/invitations', { token: member.token, body: { email: 'x@y.test' } })).status).toBe(403);
      expect((await h.call('GET', '/api/invitations', { token: member.token })).status).toBe(403);
      const r = await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'x@y.test', role: 'owner' } });
      expect(r.status).toBe(403);
      expect((await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'not-an-email' } })).status).toBe(400);
      expect(await count(`SELECT 1 FROM organization_invitations WHERE email IN ('x@y.test', 'not-an-email')`)).toBe(0);
    });

    it('the invitee sees it and accepts; another user cannot; a second accept is refused', async () => {
      const inv = (await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'bob@elsewhere.test', role: 'admin' } })).body;
      const mine = await h.call('GET', '/api/me/invitations', { token: bob.token });
      expect(mine.status).toBe(200);
      expect(mine.body.data).toEqual([expect.objectContaining({ id: inv.id, org_id: acme, organization: 'Acme', role: 'admin' })]);
      expect((await h.call('GET', '/api/me/invitations', { token: eve.token })).body.data).toEqual([]);
      // Eve (another account) cannot accept it, by id or by token; nothing is written.
      for (const [path, body] of [[`/api/invitations/${inv.id}/accept`, undefined], ['/api/invitations/accept', { token: inv.token }]] as const) {
        const r = await h.call('POST', path, { token: eve.token, body });
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe('not_found');
      }
      expect(await membership(acme, eve.id)).toBeUndefined();
      // Not with an API key either, even Bob's.
      const key = (await createApiKey(h.db, { userId: bob.id, orgId: other, name: 'bot' })).key;
      expect((await h.call('POST', `/api/invitations/${inv.id}/accept`, { token: key })).status).toBe(403);
      // Bob accepts.
      const ok = await h.call('POST', `/api/invitations/${inv.id}/accept`, { token: bob.token });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ outcome: 'accepted', org_id: acme, organization: 'Acme', role: 'admin' });
      expect(await membership(acme, bob.id)).toMatchObject({ role: 'admin', is_active: true });
      expect((await h.db.query<{ invited_by: string }>(`SELECT invited_by FROM organization_memberships WHERE org_id = $1 AND user_id = $2`, [acme, bob.id])).rows[0]!.invited_by).toBe(admin.id);
      expect(await count(`SELECT 1 FROM audit_log WHERE entity_type = 'organization_memberships' AND action = 'insert' AND new_values ->> 'user_id' = $1 AND org_id = $2`, [bob.id, acme])).toBe(1);
      // He can now sign in to Acme.
      expect(await h.login('bob@elsewhere.test', acme)).toMatch(/^rva_/);
      const again = await h.call('POST', '/api/invitations/accept', { token: bob.token, body: { token: inv.token } });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('invitation_used');
      expect((await h.call('GET', '/api/me/invitations', { token: bob.token })).body.data).toEqual([]);
    });

    it('expired, revoked and declined invitations cannot be accepted; revoking is for admins', async () => {
      const make = async (email: string) => (await h.call('POST', '/api/invitations', { token: admin.token, body: { email } })).body;
      const expired = await make('eve@elsewhere.test');
      await h.db.query(`UPDATE organization_invitations SET expires_at = now() - interval '1 minute', created_at = now() - interval '8 days' WHERE id = $1`, [expired.id]);
      expect((await h.call('GET', '/api/me/invitations', { token: eve.token })).body.data).toEqual([]);
      const listed = (await h.call('GET', '/api/invitations?status=all', { token: admin.token })).body.data;
      expect(listed.find((i: { id: string }) => i.id === expired.id).status).toBe('expired');
      expect((await h.call('GET', '/api/invitations', { token: admin.token })).body.data.map((i: { id: string }) => i.id)).not.toContain(expired.id);
      let r = await h.call('POST', `/api/invitations/${expired.id}/accept`, { token: eve.token });
      expect([r.status, r.body.error.code]).toEqual([410, 'invitation_expired']);

      const revoked = await make('eve@elsewhere.test');
      expect((await h.call('GET', '/api/invitations', { token: admin.token })).body.data.map((i: { id: string }) => i.id)).toContain(revoked.id);
      expect((await h.call('DELETE', `/api/invitations/${revoked.id}`, { token: member.token })).status).toBe(403);
      expect((await h.call('DELETE', `/api/invitations/${revoked.id}`, { token: admin.token })).status).toBe(204);
      expect((await h.call('DELETE', `/api/invitations/${revoked.id}`, { token: admin.token })).status).toBe(409);
      // Another organization's admin cannot see or revoke it.
      expect((await h.call('DELETE', `/api/invitations/${revoked.id}`, { token: bob.token })).status).toBe(404);
      r = await h.call('POST', '/api/invitations/accept', { token: eve.token, body: { token: revoked.token } });
      expect([r.status, r.body.error.code]).toEqual([410, 'invitation_revoked']);

      const declined = await make('eve@elsewhere.test');
      expect((await h.call('POST', `/api/invitations/${declined.id}/decline`, { token: eve.token })).body.outcome).toBe('declined');
      r = await h.call('POST', `/api/invitations/${declined.id}/accept`, { token: eve.token });
      expect([r.status, r.body.error.code]).toEqual([409, 'invitation_used']);
      expect(await membership(acme, eve.id)).toBeUndefined();
      // A new invitation for the same e-mail closed the expired one (revoked).
      const statuses = (await h.call('GET', '/api/invitations?status=all', { token: admin.token })).body.data
        .filter((i: { email: string }) => i.email === 'eve@elsewhere.test').map((i: { status: string }) => i.status);
      expect(statuses.sort()).toEqual(['declined', 'revoked', 'revoked']);
    });

    it('a new account for an invited e-mail can accept; a removed member is deactivated and comes back by invitation', async () => {
      const inv = (await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'newbie@fresh.test', role: 'viewer' } })).body;
      const home = await h.org('Newbie Home');
      const newbie = await h.user(home, 'newbie@fresh.test', 'owner');
      expect((await h.call('POST', '/api/invitations/accept', { token: newbie.token, body: { token: inv.token } })).status).toBe(200);
      const m = (await membership(acme, newbie.id))!;
      expect(m).toMatchObject({ role: 'viewer', is_active: true });
      expect((await h.call('DELETE', `/api/members/${m.id}`, { token: admin.token })).status).toBe(204);
      expect(await membership(acme, newbie.id)).toMatchObject({ is_active: false });
      const back = (await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'newbie@fresh.test', role: 'member' } })).body;
      expect((await h.call('POST', `/api/invitations/${back.id}/accept`, { token: newbie.token })).status).toBe(200);
      expect(await membership(acme, newbie.id)).toMatchObject({ role: 'member', is_active: true });
      const dup = (await h.call('POST', '/api/invitations', { token: admin.token, body: { email: 'newbie@fresh.test' } })).body;
      const r = await h.call('POST', `/api/invitations/${dup.id}/accept`, { token: newbie.token });
      expect([r.status, r.body.error.code]).toEqual([409, 'already_member']);
    });
  });

  it('no answer tells whether an e-mail has an account: login gives one 401 for both', async () => {
    const known = await h.call('POST', '/api/auth/login', { body: { email: 'bob@elsewhere.test', password: 'wrong password 123' } });
    const unknown = await h.call('POST', '/api/auth/login', { body: { email: 'nobody@nowhere.test', password: 'wrong password 123' } });
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(known.body.error.code).toBe(unknown.body.error.code);
    expect(known.body.error.message).toBe(unknown.body.error.message);
  });
});
