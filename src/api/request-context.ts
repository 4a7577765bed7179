import type { FastifyRequest } from 'fastify';
import type { Db, Queryable } from '../db/types.js';
import { withPrincipal, type Principal } from './auth/principal.js';
import type { Role } from './auth/roles.js';
import { credentialFrom } from './auth/tokens.js';

/** How routes reach the database: always as the request's principal, with row-level security on. */
export interface RequestContext {
  db: Db;
  run<T>(req: FastifyRequest, needed: Role, fn: (tx: Queryable, p: Principal) => Promise<T>): Promise<T>;
}

export function requestContext(db: Db): RequestContext {
  return {
    db,
    run(req, needed, fn) {
      return withPrincipal(db, credentialFrom(req.headers), String(req.id), needed, fn);
    },
  };
}
