import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, onPostgres, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

/**
 * `users create` on an existing account changes nothing unless --role is given, and never demotes
 * the last owner; `invitations create|list|accept|revoke` with a token printed once.
 */
// The commands reach the embedded home through the socket of a running `up` (one PGlite open for
// the whole file); on PostgreSQL through the URL. `up` also makes the first admin, the sole owner
// of the Default Organization.
const env = { ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_ADMIN_EMAIL: undefined };

describe(`users and invitations commands (${onPostgres ? 'postgres' : 'pglite'})`, () => {
  let t: TestTarget;
  let up: Spawned;
  const cli = (args: string[], input?: string) => runCli([...args, ...t.args], { env, input });
  const membership = async (email: string, org: string) => {
    const r = await cli(['db', 'query', `SELECT m.role, m.is_active FROM organization_memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.org_id WHERE u.email = '${email}' AND o.name = '${org}'`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return json(r).rows[0] as { role: string; is_active: boolean } | undefined;
  };

  beforeAll(async () => {
    t = await createTarget();
    up = spawnCli(['up', '--port', '0', '--no-api', '--no-sites', ...t.args], { env });
    await waitForStderr(up, /press Ctrl-C to stop/);
    expect((await cli(['orgs', 'create', '--name', 'Acme'])).code).toBe(0);
  });
  afterAll(async () => {
    if (up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.done;
    }
    await t.cleanup();
  });

  it('users create on the sole owner of the Default Organization changes nothing; --role member is refused', async () => {
    const again = await cli(['users', 'create', '--email', 'admin@localhost', '--org', 'Default Organization']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already had an account and is owner in Default Organization; nothing changed/);
    const demote = await cli(['users', 'create', '--email', 'admin@localhost', '--org', 'Default Organization', '--role', 'member']);
    expect(demote.code).toBe(2);
    expect(demote.stderr).toMatch(/admin@localhost is the last owner/);
    expect(await membership('admin@localhost', 'Default Organization')).toEqual({ role: 'owner', is_active: true });
  });

  it('users create twice: the role stays unless --role; the last owner cannot be demoted', async () => {
    const first = await cli(['users', 'create', '--email', 'ann@acme.test', '--org', 'Acme', '--role', 'owner', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(json(first)).toMatchObject({ role: 'owner', existed: false, membership: 'created' });
    expect(json(first)).not.toHaveProperty('previousRole');

    const again = await cli(['users', 'create', '--email', 'ann@acme.test', '--org', 'Acme']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already had an account and is owner in Acme; nothing changed/);

    const demote = await cli(['users', 'create', '--email', 'ann@acme.test', '--org', 'Acme', '--role', 'member']);
    expect(demote.code).toBe(2);
    expect(demote.stderr).toMatch(/last owner/);
    expect(demote.stderr).toMatch(/make someone else owner first/);

    // Plain SQL through the CLI is refused by the database as well.
    const sql = await cli(['db', 'query', `UPDATE organization_memberships SET is_active = false WHERE role = 'owner' AND org_id = (SELECT id FROM organizations WHERE name = 'Acme')`]);
    expect(sql.code).not.toBe(0);
    expect(sql.stderr).toMatch(/without an owner/);

    // With --role the role changes; with a second owner the first may be demoted.
    expect((await cli(['users', 'create', '--email', 'bea@acme.test', '--org', 'Acme', '--role', 'member'])).code).toBe(0);
    const promote = await cli(['users', 'create', '--email', 'bea@acme.test', '--org', 'Acme', '--role', 'owner']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toMatch(/role in Acme changed from member to owner/);
    const step = await cli(['users', 'create', '--email', 'ann@acme.test', '--org', 'Acme', '--role', 'admin', '--json']);
    expect(step.code, step.stderr).toBe(0);
    // previousRole owner: neither the refused --role member nor the refused SQL changed it.
    expect(json(step)).toMatchObject({ role: 'admin', existed: true, membership: 'role_changed', previousRole: 'owner' });
  });

  it('invitations: create prints the token once; accept needs the account; accepted once; revoke', async () => {
    const created = await cli(['invitations', 'create', '--org', 'Acme', '--email', 'Carl@Example.test', '--role', 'viewer', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const inv = json(created);
    expect(inv).toMatchObject({ email: 'carl@example.test', role: 'viewer', status: 'pending', organization: 'Acme' });
    expect(inv.token).toMatch(/^rvi_/);

    const list = await cli(['invitations', 'list', '--org', 'Acme']);
    expect(list.stdout).toContain('carl@example.test');
    expect(list.stdout).not.toContain(inv.token);

    const noAccount = await cli(['invitations', 'accept', '--token-stdin'], inv.token);
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toMatch(/no account with e-mail carl@example.test yet/);
    expect(noAccount.stderr).toMatch(/robbieverse users create --email carl@example.test/);

    expect((await cli(['users', 'create', '--email', 'carl@example.test', '--org', 'Default Organization'])).code).toBe(0);
    const ok = await cli(['invitations', 'accept', '--token-stdin'], inv.token);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/carl@example.test is now viewer in Acme/);
    expect(await membership('carl@example.test', 'Acme')).toEqual({ role: 'viewer', is_active: true });

    const twice = await cli(['invitations', 'accept', '--token-stdin'], inv.token);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/already answered/);

    const other = json(await cli(['invitations', 'create', '--org', 'Acme', '--email', 'dora@example.test', '--json']));
    const revoked = await cli(['invitations', 'revoke', other.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await cli(['invitations', 'revoke', other.id])).code).toBe(2);
    expect((await cli(['users', 'create', '--email', 'dora@example.test', '--org', 'Default Organization'])).code).toBe(0);
    const late = await cli(['invitations', 'accept', '--token-stdin'], other.token);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/revoked/);
    expect(await membership('dora@example.test', 'Acme')).toBeUndefined();
  });

  it('--help of the invitations commands teaches by example', async () => {
    const all = [['invitations'], ['invitations', 'create'], ['invitations', 'list'], ['invitations', 'accept'], ['invitations', 'revoke']];
    const results = await Promise.all(all.map((args) => runCli([...args, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, all[i]!.join(' ')).toBe(0);
      expect(r.stdout, all[i]!.join(' ')).toMatch(/Usage: robbieverse[\s\S]*Examples:\n {2}\$ robbieverse /);
    });
  });
});
