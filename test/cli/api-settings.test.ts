import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { parseExpiry } from '../../src/cli/admin.js';
import { ensureFirstAdmin } from '../../src/api/bootstrap.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { openTestDb, tmpDir } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('API settings', () => {
  it('flags > environment > config file > defaults, for apiHost, apiPort and corsOrigins', async () => {
    const cwd = tmpDir();
    dirs.push(cwd);
    expect(await resolveConfig({}, {}, cwd)).toMatchObject({ apiHost: '127.0.0.1', apiPort: 8787, corsOrigins: [] });
    fs.writeFileSync(path.join(cwd, 'robbieverse.config.json'), JSON.stringify({ apiHost: '0.0.0.0', apiPort: 9000, corsOrigins: ['https://a.example'] }));
    expect(await resolveConfig({}, {}, cwd)).toMatchObject({ apiHost: '0.0.0.0', apiPort: 9000, corsOrigins: ['https://a.example'] });
    const env = { ROBBIEVERSE_API_HOST: '::1', ROBBIEVERSE_API_PORT: '9100', ROBBIEVERSE_CORS_ORIGINS: 'https://b.example, http://localhost:5173' };
    expect(await resolveConfig({}, env, cwd)).toMatchObject({ apiHost: '::1', apiPort: 9100, corsOrigins: ['https://b.example', 'http://localhost:5173'] });
    expect(await resolveConfig({ apiPort: 0, apiHost: '127.0.0.2' }, env, cwd)).toMatchObject({ apiHost: '127.0.0.2', apiPort: 0 });
    await expect(resolveConfig({ apiPort: Number('abc') }, {}, cwd)).rejects.toMatchObject({ code: 'E_CONFIG' });
    await expect(resolveConfig({}, { ROBBIEVERSE_API_PORT: 'x' }, cwd)).rejects.toMatchObject({ code: 'E_CONFIG' });
    fs.writeFileSync(path.join(cwd, 'robbieverse.config.json'), JSON.stringify({ apiPort: 9000, apiPrt: 1 }));
    await expect(resolveConfig({}, {}, cwd)).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/apiPrt/) });
  });

  it('key lifetimes', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    expect(parseExpiry('30d', now).toISOString()).toBe('2030-01-31T00:00:00.000Z');
    expect(parseExpiry('12h', now).toISOString()).toBe('2030-01-01T12:00:00.000Z');
    expect(parseExpiry('2031-06-01', now).toISOString()).toBe('2031-06-01T00:00:00.000Z');
    for (const bad of ['0d', 'soon', '2029-01-01', '-5d']) expect(() => parseExpiry(bad, now)).toThrow(/not a lifetime/);
  });
});

describe('--help of the API and account commands', () => {
  it('teaches each by example', async () => {
    const all = [['serve'], ['orgs'], ['orgs', 'create'], ['orgs', 'list'], ['users'], ['users', 'create'], ['users', 'list'], ['users', 'passwd'], ['keys'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke']];
    const results = await Promise.all(all.map((args) => runCli([...args, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, all[i]!.join(' ')).toBe(0);
      expect(r.stdout, all[i]!.join(' ')).toMatch(/Usage: robbieverse[\s\S]*Examples:\n {2}\$ robbieverse /);
    });
    const up = await runCli(['up', '--help']);
    expect(up.stdout).toMatch(/--api-port <n>[\s\S]*--no-api[\s\S]*--admin-email/);
  });
});

describe('ensureFirstAdmin', () => {
  it('creates one owner with a password only when nobody can sign in; concurrent calls create one', async () => {
    const t = await openTestDb();
    try {
      await migrate(t.db, { files: embeddedMigrations() });
      const results = await Promise.all([ensureFirstAdmin(t.db, { email: 'Boss@Example.com' }), ensureFirstAdmin(t.db, { email: 'boss@example.com' })]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const made = results.find((r) => r.created)!;
      expect(made).toMatchObject({ created: true, email: 'boss@example.com', orgId: '00000000-0000-4000-8000-000000000001' });
      const { rows } = await t.db.query<{ email: string; role: string; hash: string }>(
        `SELECT u.email, m.role, u.password_hash AS hash FROM users u JOIN organization_memberships m ON m.user_id = u.id`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ email: 'boss@example.com', role: 'owner' });
      expect(rows[0]!.hash).toMatch(/^\$argon2id\$/);
      expect(await ensureFirstAdmin(t.db)).toEqual({ created: false });
      await expect(ensureFirstAdmin(t.db, { email: 'not an email' })).rejects.toMatchObject({ code: 'E_USAGE' });
    } finally {
      await t.close();
    }
  });
});
