import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';
import { PgliteDb } from './pglite.js';
import { PostgresDb } from './postgres.js';
import { resetServerDatabase } from './reset.js';
import type { Db } from './types.js';

export interface BackupInfo {
  path: string;
  bytes: number;
  sha256: string;
  format: 'pg_dump-custom' | 'pglite-datadir';
  createdAt: string;
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A path in `dir` that does not exist yet: backups never overwrite each other. */
function freshPath(dir: string, base: string, ext: string): string {
  for (let i = 0; ; i++) {
    const p = path.join(dir, `${base}${i ? `-${i}` : ''}${ext}`);
    if (!fs.existsSync(p)) return p;
  }
}

function prepareDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new RobbieverseError('E_BACKUP', `cannot write backups to ${dir}: ${(err as Error).message}`, {
      hint: 'choose a writable directory with --backup-dir; nothing was changed',
      cause: err,
    });
  }
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.error) {
    throw new RobbieverseError('E_BACKUP', `${cmd} could not be started: ${r.error.message}`, {
      hint: `install the PostgreSQL client tools (${cmd}) matching the server's major version`,
      cause: r.error,
    });
  }
  if (r.status !== 0) throw new RobbieverseError('E_BACKUP', `${cmd} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Backs up the whole database before a risky change, and verifies the file. A server gets a
 * pg_dump custom-format archive (checked with pg_restore --list); the embedded database a dump
 * of its data directory (re-importable into PGlite only).
 */
export async function backupDatabase(db: Db, dir: string, label = 'backup'): Promise<BackupInfo> {
  prepareDir(dir);
  if (db instanceof PostgresDb) {
    const dbName = decodeURIComponent(new URL(db.url).pathname.slice(1)) || 'postgres';
    const file = freshPath(dir, `${dbName}-${stamp()}-${label}`, '.dump');
    run('pg_dump', ['--format=custom', '--file', file, db.url]);
    const listing = run('pg_restore', ['--list', file]);
    if (!/TABLE DATA|TABLE /.test(listing) && fs.statSync(file).size === 0) {
      throw new RobbieverseError('E_BACKUP', `the backup ${file} is empty or unreadable`, { hint: 'nothing was changed' });
    }
    return { path: file, bytes: fs.statSync(file).size, sha256: sha256(file), format: 'pg_dump-custom', createdAt: new Date().toISOString() };
  }
  if (db instanceof PgliteDb) {
    const base = db.location === 'memory://' ? 'memory' : path.basename(path.dirname(db.location)) || 'pglite';
    const file = freshPath(dir, `${base}-${stamp()}-${label}`, '.pglite.tar.gz');
    fs.writeFileSync(file, await db.dumpDataDir(), { flag: 'wx' });
    if (fs.statSync(file).size === 0) throw new RobbieverseError('E_BACKUP', `the backup ${file} is empty`, { hint: 'nothing was changed' });
    return { path: file, bytes: fs.statSync(file).size, sha256: sha256(file), format: 'pglite-datadir', createdAt: new Date().toISOString() };
  }
  throw new RobbieverseError('E_BACKUP', 'cannot back up through the socket of a running `robbieverse up`', {
    hint: 'stop `up` first (Ctrl-C), then run the command again',
  });
}

/** Replaces a server database's contents with a pg_dump custom archive. */
export async function restoreServerDatabase(db: PostgresDb, file: string): Promise<void> {
  run('pg_restore', ['--list', file]);
  await resetServerDatabase(db);
  // The archive recreates public's contents (extensions included); the emptied schema stays.
  run('pg_restore', ['--exit-on-error', '--no-owner', '--dbname', db.url, file]);
}

/**
 * Replaces an embedded data directory with a data-directory dump. The current directory is moved
 * aside (its path is returned), never deleted.
 */
export async function restoreEmbeddedDatabase(dataDir: string, file: string): Promise<string | undefined> {
  const blob = new Blob([fs.readFileSync(file)]);
  let aside: string | undefined;
  if (fs.existsSync(dataDir)) {
    aside = `${dataDir}.replaced-${stamp()}`;
    fs.renameSync(dataDir, aside);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const pg = await PGlite.create(dataDir, { extensions: { vector }, loadDataDir: blob });
  await pg.query('SELECT 1');
  await pg.close();
  return aside;
}
