import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr } from '../helpers/cli.js';

describe(`kill -9 in the middle of a migration (${engineName})`, () => {
  let t: TestTarget;
  let dir: string;
  beforeAll(async () => {
    t = await createTarget();
    dir = copyFixture('slow');
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the database as before that migration, and the next run completes', async () => {
    const p = spawnCli(['db', 'migrate', '--migrations', dir, ...t.args]);
    // 002-slow creates a table, then sleeps 30 s inside its transaction: kill it there.
    await waitForStderr(p, /\[2\/2\] 002-slow … /);
    await new Promise((r) => setTimeout(r, 750));
    expect(p.child.exitCode).toBeNull();
    p.child.kill('SIGKILL');
    const dead = await p.done;
    expect(dead.signal).toBe('SIGKILL');

    const tables = await runCli(['db', 'query', "SELECT to_regclass('made_before_sleep')::text AS before, to_regclass('made_after_sleep')::text AS after", ...t.args, '--json']);
    expect(tables.code, tables.stderr).toBe(0);
    expect(json(tables).rows[0]).toEqual({ before: null, after: null });
    const history = await runCli(['db', 'query', 'SELECT name FROM robbieverse_meta.schema_migrations ORDER BY version', ...t.args, '--json']);
    expect(json(history).rows).toEqual([{ name: '001-control' }]);

    // Data written before the killed migration survived; let the migration finish quickly now.
    const upd = await runCli(['db', 'query', 'UPDATE control SET sleep_seconds = 0', ...t.args]);
    expect(upd.code, upd.stderr).toBe(0);
    const again = await runCli(['db', 'migrate', '--migrations', dir, ...t.args]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/1 pending migration \(1 already applied\)/);
    const done = await runCli(['db', 'query', 'SELECT (SELECT count(*) FROM made_before_sleep)::int AS rows_before, to_regclass(\'made_after_sleep\') IS NOT NULL AS after', ...t.args, '--json']);
    expect(json(done).rows[0]).toEqual({ rows_before: 1, after: true });
  });
});
