import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';
import type { MigrationFile } from '../migrate/files.js';
import { resetServerDatabase } from './reset.js';
import { checkDumpHistory } from './restore-server.js';
import { checkDataDirArchive } from './restore-archive.js';
import { fsyncPath, stamp } from './restore-journal.js';
import type { Db } from './types.js';
import { isAlive as alive } from './home-lock.js';

export interface BackupInfo {
  path: string;
  bytes: number;
  sha256: string;
  format: 'pg_dump-custom' | 'pglite-datadir';
  createdAt: string;
}

/** Labels become part of the file name: letters, digits, dot, dash, underscore. */
export const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

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

/** Creates the directory owner-only (0700) if it is missing; an existing one keeps its mode. */
export function prepareBackupDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new RobbieverseError('E_BACKUP', `cannot write backups to ${dir}: ${(err as Error).message}`, {
      hint: 'choose a writable directory with --backup-dir; nothing was changed',
      cause: err,
    });
  }
}

const PARTIAL_RE = /^\..+\.(\d+)-[0-9a-f]{8}\.partial$/;

/** Temporary files of backups whose process was killed (kill -9 mid-backup): never a backup, removed. */
function removeStalePartials(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = PARTIAL_RE.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
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
 * Writes a backup so that a file under the final name is always complete: produced under a
 * hidden temporary name in the same directory (0600), fsynced, verified, then linked to the
 * final name (which never replaces an existing file) and fsynced there. On any failure the
 * temporary file is removed and nothing is left behind.
 */
async function writeVerified(final: string, produce: (tmp: string) => Promise<void> | void, verify: (tmp: string) => void): Promise<void> {
  const dir = path.dirname(final);
  removeStalePartials(dir);
  const tmp = path.join(dir, `.${path.basename(final)}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.partial`);
  fs.writeFileSync(tmp, '', { flag: 'wx', mode: 0o600 });
  try {
    await produce(tmp);
    fs.chmodSync(tmp, 0o600);
    fsyncPath(tmp);
    if (fs.statSync(tmp).size === 0) throw new RobbieverseError('E_BACKUP', `the backup came out empty`, { hint: 'nothing was changed' });
    verify(tmp);
    fs.linkSync(tmp, final);
    fs.rmSync(tmp);
    fsyncPath(dir);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Reads a pg_dump custom archive from end to end without a database: its listing and every data block. */
export function checkDumpArchive(file: string): void {
  try {
    run('pg_restore', ['--list', file]);
    run('pg_restore', ['--file', '/dev/null', file]);
  } catch (err) {
    if (err instanceof RobbieverseError && /could not be started/.test(err.message)) throw err;
    throw new RobbieverseError('E_BACKUP', `${file} is not a complete pg_dump archive: ${(err as Error).message.replace(/^pg_restore failed: /, '')}`, {
      hint: 'use another backup file (db backup prints each one with its SHA-256); nothing was changed',
      cause: err,
    });
  }
}

function checkLabel(label: string): void {
  if (!LABEL_RE.test(label)) {
    throw new RobbieverseError('E_USAGE', `backup label ${JSON.stringify(label)} is not allowed`, {
      hint: 'use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    });
  }
}

/**
 * Backs up the whole database, and verifies the file before it gets its name. A server gets a
 * pg_dump custom-format archive (read end to end with pg_restore); the embedded database a
 * gzipped tarball of its data directory (gzip and tar structure checked; re-importable into
 * PGlite only). Files are owner-only (0600), never overwrite each other, and never exist half
 * written. The embedded database served by `robbieverse up` is backed up by that process, through
 * its control channel (see control-server.ts), not through its Postgres socket.
 */
export async function backupDatabase(db: Db, dir: string, label = 'backup'): Promise<BackupInfo> {
  checkLabel(label);
  const caps = db.capabilities;
  if (caps.backup === 'data-dir' && caps.serverProcess) {
    throw new RobbieverseError('E_BACKUP', 'cannot back up the embedded database through the Postgres socket of `robbieverse up`', {
      hint: 'run `robbieverse db backup --home DIR`: it asks the running `up` to make the backup; nothing was written',
    });
  }
  const url = caps.url;
  const dumpDataDir = db.dumpDataDir?.bind(db);
  prepareBackupDir(dir);
  if (caps.backup === 'pg_dump' && url) {
    const dbName = decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
    const file = freshPath(dir, `${dbName}-${stamp()}-${label}`, '.dump');
    await writeVerified(file, (tmp) => void run('pg_dump', ['--format=custom', '--file', tmp, url]), checkDumpArchive);
    return { path: file, bytes: fs.statSync(file).size, sha256: sha256(file), format: 'pg_dump-custom', createdAt: new Date().toISOString() };
  }
  if (caps.backup === 'data-dir' && dumpDataDir) {
    const base = db.location === 'memory://' ? 'memory' : path.basename(path.dirname(db.location)) || 'pglite';
    const file = freshPath(dir, `${base}-${stamp()}-${label}`, '.pglite.tar.gz');
    await writeVerified(
      file,
      async (tmp) => fs.writeFileSync(tmp, await dumpDataDir()),
      (tmp) => void checkDataDirArchive(fs.readFileSync(tmp), tmp),
    );
    return { path: file, bytes: fs.statSync(file).size, sha256: sha256(file), format: 'pglite-datadir', createdAt: new Date().toISOString() };
  }
  throw new RobbieverseError('E_BACKUP', `cannot back up a ${db.engine} database reached this way (${db.location})`, {
    hint: 'back up with --url for a server, or --home for the embedded database',
  });
}

/**
 * Replaces a server database's contents with a pg_dump custom archive. The archive is read end
 * to end first: a truncated or garbage file is refused before anything is emptied, and so is
 * one whose migration history does not fit `files` (made by a newer or different schema).
 */
export async function restoreServerDatabase(db: Db, file: string, files?: MigrationFile[]): Promise<void> {
  const url = db.capabilities.url;
  if (!url) {
    throw new RobbieverseError('E_USAGE', `cannot restore a pg_dump archive into ${db.location}: it is not a server`, {
      hint: 'restore into a server with --url; an embedded backup (.pglite.tar.gz) is restored with --home',
    });
  }
  checkDumpArchive(file);
  if (files) checkDumpHistory(file, files);
  await resetServerDatabase(db);
  // The archive recreates public's contents (extensions included); the emptied schema stays.
  run('pg_restore', ['--exit-on-error', '--no-owner', '--dbname', url, file]);
}
