import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors.js';
import type { RequestContext } from '../request-context.js';

const err = { '4xx': { $ref: 'error#' } } as const;

function cpuPercent(): Promise<number> {
  const sample = () => os.cpus().reduce((a, c) => {
    const total = Object.values(c.times).reduce((x, y) => x + y, 0);
    return { idle: a.idle + c.times.idle, total: a.total + total };
  }, { idle: 0, total: 0 });
  const a = sample();
  return new Promise((resolve) => setTimeout(() => {
    const b = sample();
    const total = b.total - a.total;
    resolve(total > 0 ? Math.round((1 - (b.idle - a.idle) / total) * 1000) / 10 : 0);
  }, 100));
}

/** Health, host metrics (RobbieBar) and the daily briefs. */
export async function systemRoutes(api: FastifyInstance, rc: RequestContext): Promise<void> {
  api.get('/health', { config: { public: true }, schema: { tags: ['System'], summary: 'Is the API up and the database reachable (no sign-in)', security: [] } }, async (_req, reply) => {
    try {
      const { rows } = await rc.db.query<{ v: string | null }>(`SELECT (SELECT max(version) FROM robbieverse_meta.schema_migrations) AS v`);
      return { ok: true, database: 'reachable', schema_version: rows[0]?.v ?? null, engine: rc.db.engine };
    } catch (e) {
      reply.code(503);
      return { ok: false, database: 'unreachable', error: (e as Error).message };
    }
  });

  api.get('/system/stats', { schema: { tags: ['System'], summary: 'CPU, memory and load of the host serving this API', response: err } }, async (req) =>
    rc.run(req, 'viewer', async () => {
      const total = os.totalmem();
      const free = os.freemem();
      return {
        cpu_percent: await cpuPercent(),
        memory_percent: Math.round(((total - free) / total) * 1000) / 10,
        memory_total_bytes: total,
        load_average: os.loadavg(),
        gpu_percent: null,
        uptime_seconds: Math.round(os.uptime()),
        at: new Date().toISOString(),
      };
    }));

  api.get('/briefs/:type', {
    schema: {
      tags: ['Productivity'], summary: 'A daily brief: open tasks due, today\'s meetings, deals closing soon',
      params: { type: 'object', required: ['type'], additionalProperties: false, properties: { type: { type: 'string', enum: ['morning', 'afternoon', 'evening'] } } },
      response: err,
    },
  }, async (req) => {
    const type = (req.params as { type: string }).type;
    if (!['morning', 'afternoon', 'evening'].includes(type)) throw badRequest('brief type must be morning, afternoon or evening');
    return rc.run(req, 'viewer', async (tx, p) => {
      const { rows } = await tx.query<{ r: Record<string, unknown> }>(
        `SELECT json_build_object(
           'tasks_due', coalesce((SELECT json_agg(t ORDER BY t.due_date NULLS LAST) FROM (
               SELECT id, title, status, priority, due_date FROM tasks
                WHERE status IS DISTINCT FROM 'done' AND status IS DISTINCT FROM 'cancelled'
                  AND (assigned_to = $1 OR user_id = $1) AND (due_date IS NULL OR due_date < date_trunc('day', now()) + interval '1 day')
                ORDER BY due_date NULLS LAST LIMIT 10) t), '[]'),
           'meetings_today', coalesce((SELECT json_agg(e ORDER BY e.start_time) FROM (
               SELECT id, title, start_time, end_time, location FROM calendar_events
                WHERE start_time >= date_trunc('day', now()) AND start_time < date_trunc('day', now()) + interval '1 day'
                ORDER BY start_time LIMIT 20) e), '[]'),
           'deals_closing', coalesce((SELECT json_agg(d ORDER BY d.expected_close_date) FROM (
               SELECT id, name, stage, amount_cents, expected_close_date FROM deals
                WHERE is_active AND expected_close_date BETWEEN current_date AND current_date + 14
                ORDER BY expected_close_date LIMIT 10) d), '[]')) AS r`,
        [p.userId],
      );
      const r = rows[0]!.r;
      const counts = `${(r.tasks_due as unknown[]).length} tasks due, ${(r.meetings_today as unknown[]).length} meetings today, ${(r.deals_closing as unknown[]).length} deals closing in two weeks`;
      return { type, generated_at: new Date().toISOString(), summary: counts, ...r };
    });
  });
}
