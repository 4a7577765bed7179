import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { ensureFirstAdmin } from '../../src/api/bootstrap.js';
import { listOperators } from '../../src/api/auth/operators.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';

describe(`robbieverse operators add|list|remove, and the first admin (${engineName})`, () => {
  let t: TestTarget;
  const cli = (args: string[]) => runCli([...args, ...t.args]);

  beforeAll(async () => {
    t = await createTarget();
    const db = await t.open();
    try {
      await migrate(db, { files: embeddedMigrations() });
      // what `robbieverse up` does on a database where nobody can sign in
      expect((await ensureFirstAdmin(db, { email: 'first@localhost' })).created).toBe(true);
      expect((await listOperators(db)).map((o) => o.email)).toEqual(['first@localhost']);
      const org = await createOrganization(db, { name: 'Acme Ltd' });
      await createUser(db, { email: 'ann@acme.example', password: 'correct horse battery staple', orgId: org.id, role: 'owner' });
    } finally {
      await db.close();
    }
  });
  afterAll(() => t?.cleanup());

  it('add, list and remove an operator', async () => {
    const added = await cli(['operators', 'add', '--email', 'Ann@acme.example', '--note', 'on call', '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(json(added)).toMatchObject({ operator: true, added: true });
    const list = await cli(['operators', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(json<{ email: string; note: string | null }[]>(list).map((o) => [o.email, o.note])).toEqual([
      ['first@localhost', 'the first admin robbieverse up created'],
      ['ann@acme.example', 'on call'],
    ]);
    const removed = await cli(['operators', 'remove', '--email', 'ann@acme.example']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/no longer a platform operator/);
    expect(json<unknown[]>(await cli(['operators', 'list', '--json'])).length).toBe(1);
  });

  it('an unknown account is a usage error (exit 2) with a hint; --help has examples', async () => {
    const r = await cli(['operators', 'add', '--email', 'nobody@acme.example']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no account with the e-mail nobody@acme\.example/);
    expect(r.stderr).toMatch(/robbieverse users list/);
    const help = await runCli(['operators', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:[\s\S]*robbieverse operators add --email/);
  });
});
