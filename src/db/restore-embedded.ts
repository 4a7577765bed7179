import fs from 'node:fs';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';
import type { MigrationFile } from '../migrate/files.js';
import { readHistory } from '../migrate/history.js';
import { checkBackupHistory } from './restore-server.js';
import { PgliteDb } from './pglite.js';
import { checkDataDirArchive, type ArchiveEntry } from './restore-archive.js';
import { asideDirName, completeSwap, fsyncPath, LIVE, newDirName, recoverInterruptedRestore, writeJournal, type RestoreJournal, type SwapStep } from './restore-journal.js';

/** Named moments of a restore, in order (the swap's after 'checked'). */
export type RestoreStep = 'extracted' | 'checked' | SwapStep;
export const RESTORE_STEPS: readonly RestoreStep[] = ['extracted', 'checked', 'journal', 'aside', 'swapped'];

export interface EmbeddedRestoreOptions {
  /** The migrations the archive's history must agree with (the code's own by default). */
  files: MigrationFile[];
  /** Called at each named moment; the kill tests pause the process there. */
  onStep?: (step: RestoreStep) => void;
}

export interface EmbeddedRestoreResult {
  dataDir: string;
  /** The previous data directory, kept (never deleted). */
  aside?: string;
  pgVersion: string;
  applied: number;
  pending: number;
  /** Notes from finishing an earlier interrupted restore, if there was one. */
  recovered?: string;
}

function extract(entries: ArchiveEntry[], dir: string): void {
  fs.mkdirSync(dir, { mode: 0o700 });
  const dirs = new Set<string>([dir]);
  const mkdir = (d: string) => {
    if (dirs.has(d)) return;
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    dirs.add(d);
  };
  for (const e of entries) {
    const target = path.join(dir, e.path);
    if (e.kind === 'dir') mkdir(target);
    else {
      mkdir(path.dirname(target));
      fs.writeFileSync(target, e.data, { mode: 0o600, flag: 'wx' });
    }
  }
}

/** fsyncs every file and directory under `dir`, deepest first, so the swap never exposes unwritten data. */
function fsyncTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else if (e.isFile()) fsyncPath(p);
  }
  fsyncPath(dir);
}

/** Opens the extracted copy on its own and checks that it answers and that its history fits the code. */
async function checkCopy(dir: string, file: string, pgVersion: string, files: MigrationFile[]): Promise<{ applied: number; pending: number }> {
  let db: PgliteDb;
  try {
    db = await PgliteDb.open(dir);
  } catch (err) {
    throw new RobbieverseError('E_BACKUP', `${file} holds a PostgreSQL ${pgVersion} data directory that the embedded PostgreSQL cannot open: ${(err as Error).message}`, {
      hint: 'restore it with the robbieverse version that made it; nothing was changed',
      cause: err,
    });
  }
  try {
    await db.query('SELECT count(*)::int AS n FROM pg_catalog.pg_class');
    return checkBackupHistory(file, files, await readHistory(db));
  } finally {
    await db.close();
  }
}

/**
 * Replaces the data directory of an embedded home with a backup made by `db backup`. The whole
 * archive is read and checked, extracted next to the live directory and opened there on its own
 * (it must answer, and its migration history must agree with `files`) before the live data is
 * touched; then a journaled two-rename swap puts it in place. The caller holds the home lock and
 * has the database closed. Killed at any moment, the home keeps the old data or gets the new —
 * recoverInterruptedRestore() tidies up what is left.
 */
export async function restoreEmbeddedHome(home: string, file: string, opts: EmbeddedRestoreOptions): Promise<EmbeddedRestoreResult> {
  const onStep = opts.onStep ?? (() => {});
  const recovered = recoverInterruptedRestore(home).message;
  let gz: Buffer;
  try {
    gz = fs.readFileSync(file);
  } catch (err) {
    throw new RobbieverseError('E_USAGE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const archive = checkDataDirArchive(gz, file);
  const newDir = newDirName();
  const scratch = path.join(home, newDir);
  let counts: { applied: number; pending: number };
  try {
    extract(archive.entries, scratch);
    onStep('extracted');
    counts = await checkCopy(scratch, file, archive.pgVersion, opts.files);
    fsyncTree(scratch);
    fsyncPath(home);
    onStep('checked');
  } catch (err) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  const live = path.join(home, LIVE);
  const journal: RestoreJournal = {
    version: 1,
    newDir,
    asideDir: asideDirName(home),
    hadLive: fs.existsSync(live),
    file: path.resolve(file),
    startedAt: new Date().toISOString(),
  };
  writeJournal(home, journal);
  onStep('journal');
  try {
    completeSwap(home, journal, onStep);
  } catch (err) {
    throw new RobbieverseError('E_BACKUP', `the restore of ${file} was checked but the swap failed: ${(err as Error).message}`, {
      hint: `run the same command again: it first finishes the swap recorded in ${path.join(home, "restore-journal.json")}`,
      cause: err,
    });
  }
  return {
    dataDir: live,
    aside: journal.hadLive ? path.join(home, journal.asideDir) : undefined,
    pgVersion: archive.pgVersion,
    ...counts,
    recovered,
  };
}
