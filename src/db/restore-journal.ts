import fs from 'node:fs';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';

/**
 * A restore swaps a fully built and checked data directory in for the live one with two
 * renames, recorded beforehand in a journal file in the home. Whatever moment a restore is
 * killed at, the home holds either the old data directory or the new one, and
 * recoverInterruptedRestore() turns it back into a plain home: before the journal exists the
 * half-built directory is discarded (old data stays); once it exists the swap is finished.
 */
export const JOURNAL = 'restore-journal.json';
export const LIVE = 'pgdata';
const NEW_RE = /^pgdata\.restoring-[0-9A-Za-z-]+$/;
const ASIDE_RE = /^pgdata\.replaced-[0-9A-Za-z-]+$/;

export interface RestoreJournal {
  version: 1;
  /** The checked data directory, next to the live one (relative to the home). */
  newDir: string;
  /** Where the live data directory goes (relative to the home). */
  asideDir: string;
  /** Whether the home had a data directory when the restore began. */
  hadLive: boolean;
  file: string;
  startedAt: string;
}

/** Named moments of the swap, for the kill tests (ROBBIEVERSE_TEST_PAUSE_AT). */
export type SwapStep = 'journal' | 'aside' | 'swapped';

export interface RecoveryOutcome {
  action: 'none' | 'discarded' | 'completed';
  /** What was done, for the command to print. */
  message?: string;
}

export const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const exists = (p: string) => fs.existsSync(p);

export function newDirName(): string {
  return `pgdata.restoring-${stamp()}-${process.pid}`;
}

export function asideDirName(home: string): string {
  for (let i = 0; ; i++) {
    const name = `pgdata.replaced-${stamp()}${i ? `-${i}` : ''}`;
    if (!exists(path.join(home, name))) return name;
  }
}

export function writeJournal(home: string, j: RestoreJournal): void {
  const file = path.join(home, JOURNAL);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(j, null, 2) + '\n', { mode: 0o600 });
  fsyncPath(tmp);
  fs.renameSync(tmp, file);
  fsyncPath(home);
}

function readJournal(home: string): RestoreJournal | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(home, JOURNAL), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let j: RestoreJournal;
  try {
    j = JSON.parse(text) as RestoreJournal;
  } catch (err) {
    throw journalError(home, 'it is not JSON', err);
  }
  if (j?.version !== 1 || !NEW_RE.test(String(j.newDir)) || !ASIDE_RE.test(String(j.asideDir)) || typeof j.hadLive !== 'boolean') {
    throw journalError(home, 'it does not name a restore this toolkit started');
  }
  return j;
}

function journalError(home: string, why: string, cause?: unknown): RobbieverseError {
  return new RobbieverseError('E_BACKUP', `cannot finish the interrupted restore in ${home}: ${path.join(home, JOURNAL)} is unreadable (${why})`, {
    hint: `look at the pgdata* directories in ${home}, keep the one you want as pgdata, then delete ${JOURNAL}`,
    cause,
  });
}

/**
 * Performs (or finishes) the swap the journal describes; every step checks what is already done,
 * so running it again after a crash at any point completes the same swap.
 */
export function completeSwap(home: string, j: RestoreJournal, onStep: (s: SwapStep) => void = () => {}): string[] {
  const live = path.join(home, LIVE);
  const nw = path.join(home, j.newDir);
  const aside = path.join(home, j.asideDir);
  const notes: string[] = [];
  if (exists(nw)) {
    if (exists(live)) {
      if (j.hadLive && !exists(aside)) {
        fs.renameSync(live, aside);
      } else {
        // Created after the old directory was moved aside, by something that opened the home
        // without finishing the restore first: keep it, but out of the way.
        const stray = path.join(home, `pgdata.unexpected-${stamp()}`);
        fs.renameSync(live, stray);
        notes.push(`a data directory created meanwhile was moved to ${stray}`);
      }
      fsyncPath(home);
    }
    onStep('aside');
    fs.renameSync(nw, live);
    fsyncPath(home);
  } else if (!exists(live) && exists(aside)) {
    // Cannot happen with this code; put the old data back rather than leave nothing.
    fs.renameSync(aside, live);
    fsyncPath(home);
    notes.push(`the restored directory was missing; the previous data directory was put back`);
  }
  onStep('swapped');
  fs.rmSync(path.join(home, JOURNAL), { force: true });
  fsyncPath(home);
  return notes;
}

/** Half-built data directories of restores that never reached the journal. */
function discardScratch(home: string, keep?: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(home);
  } catch {
    return [];
  }
  const gone: string[] = [];
  for (const n of names) {
    if (n !== keep && NEW_RE.test(n)) {
      fs.rmSync(path.join(home, n), { recursive: true, force: true });
      gone.push(n);
    }
  }
  for (const n of names) if (n.startsWith(`${JOURNAL}.`) && n.endsWith('.tmp')) fs.rmSync(path.join(home, n), { force: true });
  return gone;
}

/**
 * Brings a home left by an interrupted `db restore` back to one data directory. The caller holds
 * the home lock (HomeLock.acquire) and has not opened the data directory yet: call this between
 * the two. Fast and synchronous when there is nothing to do (one stat and one readdir).
 */
export function recoverInterruptedRestore(home: string): RecoveryOutcome {
  const j = readJournal(home);
  if (!j) {
    const gone = discardScratch(home);
    return gone.length
      ? { action: 'discarded', message: `an interrupted restore had not started swapping; its unfinished copy was deleted, the data directory is as it was` }
      : { action: 'none' };
  }
  const notes = completeSwap(home, j);
  discardScratch(home);
  return {
    action: 'completed',
    message: [`finished the interrupted restore of ${j.file} (started ${j.startedAt})${j.hadLive ? `; the previous data directory is kept at ${path.join(home, j.asideDir)}` : ''}`, ...notes].join('; '),
  };
}
