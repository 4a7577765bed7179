import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HomeLock } from '../../src/db/home-lock.js';
import { RESTORE_STEPS } from '../../src/db/restore-embedded.js';
import { recoverInterruptedRestore } from '../../src/db/restore-journal.js';
import { onPostgres, tmpDir } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr } from '../helpers/cli.js';

/**
 * kill -9 at every named step of an embedded restore, and after random delays: afterwards the
 * home opens with either its old content or the backup's, never an empty or broken database.
 */
describe.skipIf(onPostgres)('db restore killed at any moment leaves the old data or the new (pglite)', () => {
  let root: string;
  let template: string;
  let backup: string;
  const OLD = { n: 100, first: 'old 1' };
  const NEW = { n: 250, first: 'new 1' };

  beforeAll(async () => {
    root = tmpDir('rv-restore-kill-');
    template = path.join(root, 'template');
    const source = path.join(root, 'source');
    const mk = async (h: string, n: number, word: string) => {
      const r = await runCli(['db', 'query', `CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t SELECT g, '${word} ' || g FROM generate_series(1, ${n}) g`, '--home', h]);
      expect(r.code, r.stderr).toBe(0);
    };
    await mk(template, OLD.n, 'old');
    await mk(source, NEW.n, 'new');
    const b = await runCli(['db', 'backup', '--home', source, '--backup-dir', path.join(root, 'b'), '--json']);
    expect(b.code, b.stderr).toBe(0);
    backup = json(b).path;
  }, 120_000);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  let copies = 0;
  const freshHome = () => {
    const h = path.join(root, `home-${copies++}`);
    fs.cpSync(template, h, { recursive: true });
    return h;
  };

  /** What the next open of the home does first (the call open.ts makes), then the content through the CLI. */
  const openAndRead = async (home: string) => {
    const lock = HomeLock.acquire(home, 'test');
    try {
      recoverInterruptedRestore(home);
    } finally {
      lock.releaseSync();
    }
    const r = await runCli(['db', 'query', `SELECT count(*)::int AS n, min(note) AS first FROM t`, '--json', '--home', home]);
    expect(r.code, r.stderr).toBe(0);
    const row = json(r).rows[0];
    // Only pgdata, the kept previous directory and the socket password remain: no journal, no half-built copy.
    expect(fs.readdirSync(home).filter((n) => n !== 'pgdata' && n !== 'pgpass' && !n.startsWith('pgdata.replaced-'))).toEqual([]);
    return row;
  };

  for (const step of RESTORE_STEPS) {
    it(`killed at "${step}"`, async () => {
      const home = freshHome();
      const p = spawnCli(['db', 'restore', backup, '--yes', '--home', home], { env: { ROBBIEVERSE_TEST_PAUSE_AT: step } });
      await waitForStderr(p, new RegExp(`paused at ${step}`), 60_000);
      p.child.kill('SIGKILL');
      expect((await p.done).signal).toBe('SIGKILL');
      // Before the journal the old data stays; once it is written the restore is finished.
      const expected = step === 'extracted' || step === 'checked' ? OLD : NEW;
      expect(await openAndRead(home)).toEqual(expected);
    }, 90_000);
  }

  it('killed after random delays: old or new each time', async () => {
    const seen: string[] = [];
    for (const delay of [300, 1500, 2500, 3500]) {
      const home = freshHome();
      const p = spawnCli(['db', 'restore', backup, '--yes', '--home', home]);
      await new Promise((r) => setTimeout(r, delay));
      p.child.kill('SIGKILL');
      await p.done;
      const row = await openAndRead(home);
      expect([OLD, NEW]).toContainEqual(row);
      seen.push(row.n === OLD.n ? 'old' : 'new');
    }
    expect(seen.length).toBe(4);
  }, 180_000);

  it('`db restore` itself finishes an interrupted swap before doing anything else', async () => {
    const home = freshHome();
    const p = spawnCli(['db', 'restore', backup, '--yes', '--home', home], { env: { ROBBIEVERSE_TEST_PAUSE_AT: 'aside' } });
    await waitForStderr(p, /paused at aside/, 60_000);
    p.child.kill('SIGKILL');
    await p.done;
    expect(fs.existsSync(path.join(home, 'pgdata'))).toBe(false); // the moment with neither in place
    const b = await runCli(['db', 'backup', '--home', home, '--backup-dir', path.join(root, 'b2')]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/finished the interrupted restore of .*; the previous data directory is kept at/);
    const r = await runCli(['db', 'query', `SELECT count(*)::int AS n FROM t`, '--json', '--home', home]);
    expect(json(r).rows[0].n).toBe(NEW.n);
  }, 90_000);
});
