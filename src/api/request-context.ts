import type { FastifyRequest } from 'fastify';
import type { Db, Queryable } from '../db/types.js';
import { readAsPrincipal, withPrincipal, type Principal } from './auth/principal.js';
import type { Scalar } from '../db/literal.js';
import type { Role } from './auth/roles.js';
import { credentialFrom } from './auth/tokens.js';

/** How routes reach the database: always as the request's principal, with row-level security on. */
export interface RequestContext {
  db: Db;
  run<T>(req: FastifyRequest, needed: Role, fn: (tx: Queryable, p: Principal) => Promise<T>): Promise<T>;
  /** One statement as the principal, in one round trip with the credential check. */
  read<R>(req: FastifyRequest, needed: Role, sql: string, params: Scalar[]): Promise<{ principal: Principal; rows: R[] }>;
}

export function requestContext(db: Db): RequestContext {
  return {
    db,
    run(req, needed, fn) {
      return withPrincipal(db, credentialFrom(req.headers), String(req.id), needed, fn);
    },
    read(req, needed, sql, params) {
      return readAsPrincipal(db, credentialFrom(req.headers), String(req.id), needed, sql, params);
    },
  };
}
