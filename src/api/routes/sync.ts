import type { FastifyInstance } from 'fastify';
import { actingUserIsOperator } from '../auth/operators.js';
import { atLeast } from '../auth/roles.js';
import { ApiError } from '../errors.js';
import type { RequestContext } from '../request-context.js';

const HEALTH = ['never_synced', 'error', 'offline', 'degraded', 'healthy'] as const;
const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const intOrNull = { type: ['integer', 'null'] } as const;
const timeOrNull = { type: ['string', 'null'], format: 'date-time' } as const;

const nodeSchema = {
  type: 'object',
  required: ['node_id', 'node_key', 'node_type', 'health'],
  properties: {
    node_id: { type: 'string', format: 'uuid' },
    node_key: str,
    node_type: str,
    enabled: { type: 'boolean' },
    health: { type: 'string', enum: HEALTH, description: 'first matching rule: never_synced, error, offline, degraded, healthy (docs/sync.md)' },
    last_contact_at: timeOrNull,
    last_push_at: timeOrNull,
    last_pull_at: timeOrNull,
    outbound_backlog: { ...intOrNull, description: 'node only: local changes the master has not acknowledged' },
    inbound_backlog: { ...intOrNull, description: 'master only: log entries after the node\'s acknowledged cursor' },
    parked: { type: 'integer' },
    conflicts_24h: { type: 'integer' },
    clock_offset_ms: { ...intOrNull, description: 'master minus node, ms' },
    schema_version: strOrNull,
    schema_match: { type: ['boolean', 'null'] },
    last_error: strOrNull,
  },
} as const;

const statusSchema = {
  type: 'object',
  required: ['role', 'node_key', 'nodes'],
  properties: {
    role: { type: ['string', 'null'], enum: ['hub', 'node', null], description: 'hub = this database is the master; node = joined to one; null = it does not sync' },
    node_key: { ...strOrNull, description: 'this database\'s key in the network' },
    nodes: { type: 'array', items: nodeSchema, description: 'master: every registered node; node: itself; standalone: empty' },
  },
} as const;

type Row = Record<string, unknown>;
const iso = (v: unknown) => (typeof v === 'string' ? new Date(v).toISOString() : null);

/** GET /api/sync/status: the node sync status of the database behind this API, for platform operators. */
export async function syncRoutes(api: FastifyInstance, rc: RequestContext): Promise<void> {
  api.get('/sync/status', {
    schema: {
      tags: ['System'],
      summary: 'Node sync status per node (platform operators)',
      description:
        'The sync_node_status rows of this database: on the master every registered node, on a node itself, on a database that ' +
        'does not sync `{"role": null, "nodes": []}`. The network serves every organization, so this needs a platform operator ' +
        '(`robbieverse operators add`); an API key must not be capped below admin.',
      response: { 200: statusSchema, '4xx': { $ref: 'error#' } },
    },
  }, async (req) =>
    rc.run(req, 'viewer', async (tx, p) => {
      if (!(await actingUserIsOperator(tx))) {
        throw new ApiError(403, 'operator_required', 'sync status covers every organization and needs a platform operator; an operator grants it with `robbieverse operators add --email <you>`');
      }
      if (p.via === 'api_key' && !atLeast(p.role, 'admin')) {
        throw new ApiError(403, 'operator_required', `this API key is capped at ${p.role}; sync status needs a key of admin role or a signed-in operator`);
      }
      const { rows } = await tx.query<{ r: { role: string | null; node_key: string | null; nodes: Row[] } }>('SELECT app_sync_status() AS r');
      const r = rows[0]!.r;
      return {
        role: r.role,
        node_key: r.node_key,
        nodes: r.nodes.map((n) => ({ ...n, last_contact_at: iso(n.last_contact_at), last_push_at: iso(n.last_push_at), last_pull_at: iso(n.last_pull_at) })),
      };
    }));
}
