import type { FastifyInstance } from 'fastify';
import { notFound } from '../errors.js';
import type { RequestContext } from '../request-context.js';
import { isUuid } from '../ids.js';

const err = { '4xx': { $ref: 'error#' } } as const;

/** AI personalities' live state and AI usage totals. */
export async function aiRoutes(api: FastifyInstance, rc: RequestContext): Promise<void> {
  api.get('/personalities/:id/state', {
    schema: {
      tags: ['AI'], summary: 'Current state of a personality (network-wide) and toward you',
      params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 100, description: 'personality id or slug' } } },
      response: err,
    },
  }, async (req) => {
    const id = (req.params as { id: string }).id;
    return rc.run(req, 'viewer', async (tx, p) => {
      const uuid = isUuid(id);
      const { rows } = await tx.query<{ r: unknown }>(
        `SELECT row_to_json(x) AS r FROM (
           SELECT a.id AS personality_id, a.slug, a.name,
                  (SELECT row_to_json(s) FROM (SELECT current_mood, current_mode, energy_level, focus_state, last_state_change_at, state_metadata
                                                 FROM ai_personality_state WHERE personality_id = a.id) s) AS network_state,
                  (SELECT row_to_json(r) FROM robbie_personality_state r WHERE r.user_id = $2 LIMIT 1) AS toward_you
             FROM ai_personalities a WHERE ${uuid ? 'a.id = $1::uuid' : 'a.slug = $1'}) x`,
        [id, p.userId],
      );
      if (!rows[0]) throw notFound(`personality ${id}`);
      return rows[0].r;
    });
  });

  api.get('/ai-usage/summary', {
    schema: {
      tags: ['AI'], summary: 'AI calls, tokens and cost per model over a period (default: the last 30 days)',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } },
      },
      response: err,
    },
  }, async (req) => {
    const qs = req.query as { from?: string; to?: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: { models: unknown[]; total_cost_usd: number; total_calls: number; total_tokens: number; from: string; to: string } }>(
        `WITH span AS (SELECT coalesce($1::timestamptz, now() - interval '30 days') AS f, coalesce($2::timestamptz, now()) AS t),
              m AS (SELECT model_name, model_provider, count(*)::int AS calls, coalesce(sum(total_tokens), 0)::bigint AS tokens,
                           coalesce(sum(cost_usd), 0)::float8 AS cost_usd, count(*) FILTER (WHERE NOT success)::int AS failures
                      FROM ai_model_usage, span WHERE created_at >= span.f AND created_at < span.t
                     GROUP BY model_name, model_provider)
         SELECT json_build_object(
                  'from', (SELECT f FROM span), 'to', (SELECT t FROM span),
                  'total_calls', coalesce((SELECT sum(calls) FROM m), 0)::int,
                  'total_tokens', coalesce((SELECT sum(tokens) FROM m), 0)::bigint,
                  'total_cost_usd', coalesce((SELECT sum(cost_usd) FROM m), 0)::float8,
                  'models', coalesce((SELECT json_agg(m ORDER BY cost_usd DESC, model_name) FROM m), '[]')) AS r`,
        [qs.from ?? null, qs.to ?? null],
      );
      return rows[0]!.r;
    });
  });
}
