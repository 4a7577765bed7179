import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, createTarget, onPostgres, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli } from '../helpers/cli.js';

describe.skipIf(!onPostgres)('8 concurrent `db migrate` processes on one PostgreSQL database', () => {
  let t: TestTarget;
  let dir: string;
  beforeAll(async () => {
    t = await createTarget();
    dir = copyFixture('counted');
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('apply each migration exactly once', async () => {
    const runs = Array.from({ length: 8 }, () => spawnCli(['db', 'migrate', '--migrations', dir, ...t.args, '--json']));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect(r.code, r.stderr + r.stdout).toBe(0);
    const appliedCounts = results.map((r) => json(r).applied.length as number);
    // All three were applied, by whichever processes got the lock first, and by no one else.
    expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(3);

    const log = await runCli(['db', 'query', 'SELECT migration, count(*)::int AS n FROM apply_log GROUP BY 1 ORDER BY 1', ...t.args, '--json']);
    expect(json(log).rows).toEqual([
      { migration: '001', n: 1 },
      { migration: '002', n: 1 },
      { migration: '003', n: 1 },
    ]);
    const hist = await runCli(['db', 'query', 'SELECT name FROM robbieverse_meta.schema_migrations ORDER BY version', ...t.args, '--json']);
    expect(json(hist).rows.map((r: { name: string }) => r.name)).toEqual(['001-log', '002-wide', '003-last']);
  });
});
