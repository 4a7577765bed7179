import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';

/**
 * PGlite does not stop two processes from opening one data directory; if that happens they
 * silently diverge and corrupt it. Every process that opens an embedded home holds this lock.
 */
export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
  /** Set by `robbieverse up` when it serves the database on a local socket. */
  socket?: { host: string; port: number };
}

export function lockPath(home: string): string {
  return path.join(home, 'lock.json');
}

/** Whether process `pid` exists on this machine (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLock(home: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(lockPath(home), 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** The live holder of the lock, if any (a lock left by a dead process does not count). */
export function lockHolder(home: string): LockInfo | undefined {
  const info = readLock(home);
  if (!info) return undefined;
  if (info.hostname !== os.hostname()) return info; // cannot check another machine's pid
  return isAlive(info.pid) ? info : undefined;
}

/**
 * Creates the home owner-only (0700), or tightens an existing one this user owns: it holds the
 * data directory and lock files, and everything inside inherits the protection. Returns the mode
 * it had when it was tightened (for a one-time notice), else undefined.
 */
export function ensurePrivateHome(home: string): number | undefined {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const st = fs.statSync(home);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0 || st.uid !== process.getuid?.()) return undefined;
  fs.chmodSync(home, 0o700);
  return mode;
}

function writeAtomically(file: string, info: LockInfo, exclusive: boolean): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  try {
    if (exclusive) fs.linkSync(tmp, file); // fails with EEXIST: create-if-absent, with content
    else fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export class HomeLock {
  private released = false;
  private readonly onExit = () => this.releaseSync();

  private constructor(
    readonly home: string,
    private info: LockInfo,
    /** The home's mode before this process made it owner-only (0700), when it had to. */
    readonly tightenedFrom?: number,
  ) {
    process.on('exit', this.onExit);
  }

  static acquire(home: string, command: string): HomeLock {
    const tightenedFrom = ensurePrivateHome(home);
    const file = lockPath(home);
    const info: LockInfo = {
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: new Date().toISOString(),
      command,
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        writeAtomically(file, info, true);
        return new HomeLock(home, info, tightenedFrom);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = lockHolder(home);
      if (holder) throw lockedError(home, holder);
      // Left behind by a process that died (kill -9, power loss): take it over.
      fs.rmSync(file, { force: true });
    }
    throw new RobbieverseError('E_HOME_LOCKED', `could not take the lock on ${home}`, {
      hint: 'another process keeps creating it; stop other robbieverse processes and try again',
    });
  }

  /** Publishes the socket address so other commands can reach the database through it. */
  setSocket(socket: { host: string; port: number } | undefined): void {
    this.info = { ...this.info, socket };
    if (!this.released) writeAtomically(lockPath(this.home), this.info, false);
  }

  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    const current = readLock(this.home);
    if (current?.pid === this.info.pid) fs.rmSync(lockPath(this.home), { force: true });
  }
}

export function lockedError(home: string, holder: LockInfo): RobbieverseError {
  return new RobbieverseError(
    'E_HOME_LOCKED',
    `the embedded database in ${home} is open in process ${holder.pid} (${holder.command}, since ${holder.startedAt})`,
    {
      hint:
        `wait for it to finish, stop it (kill ${holder.pid}), or use another home (--home DIR) or a server (--url / DATABASE_URL). ` +
        `While \`robbieverse up\` holds a home, other commands reach it through its socket.`,
      details: { ...holder },
    },
  );
}

/** The one-time notice for a home that was readable by others and is now owner-only. */
export function tightenedNotice(home: string, from: number): string {
  return `${home} was accessible to other users (mode ${from.toString(8)}); it is now owner-only (700)`;
}
