import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, engineName, onPostgres, tmpDir, type TestTarget } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';
import { contentChecksum, modeOf } from '../db/restore-helpers.js';
import { META_DDL } from '../../src/migrate/history.js';

describe(`backup files are owner-only and whole; damaged dumps are refused before anything is emptied (${engineName})`, () => {
  let t: TestTarget;
  let root: string;
  let backup: string;
  beforeAll(async () => {
    t = await createTarget();
    root = tmpDir('rv-backup-files-');
    const r = await runCli(['db', 'query', `CREATE TABLE kept (id int PRIMARY KEY, note text); INSERT INTO kept SELECT g, md5(g::text) FROM generate_series(1, 20000) g`, ...t.args]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('writes a 0600 file into a 0700 directory it creates, and nothing else', async () => {
    const dir = path.join(root, 'new', 'backups');
    const b = await runCli(['db', 'backup', '--backup-dir', dir, '--json', ...t.args]);
    expect(b.code, b.stderr).toBe(0);
    backup = json(b).path;
    expect(modeOf(backup)).toBe(0o600);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(root, 'new'))).toBe(0o700);
    expect(modeOf(path.join(root, 'new', 'backups'))).toBe(0o700);
    expect(fs.readdirSync(dir)).toEqual([path.basename(backup)]);
    expect(json(b).sha256).toBe(crypto.createHash('sha256').update(fs.readFileSync(backup)).digest('hex'));
    // the temporary file of a backup killed half-way (its process is gone) is cleared away
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = `.x-backup.dump.${dead}-0badf00d.partial`;
    fs.writeFileSync(path.join(dir, stale), 'half');
    const again = await runCli(['db', 'backup', '--backup-dir', dir, '--json', ...t.args]);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(backup), path.basename(json(again).path)].sort());
  });

  it.skipIf(!onPostgres)('a pg_dump that fails leaves no file behind', async () => {
    const dir = path.join(root, 'failed');
    // A pg_dump that writes half an archive, then fails (a dropped connection, a full disk).
    const bin = path.join(root, 'fake-bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'pg_dump'), '#!/bin/sh\nwhile [ "$1" != "--file" ]; do shift; done\nprintf PGDMP-half > "$2"\necho "connection lost" >&2\nexit 1\n', { mode: 0o755 });
    const r = await runCli(['db', 'backup', '--backup-dir', dir, ...t.args], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_dump failed: connection lost/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.skipIf(!onPostgres)('refuses truncated and garbage .dump files before emptying the database', async () => {
    const before = await contentChecksum(t.args);
    const full = fs.readFileSync(backup);
    const bad = {
      truncated: full.subarray(0, Math.floor(full.length * 0.6)),
      garbage: crypto.randomBytes(20000),
      'header only': full.subarray(0, 200),
    };
    for (const [name, data] of Object.entries(bad)) {
      const f = path.join(root, `${name.replace(' ', '-')}.dump`);
      fs.writeFileSync(f, data);
      const r = await runCli(['db', 'restore', f, '--yes', ...t.args]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/is not a complete pg_dump archive/);
      expect(r.stderr).toMatch(/nothing was changed/);
      expect(await contentChecksum(t.args)).toBe(before);
    }
    // and the good one still restores
    await runCli(['db', 'query', 'DELETE FROM kept', ...t.args]);
    const r = await runCli(['db', 'restore', backup, '--yes', ...t.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(await contentChecksum(t.args)).toBe(before);
  }, 120_000);

  it.skipIf(!onPostgres)('refuses a .dump made by a newer schema before emptying the database', async () => {
    const before = await contentChecksum(t.args);
    const newer = await t.sibling();
    try {
      const q = await runCli(['db', 'query', `${META_DDL} INSERT INTO robbieverse_meta.schema_migrations (version, name, checksum) VALUES (9999, '9999-from-the-future', 'abc')`, ...newer.args]);
      expect(q.code, q.stderr).toBe(0);
      const b = await runCli(['db', 'backup', '--backup-dir', path.join(root, 'newer'), '--json', ...newer.args]);
      expect(b.code, b.stderr).toBe(0);
      const r = await runCli(['db', 'restore', json(b).path, '--yes', ...t.args]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/refusing to restore .*: its migration history does not fit[\s\S]*9999-from-the-future[\s\S]*ahead of the code/);
      expect(await contentChecksum(t.args)).toBe(before);
    } finally {
      await newer.cleanup();
    }
  }, 120_000);

  it.skipIf(onPostgres)('an existing home readable by others is made owner-only, with a notice once', async () => {
    const home = path.join(root, 'open-home');
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chmodSync(home, 0o755);
    const first = await runCli(['db', 'backup', '--home', home, '--backup-dir', path.join(root, 'b')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/open-home was accessible to other users \(mode 755\); it is now owner-only \(700\)/);
    expect(modeOf(home)).toBe(0o700);
    const second = await runCli(['db', 'backup', '--home', home, '--backup-dir', path.join(root, 'b')]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/owner-only/);
  }, 150_000);
});
