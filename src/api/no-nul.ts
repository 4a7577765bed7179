import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { ApiError } from './errors.js';

/** Where in a JSON value a NUL character (U+0000) is, in a string or a key: PostgreSQL text and jsonb cannot hold one. */
export function findNul(v: unknown, path: string, depth = 0): string | undefined {
  if (typeof v === 'string') return v.includes('\u0000') ? path : undefined;
  if (v === null || typeof v !== 'object' || depth > 64) return undefined;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const at = Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`;
    if (k.includes('\u0000')) return at;
    const found = findNul(x, at, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * A preValidation hook: a NUL character in the path, query or body is a 400 (it would reach the
 * database and fail there as a 500: "invalid byte sequence" / "unsupported Unicode escape").
 */
export function rejectNul(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const at = findNul(req.params, 'params') ?? findNul(req.query, 'querystring') ?? findNul(req.body, 'body');
  if (at) return done(new ApiError(400, 'validation_failed', `${at}: must not contain the NUL character (\\u0000); remove it`, [{ path: at, message: 'must not contain the NUL character' }]));
  done();
}
