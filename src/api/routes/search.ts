import type { FastifyInstance } from 'fastify';
import { RobbieverseError } from '../../errors.js';
import { activeEmbedder, readState } from '../../memory/models.js';
import { checkQuery, embedQuery, KINDS, MODES, parseKinds, searchMemory, type Kind, type Mode } from '../../memory/search.js';
import { ApiError, badRequest } from '../errors.js';
import type { RequestContext } from '../request-context.js';

const err = { '4xx': { $ref: 'error#' } } as const;

export interface SearchRouteOptions {
  /** For a provider that needs one (OpenAI-compatible); never stored in the database. */
  apiKey?: string;
  timeoutMs?: number;
}

const query = (extra: Record<string, unknown> = {}) => ({
  type: 'object', required: ['q'], additionalProperties: false,
  properties: {
    q: { type: 'string', minLength: 1, maxLength: 2000, description: 'what to look for' },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    mode: { type: 'string', enum: [...MODES], default: 'hybrid', description: 'hybrid (full-text and vectors fused by reciprocal rank), vector or text' },
    ...extra,
  },
});

/** Memory search for signed-in users, inside their organization and under its privacy rules. */
export async function searchRoutes(api: FastifyInstance, rc: RequestContext, o: SearchRouteOptions = {}): Promise<void> {
  const run = async (req: Parameters<RequestContext['run']>[0], q: string, kinds: Kind[], limit: number, mode: Mode) => {
    try {
      checkQuery(q);
    } catch (e) {
      throw badRequest(`${(e as RobbieverseError).message}; ${(e as RobbieverseError).hint ?? ''}`.replace(/; $/, ''));
    }
    // The credential is checked first; the query is embedded between the two transactions, so
    // no session waits on the provider and nobody unauthenticated makes it work.
    const state = await rc.run(req, 'viewer', (tx) => readState(tx));
    const vector = await embedQuery(state, activeEmbedder(state, o.apiKey, o.timeoutMs), q, mode).catch((e: unknown) => {
      if (e instanceof RobbieverseError && e.code === 'E_USAGE') throw badRequest(e.message);
      if (e instanceof RobbieverseError && e.code === 'E_EMBEDDER') throw new ApiError(503, 'embedder_unavailable', e.message, { hint: e.hint });
      throw e;
    });
    return rc.run(req, 'viewer', (tx) => searchMemory(tx, state, vector, { query: q, kinds, limit, mode }));
  };

  api.get('/search', {
    schema: {
      tags: ['Memory'], summary: 'Search messages, notes, knowledge and code of your organization (hybrid full-text + vector)',
      description: 'Each hit says where it comes from (table, id, title, snippet) and its score parts (text rank, vector rank and similarity). Only rows you may read are searched.',
      querystring: query({ in: { type: 'string', maxLength: 200, description: `comma-separated: ${KINDS.join(', ')} (default messages,notes,knowledge,code)` } }),
      response: err,
    },
  }, async (req) => {
    const qs = req.query as { q: string; in?: string; limit: number; mode: Mode };
    let kinds: Kind[];
    try {
      kinds = parseKinds(qs.in);
    } catch (e) {
      throw badRequest(`${(e as RobbieverseError).message}; ${(e as RobbieverseError).hint ?? ''}`.replace(/; $/, ''));
    }
    return run(req, qs.q, kinds, qs.limit, qs.mode);
  });

  api.get('/code/search', {
    schema: {
      tags: ['Memory'], summary: 'Search code conversations and saved code blocks; with the learned patterns closest to the query',
      querystring: query({ patterns: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'how many learned patterns to add (by similarity)' } }),
      response: err,
    },
  }, async (req) => {
    const qs = req.query as { q: string; limit: number; mode: Mode; patterns: number };
    const code = await run(req, qs.q, ['code'], qs.limit, qs.mode);
    const patterns = qs.patterns > 0 ? (await run(req, qs.q, ['patterns'], qs.patterns, code.model ? 'vector' : 'text')).hits : [];
    return { ...code, patterns };
  });
}
