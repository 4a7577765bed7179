import { RobbieverseError } from '../errors.js';
import type { PgliteDb } from './pglite.js';

export interface ServedSocket {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Serves an embedded database on a local Postgres-protocol socket, so other processes (the CLI,
 * psql, programs using `pg`) can use it while this process holds the files.
 */
export async function serveSocket(
  db: PgliteDb,
  host: string,
  port: number,
  maxConnections = 16,
  opts: { onActivity?: () => void } = {},
): Promise<ServedSocket> {
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const server = new PGLiteSocketServer({ db: db.pg, host, port, maxConnections });
  if (opts.onActivity) {
    // NOTIFY sent by a socket client's transaction is not delivered to this process's own
    // listeners (the socket passes the wire protocol straight through), so callers that wait
    // for notifications are told instead that a socket client did something.
    const seen = new WeakSet<object>();
    const onActivity = opts.onActivity;
    server.addEventListener('connection', () => {
      for (const h of (server as unknown as { handlers: Set<EventTarget> }).handlers ?? []) {
        if (seen.has(h)) continue;
        seen.add(h);
        h.addEventListener('data', () => onActivity());
      }
    });
  }
  try {
    await server.start();
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
  const [, p] = server.getServerConn().split(/:(?=\d+$)/);
  return { host, port: Number(p), stop: () => server.stop() };
}
