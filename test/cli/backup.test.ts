import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, engineName, tmpDir, type TestTarget } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';

describe(`robbieverse db backup / restore (${engineName})`, () => {
  let t: TestTarget;
  let dir: string;
  beforeAll(async () => {
    t = await createTarget();
    dir = tmpDir('rv-backups-');
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const q = async (sql: string) => {
    const r = await runCli(['db', 'query', sql, ...t.args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return json(r).rows;
  };

  it('backs up, then restores exactly what was there', async () => {
    await q(`CREATE TABLE kept (id int PRIMARY KEY, note text); INSERT INTO kept SELECT g, 'row ' || g || ' ✓ Þórshöfn' FROM generate_series(1, 500) g`);
    const b = await runCli(['db', 'backup', '--backup-dir', dir, ...t.args, '--json']);
    expect(b.code, b.stderr + b.stdout).toBe(0);
    const info = json(b);
    expect(fs.existsSync(info.path)).toBe(true);
    expect(info.bytes).toBeGreaterThan(0);
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(path.basename(info.path)).toMatch(engineName === 'pglite' ? /\.pglite\.tar\.gz$/ : /\.dump$/);

    // A second backup never overwrites the first.
    const b2 = json(await runCli(['db', 'backup', '--backup-dir', dir, ...t.args, '--json']));
    expect(b2.path).not.toBe(info.path);

    await q(`DELETE FROM kept WHERE id > 10; CREATE TABLE added_later (id int)`);
    const refused = await runCli(['db', 'restore', info.path, ...t.args]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/run again with --yes/);

    const r = await runCli(['db', 'restore', info.path, '--yes', ...t.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(await q(`SELECT count(*)::int AS n, min(note) AS first FROM kept`)).toEqual([{ n: 500, first: 'row 1 ✓ Þórshöfn' }]);
    expect(await q(`SELECT to_regclass('added_later')::text AS t`)).toEqual([{ t: null }]);
  });

  it('stops before writing anything when the backup directory is not writable', async () => {
    const blocked = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocked, 'a file where the directory should be');
    const r = await runCli(['db', 'backup', '--backup-dir', path.join(blocked, 'sub'), ...t.args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write backups to .*not-a-dir\/sub/);
    expect(r.stderr).toMatch(/hint: choose a writable directory/);
  });
});
