import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { META_DDL } from '../../src/migrate/history.js';
import { onPostgres, tmpDir } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';
import { contentChecksum, treeHash } from './restore-helpers.js';

/** Sets PG_VERSION inside an embedded backup to `version` (same length, so the tar stays valid). */
function withPgVersion(gz: Buffer, version: string): Buffer {
  const tar = zlib.gunzipSync(gz);
  for (let off = 0; off < tar.length; off += 512) {
    const name = tar.subarray(off, off + 100).toString('latin1').replace(/\0.*$/s, '');
    if (name === '/PG_VERSION' || name === 'PG_VERSION') {
      const cur = tar.subarray(off + 512, off + 514).toString();
      expect(cur).toMatch(/^\d\d$/);
      tar.write(version, off + 512, 'latin1');
      return zlib.gzipSync(tar);
    }
  }
  throw new Error('no PG_VERSION in the archive');
}

describe.skipIf(onPostgres)('db restore refuses bad embedded archives and leaves the live data untouched (pglite)', () => {
  let root: string;
  let home: string;
  let good: string;
  let before: string;
  let beforeTree: string;
  const files: Record<string, string> = {};

  const backupOf = async (h: string, sql: string) => {
    const q = await runCli(['db', 'query', sql, '--home', h]);
    expect(q.code, q.stderr).toBe(0);
    const b = await runCli(['db', 'backup', '--home', h, '--backup-dir', path.join(root, 'b'), '--json']);
    expect(b.code, b.stderr).toBe(0);
    return json(b).path as string;
  };

  beforeAll(async () => {
    root = tmpDir('rv-restore-refuse-');
    home = path.join(root, 'live');
    good = await backupOf(home, `CREATE TABLE kept (id int PRIMARY KEY, note text); INSERT INTO kept SELECT g, 'live ' || g FROM generate_series(1, 300) g`);
    const first = embeddedMigrations()[0]!;
    files.ahead = await backupOf(path.join(root, 'newer'), `${META_DDL}
      INSERT INTO robbieverse_meta.schema_migrations (version, name, checksum) VALUES (9999, '9999-from-the-future', 'abc')`);
    files.edited = await backupOf(path.join(root, 'edited'), `${META_DDL}
      INSERT INTO robbieverse_meta.schema_migrations (version, name, checksum) VALUES (${first.version}, '${first.name}', '${'0'.repeat(64)}')`);
    const gz = fs.readFileSync(good);
    const put = (name: string, data: Buffer) => {
      const p = path.join(root, `${name}.pglite.tar.gz`);
      fs.writeFileSync(p, data);
      files[name] = p;
    };
    put('truncated', gz.subarray(0, Math.floor(gz.length / 2)));
    put('garbage', crypto.randomBytes(65536));
    put('gzipped-garbage', zlib.gzipSync(crypto.randomBytes(65536)));
    const plain = path.join(root, 'plain');
    fs.mkdirSync(plain);
    fs.writeFileSync(path.join(plain, 'notes.txt'), 'not a database');
    const t = spawnSync('tar', ['-czf', path.join(root, 'not-pgdata.pglite.tar.gz'), '-C', plain, '.']);
    expect(t.status, String(t.stderr)).toBe(0);
    files['not-pgdata'] = path.join(root, 'not-pgdata.pglite.tar.gz');
    put('pg17', withPgVersion(gz, '17'));
    before = await contentChecksum(['--home', home]);
    beforeTree = treeHash(path.join(home, 'pgdata'));
  }, 180_000);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const cases: [string, number, RegExp][] = [
    ['truncated', 1, /not a usable embedded backup: the gzip stream is truncated or damaged/],
    ['garbage', 1, /not a usable embedded backup: the gzip stream is truncated or damaged/],
    ['gzipped-garbage', 1, /not a usable embedded backup: tar header at byte 0 is damaged/],
    ['not-pgdata', 1, /not a usable embedded backup: it has no PG_VERSION: not a PostgreSQL data directory/],
    ['pg17', 1, /holds a PostgreSQL 17 data directory that the embedded PostgreSQL cannot open/],
    ['ahead', 3, /refusing to restore .*: its migration history does not fit[\s\S]*9999-from-the-future[\s\S]*ahead of the code[\s\S]*hint: the backup was made by a newer robbieverse/],
    ['edited', 3, /refusing to restore .*: its migration history does not fit[\s\S]*was changed after it was applied/],
  ];
  for (const [name, code, message] of cases) {
    it(`refuses the ${name} archive; the live data directory is byte-identical and nothing is left over`, async () => {
      const r = await runCli(['db', 'restore', files[name]!, '--yes', '--home', home]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/nothing was changed/);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // an error with a hint, not a stack trace
      expect(treeHash(path.join(home, 'pgdata'))).toBe(beforeTree);
      // Nothing left over: the data directory and the socket password the home was made with.
      expect(fs.readdirSync(home).sort()).toEqual(['pgdata', 'pgpass']);
    }, 60_000);
  }

  it('the live database still answers with the same content, and a good archive restores over it', async () => {
    expect(await contentChecksum(['--home', home])).toBe(before);
    const q = await runCli(['db', 'query', 'DELETE FROM kept WHERE id > 5', '--home', home]);
    expect(q.code, q.stderr).toBe(0);
    const r = await runCli(['db', 'restore', good, '--yes', '--home', home]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the previous data directory was kept at .*pgdata\.replaced-/);
    expect(await contentChecksum(['--home', home])).toBe(before);
  }, 60_000);
});
