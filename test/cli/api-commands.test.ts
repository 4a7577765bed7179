import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, onPostgres, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

/**
 * The account commands and the HTTP API as a user meets them: `up` on a fresh database, the first
 * admin signing in over HTTP, orgs/users/keys through the CLI, a key used against `serve` and
 * refused after `keys revoke`. On PGlite the commands reach the home through the socket of the
 * running `up`; on PostgreSQL through the URL.
 */
const API_LINE = /API: (http:\/\/127\.0\.0\.1:(\d+))\/api {2}· {2}reference: http:\/\/127\.0\.0\.1:\d+\/docs {2}· {2}OpenAPI: \/openapi\.json/;
const env = { ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_API_PORT: undefined, ROBBIEVERSE_ADMIN_EMAIL: undefined };

async function stop(p: Spawned): Promise<{ code: number | null; stderr: string }> {
  p.child.kill('SIGTERM');
  return p.done;
}

async function login(origin: string, email: string, password: string): Promise<Response> {
  return fetch(`${origin}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
}

describe(`account commands and the API (${onPostgres ? 'postgres' : 'pglite'})`, () => {
  let t: TestTarget;
  let up: Spawned | undefined;
  const sql = async (q: string) => {
    const r = await runCli(['db', 'query', q, '--json', ...t.args], { env });
    expect(r.code, r.stderr).toBe(0);
    return json(r).rows as Record<string, any>[];
  };
  const cli = (args: string[], input?: string) => runCli([...args, ...t.args], { env, input });

  beforeAll(async () => {
    t = await createTarget();
  });
  afterAll(async () => {
    if (up && up.child.exitCode === null) await stop(up);
    await t.cleanup();
  });

  it('refuses to serve or administer a database whose schema is not current', async () => {
    const s = await runCli(['serve', '--port', '0', ...t.args], { env });
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/no Robbieverse schema yet/);
    expect(s.stderr).toMatch(/hint: run robbieverse db migrate/);
    const o = await cli(['orgs', 'list']);
    expect(o.code).toBe(3);
  });

  let admin: { email: string; password: string };
  it('up on a fresh database prints a first admin once; the password signs in over HTTP', async () => {
    const first = spawnCli(['up', '--port', '0', '--api-port', '0', '--no-sites', ...t.args], { env });
    await waitForStderr(first, /press Ctrl-C to stop/);
    const origin = API_LINE.exec(first.stderr())![1]!;
    const m = /email: +(\S+)\n +password: +(\S+)\n/.exec(first.stderr());
    expect(m, first.stderr()).toBeTruthy();
    admin = { email: m![1]!, password: m![2]! };
    expect(admin.email).toBe('admin@localhost');
    expect(admin.password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(first.stderr()).toMatch(/change it with robbieverse users passwd/);
    expect(first.stderr()).toContain(`curl -s -X POST ${origin}/api/auth/login`);

    const res = await login(origin, admin.email, admin.password);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: { role: string; org_id: string } };
    expect(body.user).toMatchObject({ role: 'owner', org_id: '00000000-0000-4000-8000-000000000001' });
    const me = await fetch(`${origin}/api/me`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(me.status).toBe(200);
    expect((await login(origin, admin.email, 'wrong-password-123')).status).toBe(401);

    const r = await stop(first);
    expect(r.code, r.stderr).toBe(0);

    // A second run creates and prints nothing.
    up = spawnCli(['up', '--port', '0', '--api-port', '0', '--no-sites', ...t.args], { env });
    await waitForStderr(up, /press Ctrl-C to stop/);
    expect(up.stderr()).toMatch(API_LINE);
    expect(up.stderr()).not.toMatch(/First admin|password/);
    expect(up.stderr()).not.toContain(admin.password);
    const users = await sql(`SELECT email, password_hash LIKE '$argon2id$%' AS argon2 FROM users`);
    expect(users).toEqual([{ email: 'admin@localhost', argon2: true }]);
  });

  let org: { id: string; name: string };
  let ann: { email: string; password: string };
  it('orgs and users: create and list, passwords stored as argon2id only', async () => {
    const c = await cli(['orgs', 'create', '--name', 'Acme Ltd', '--domain', 'acme.example', '--json']);
    expect(c.code, c.stderr).toBe(0);
    org = json(c);
    expect(org).toMatchObject({ name: 'Acme Ltd', domain: 'acme.example' });
    const dup = await cli(['orgs', 'create', '--name', 'Acme again', '--domain', 'acme.example']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/domain acme\.example already exists/);
    const list = await cli(['orgs', 'list']);
    expect(list.stdout).toMatch(/Default Organization/);
    expect(list.stdout).toMatch(/Acme Ltd +\| acme\.example/);

    // generated password, printed once
    const u = await cli(['users', 'create', '--email', 'Ann@Acme.example', '--org', 'Acme Ltd', '--role', 'admin', '--first-name', 'Ann']);
    expect(u.code, u.stderr).toBe(0);
    const pw = /password: +(\S+)/.exec(u.stdout)![1]!;
    ann = { email: 'ann@acme.example', password: pw };
    expect(u.stdout).toMatch(/created ann@acme\.example, admin in Acme Ltd/);
    expect(u.stdout).toMatch(/shown once/);

    // chosen password from stdin, never a flag
    const b = await cli(['users', 'create', '--email', 'bob@acme.example', '--org', org.id, '--role', 'viewer', '--password-stdin', '--json'], 'bobs-own-secret-1\n');
    expect(b.code, b.stderr).toBe(0);
    expect(json(b)).toMatchObject({ email: 'bob@acme.example', role: 'viewer', existed: false });
    expect(json(b).password).toBeUndefined();
    expect(b.stdout).not.toContain('bobs-own-secret-1');
    expect((await cli(['users', 'create', '--email', 'x@acme.example', '--org', 'Acme Ltd', '--password', 'p'])).code).toBe(2);
    const noOrg = await cli(['users', 'create', '--email', 'x@acme.example', '--org', 'Nope Inc']);
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toMatch(/no organization "Nope Inc"/);

    const rows = await sql(`SELECT email, password_hash FROM users WHERE email LIKE '%@acme.example' ORDER BY email`);
    expect(rows.map((r) => r.email)).toEqual(['ann@acme.example', 'bob@acme.example']);
    for (const r of rows) {
      expect(r.password_hash).toMatch(/^\$argon2id\$/);
      expect(r.password_hash).not.toContain(pw);
      expect(r.password_hash).not.toContain('bobs-own-secret-1');
    }

    const ul = await cli(['users', 'list', '--org', 'Acme Ltd', '--json']);
    expect(ul.code, ul.stderr).toBe(0);
    expect(json<any[]>(ul).map((r) => [r.email, r.role, r.can_sign_in])).toEqual([
      ['ann@acme.example', 'admin', true],
      ['bob@acme.example', 'viewer', true],
    ]);
    expect(ul.stdout).not.toMatch(/argon2/);

    const p = await cli(['users', 'passwd', '--email', 'bob@acme.example', '--password-stdin'], 'bobs-new-secret-2');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/password of bob@acme\.example changed/);
    const missing = await cli(['users', 'passwd', '--email', 'nobody@acme.example']);
    expect(missing.code).toBe(2);
  });

  it('an API key works against `serve` over HTTP until it is revoked; the log never shows a password', async () => {
    const k = await cli(['keys', 'create', '--user', ann.email, '--org', 'Acme Ltd', '--name', 'importer', '--expires', '30d', '--json']);
    expect(k.code, k.stderr).toBe(0);
    const key = json(k);
    expect(key.key).toMatch(/^rvk_/);
    expect(key).toMatchObject({ name: 'importer', email: ann.email, org_id: org.id });
    expect(new Date(key.expires_at).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const text = await cli(['keys', 'create', '--user', ann.email, '--org', org.id, '--name', 'second', '--role', 'viewer']);
    expect(text.stdout).toMatch(/key: +rvk_\S+/);
    expect(text.stdout).toMatch(/curl -s http:\/\/127\.0\.0\.1:(?!8787)\d+\/api\/me -H 'Authorization: Bearer rvk_/);
    const stored = await sql(`SELECT key_hash, key_prefix FROM api_keys WHERE id = '${key.id}'`);
    expect(stored[0]!.key_hash).not.toContain(key.key);
    expect(key.key.startsWith(stored[0]!.key_prefix)).toBe(true);
    const notMember = await cli(['keys', 'create', '--user', 'bob@acme.example', '--org', 'Default Organization', '--name', 'x']);
    expect(notMember.code).toBe(2);
    expect(notMember.stderr).toMatch(/not an active member/);

    const serve = spawnCli(['serve', '--port', '0', ...t.args], { env: { ...env, ROBBIEVERSE_LOG_LEVEL: 'info' } });
    try {
      await waitForStderr(serve, API_LINE);
      const origin = API_LINE.exec(serve.stderr())![1]!;
      const auth = { authorization: `Bearer ${key.key}` };
      const me = await fetch(`${origin}/api/me`, { headers: auth });
      expect(me.status).toBe(200);
      expect(((await me.json()) as any).user.email).toBe(ann.email);
      expect((await login(origin, ann.email, ann.password)).status).toBe(200);
      expect((await login(origin, 'bob@acme.example', 'bobs-new-secret-2')).status).toBe(200);
      expect((await login(origin, 'bob@acme.example', 'bobs-own-secret-1')).status).toBe(401);
      const docs = await fetch(`${origin}/openapi.json`);
      expect(docs.status).toBe(200);

      const rv = await cli(['keys', 'revoke', key.key.slice(0, 12)]);
      expect(rv.code, rv.stderr).toBe(0);
      expect(rv.stdout).toMatch(/revoked rvk_/);
      const after = await fetch(`${origin}/api/me`, { headers: auth });
      expect(after.status).toBe(401);
      expect((await cli(['keys', 'revoke', 'rvk_nosuchkey'])).code).toBe(2);
      const kl = await cli(['keys', 'list', '--org', 'Acme Ltd', '--json']);
      expect(json<any[]>(kl).map((r) => [r.name, r.status])).toEqual([['importer', 'revoked'], ['second', 'active']]);
      expect(kl.stdout).not.toContain(key.key);
    } finally {
      const r = await stop(serve);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/SIGTERM: stopping…\n✓ stopped/);
      // Requests were logged (info), but no password, no key
      expect(r.stderr).toMatch(/"url":"\/api\/auth\/login"/);
      for (const secret of [ann.password, 'bobs-new-secret-2', 'bobs-own-secret-1', key.key, admin.password]) expect(r.stderr).not.toContain(secret);
    }
  });
});
