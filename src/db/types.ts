/** The database port: the only way the rest of the toolkit talks to PostgreSQL or PGlite. */
import type { Logger } from 'pino';
import type { Statement } from './read-once.js';

export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  fields: { name: string }[];
  rowCount: number;
}

export interface Queryable {
  /**
   * One statement, with `$1`-style parameters. `prepare`: keep the statement prepared on the
   * connection (named by a hash of its text), for hot statements of a bounded set.
   */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<QueryResult<R>>;
  /** Any number of statements, no parameters (simple protocol); returns the last result set. */
  exec(sql: string): Promise<QueryResult>;
}

export interface QueryOptions {
  prepare?: boolean;
}

export interface TransactionOptions {
  /**
   * Statements (no parameters) sent in the same round trip as BEGIN; their last result is
   * passed to the callback. Saves a round trip for the first work of a short transaction.
   */
  first?: string;
}

export type Engine = 'pglite' | 'postgres';

export interface Notification {
  channel: string;
  payload: string;
}

export interface ListenHandlers {
  onNotify(n: Notification): void;
  /**
   * Called after the connection was lost and LISTEN is in force again. Notifications sent while
   * it was down are lost (that is how NOTIFY works): re-read whatever state you keep in sync.
   */
  onReconnect?(): void;
  /** A failed reconnect attempt; another one follows. */
  onError?(err: Error): void;
}

export interface ListenOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
  logger?: Logger;
}

export interface Listener {
  close(): Promise<void>;
}

/**
 * What a Db can do, so callers ask the port instead of its class. Not to be confused with
 * `Capabilities` (server version and extensions, which migrations test).
 */
export interface DbCapabilities {
  /**
   * `many`: a pool of server connections that run side by side. `one-shared`: the single backend
   * of the embedded engine, shared by sessions that take turns (also when reached through the
   * socket of `robbieverse up`).
   */
  readonly sessions: 'many' | 'one-shared';
  /** The database runs in a process of its own (a server, or `up` behind its socket); false for in-process PGlite. */
  readonly serverProcess: boolean;
  /** How a backup is made: `pg_dump` of the server, or a tarball of the embedded data directory (by its owner). */
  readonly backup: 'pg_dump' | 'data-dir';
  /** This process can serve the database on a PostgreSQL socket of ours (`serveSocket`). */
  readonly socket: boolean;
  /** A running statement can be stopped (a cancel request; the embedded engine only with a data directory). */
  readonly interruptible: boolean;
  /**
   * The connection URL of a server, password included: for psql, pg_dump and pg_restore. Never
   * print it; `location` is the redacted form.
   */
  readonly url?: string;
}

export interface Db extends Queryable {
  readonly engine: Engine;
  /** Where the data lives, for messages: a directory, `memory://`, or a URL without password. */
  readonly location: string;
  readonly capabilities: DbCapabilities;
  /** Runs `fn` in one transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable, first: QueryResult | undefined) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * One round trip for a short read: `BEGIN; <first>; <then>; COMMIT` in a single message, both
   * statements kept prepared on the session (PREPARE once, then EXECUTE with the parameters
   * inlined as literals). If a statement fails nothing after it runs and the transaction is
   * rolled back.
   */
  readOnce(first: Statement, then: Statement): Promise<{ first: QueryResult; result: QueryResult }>;
  /** Runs `fn` on one pinned session (for session-level state such as advisory locks). */
  withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channels`. On a server over a connection of its own that survives restarts and
   * cut connections: it reconnects with jittered backoff, LISTENs again, then calls
   * `onReconnect`. On the embedded engine through its single backend.
   */
  listen(channels: string[], handlers: ListenHandlers, opts?: ListenOptions): Promise<Listener>;
  /**
   * A gzipped tarball of the whole data directory, consistent: only where `capabilities.backup`
   * is `data-dir` and this process owns the engine.
   */
  dumpDataDir?(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface Capabilities {
  engine: Engine;
  /** e.g. 150018 */
  serverVersionNum: number;
  serverVersion: string;
  /** Extensions the server could create (pg_available_extensions). */
  extensions: { vector: boolean; pg_trgm: boolean; pgcrypto: boolean };
  /** The embedding column type migrations use: pgvector's `vector`, else `real[]`. */
  embeddingType: 'vector' | 'real[]';
  /** A legacy Aurora database being (or having been) upgraded in place: its 8 tables already exist. */
  legacyUpgrade: boolean;
}

/** The names a migration can test with `-- @if NAME` (and `-- @if !NAME`). */
export const CAPABILITY_FLAGS = ['vector', 'pg_trgm', 'pgcrypto', 'pglite', 'legacy'] as const;
export type CapabilityFlag = (typeof CAPABILITY_FLAGS)[number];

export function capabilityFlags(c: Capabilities): Record<CapabilityFlag, boolean> {
  return {
    vector: c.extensions.vector,
    pg_trgm: c.extensions.pg_trgm,
    pgcrypto: c.extensions.pgcrypto,
    pglite: c.engine === 'pglite',
    legacy: c.legacyUpgrade,
  };
}

/** Asks the server itself, so a PGlite reached through its socket still counts as PGlite. */
export async function detectCapabilities(db: Queryable): Promise<Capabilities> {
  const { rows } = await db.query<{ num: string; version: string; full: string; vector: boolean; pg_trgm: boolean; pgcrypto: boolean; legacy: boolean }>(
    `SELECT current_setting('server_version_num') AS num, version() AS full,
            current_setting('server_version') AS version,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS vector,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS pg_trgm,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto') AS pgcrypto,
            to_regclass('robbieverse_meta.legacy_upgrade') IS NOT NULL AS legacy`,
  );
  const r = rows[0]!;
  return {
    engine: /PGlite/i.test(r.full) ? 'pglite' : 'postgres',
    serverVersionNum: Number(r.num),
    serverVersion: r.version,
    extensions: { vector: r.vector, pg_trgm: r.pg_trgm, pgcrypto: r.pgcrypto },
    embeddingType: r.vector ? 'vector' : 'real[]',
    legacyUpgrade: r.legacy,
  };
}
