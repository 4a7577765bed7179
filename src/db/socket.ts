import type { Logger } from 'pino';
import { RobbieverseError } from '../errors.js';
import { startEmbeddedSocket } from './embedded/socket-server.js';
import { PgliteDb } from './pglite.js';
import type { Db } from './types.js';
import { DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS, DEFAULT_STATEMENT_TIMEOUT_MS } from '../config.js';

export interface ServedSocket {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export interface SocketOptions {
  /** The password clients must give (SCRAM-SHA-256) as user `postgres`. */
  password: string;
  maxConnections?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** Called after every exchange of a socket client. */
  onActivity?: () => void;
  logger?: Logger;
}


/**
 * Serves an embedded database on a local Postgres-protocol socket, so other processes (the CLI,
 * psql, programs using `pg`) can use it while this process holds the files. Each connection is a
 * session of its own and must sign in with the home's password. Only where `capabilities.socket`.
 */
export async function serveSocket(db: Db, host: string, port: number, opts: SocketOptions): Promise<ServedSocket> {
  if (!db.capabilities.socket || !(db instanceof PgliteDb)) {
    throw new RobbieverseError('E_USAGE', `cannot serve ${db.location} on a socket: only an embedded database this process opened can be`, {
      hint: 'connect to a server directly with its URL',
    });
  }
  try {
    return await startEmbeddedSocket(db.embedded, {
      host,
      port,
      password: opts.password,
      maxConnections: opts.maxConnections,
      statementTimeoutMs: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      onActivity: opts.onActivity,
      logger: opts.logger,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RobbieverseError('E_CONNECT', `cannot serve the embedded database on ${host}:${port}: ${(err as Error).message}`, {
      hint:
        code === 'EADDRINUSE'
          ? `another program uses port ${port}; choose another with --port N or ROBBIEVERSE_SOCKET_PORT (0 picks a free one)`
          : 'check the host and port settings',
      cause: err,
    });
  }
}
