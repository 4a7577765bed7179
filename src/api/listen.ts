import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { createApiServer, type ApiOptions } from './server.js';

export interface ListeningApi {
  app: FastifyInstance;
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:8787 (no trailing slash) */
  origin: string;
  close(): Promise<void>;
}

/** Builds the API and starts listening; a busy port becomes an error with a next step. */
export async function listenApi(opts: { db: Db; host: string; port: number; logger?: Logger; corsOrigins?: string[]; blocks?: ApiOptions['blocks']; embed?: ApiOptions['embed'] }): Promise<ListeningApi> {
  const app = await createApiServer({ db: opts.db, logger: opts.logger, corsOrigins: opts.corsOrigins, blocks: opts.blocks, embed: opts.embed });
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new RobbieverseError('E_CONFIG', `port ${opts.port} on ${opts.host} is already in use; the API cannot listen there`, {
        hint: 'choose another with --api-port (up) or --port (serve), or 0 for any free port; ROBBIEVERSE_API_PORT sets it for every run',
        cause: err,
      });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
      throw new RobbieverseError('E_CONFIG', `the API cannot listen on ${opts.host}:${opts.port} (${code})`, { hint: 'check the host (127.0.0.1, 0.0.0.0, or an address of this machine) and the port', cause: err });
    }
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { app, host, port: addr.port, origin: `http://${host}:${addr.port}`, close: () => app.close() };
}
