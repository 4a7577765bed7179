import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { RobbieverseError } from '../errors.js';
import { HomeLock, lockedError, lockHolder } from './home-lock.js';
import { PgliteDb } from './pglite.js';
import { PostgresDb } from './postgres.js';
import type { Db } from './types.js';
import { recoverInterruptedRestore } from './restore-journal.js';
import { ensureSocketPassword, generatedPassword, readSocketPassword, socketPasswordFile } from './socket-password.js';

export type OpenedVia = 'embedded' | 'memory' | 'socket' | 'postgres';

export interface OpenedDb {
  db: Db;
  via: OpenedVia;
  /** Data directory of the embedded database (embedded and socket). */
  dataDir?: string;
  /** Held while this process owns the embedded home. */
  lock?: HomeLock;
  /** Set when opening finished (or undid) a restore that had been interrupted: what was done. */
  recovered?: string;
  /** The password this process's embedded socket asks for (embedded and memory). */
  socketPassword?: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Shown to a second process that finds the home locked. */
  command: string;
  /** Refuse to go through another process's socket (for `db reset`, `up`). */
  exclusive?: boolean;
  logger?: Logger;
}

export function dataDirOf(home: string): string {
  return path.join(home, 'pgdata');
}

/** A URL for the embedded socket; with `password` for this toolkit's own connections, never for printing. */
export function socketUrl(socket: { host: string; port: number }, password?: string): string {
  const auth = password ? `postgres:${encodeURIComponent(password)}` : 'postgres';
  return `postgres://${auth}@${socket.host}:${socket.port}/postgres?sslmode=disable`;
}

/**
 * Opens the configured database: a server URL, a throwaway memory database, or the embedded
 * home. When another process holds the home and serves it on a socket (`robbieverse up`),
 * this connects through that socket instead of opening the files a second time.
 */
export async function openDatabase(cfg: Config, opts: OpenOptions): Promise<OpenedDb> {
  if (cfg.url === 'memory://') {
    const db = await PgliteDb.open();
    return { db, via: 'memory', socketPassword: generatedPassword(), close: () => db.close() };
  }
  if (cfg.url) {
    const db = await PostgresDb.open(cfg.url, { logger: opts.logger });
    return { db, via: 'postgres', close: () => db.close() };
  }
  const dataDir = dataDirOf(cfg.home);
  const holder = lockHolder(cfg.home);
  if (holder) {
    if (holder.socket && !opts.exclusive) {
      const password = readSocketPassword(cfg.home);
      if (!password) {
        throw new RobbieverseError('E_CONNECT', `${cfg.home} is served by process ${holder.pid}, but its socket password (${socketPasswordFile(cfg.home)}) cannot be read`, {
          hint: 'run this command as the user who owns the home',
        });
      }
      const db = await PostgresDb.open(socketUrl(holder.socket, password), { logger: opts.logger, max: 1 }).catch((err) => {
        throw new RobbieverseError(
          'E_CONNECT',
          `${cfg.home} is served by process ${holder.pid} on ${holder.socket!.host}:${holder.socket!.port}, but that socket does not answer`,
          { hint: `check that process ${holder.pid} is healthy, or stop it and try again`, cause: err },
        );
      });
      return { db, via: 'socket', dataDir, close: () => db.close() };
    }
    throw lockedError(cfg.home, holder);
  }
  const lock = HomeLock.acquire(cfg.home, opts.command);
  try {
    // A restore killed between its renames is finished (or its half-built copy dropped) first.
    const recovered = recoverInterruptedRestore(cfg.home);
    if (recovered.message) opts.logger?.warn({ home: cfg.home }, recovered.message);
    const socketPassword = ensureSocketPassword(cfg.home);
    const db = await PgliteDb.open(dataDir);
    return {
      db,
      via: 'embedded',
      dataDir,
      lock,
      socketPassword,
      recovered: recovered.message,
      close: async () => {
        try {
          await db.close();
        } finally {
          lock.releaseSync();
        }
      },
    };
  } catch (err) {
    lock.releaseSync();
    throw new RobbieverseError('E_CONNECT', `cannot open the embedded database in ${dataDir}: ${(err as Error).message}`, {
      hint: 'if the directory is damaged, restore it from a backup or move it away and run again',
      cause: err,
    });
  }
}
