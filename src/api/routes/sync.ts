import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/types.js';
import { orderOverview, type SyncOverview } from '../../sync/overview.js';
import type { Principal } from '../auth/principal.js';
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

const deploySchema = {
  type: ['object', 'null'],
  description: 'the last finished deploy (success, failed, skipped) of the app; null: never deployed',
  required: ['id', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: ['success', 'failed', 'skipped'] },
    triggered_by: str,
    started_at: timeOrNull,
    completed_at: timeOrNull,
    duration_ms: { ...intOrNull, description: 'started to completed' },
    release_id: strOrNull,
    build_hash: strOrNull,
    error_message: strOrNull,
  },
} as const;

const overviewNodeSchema = {
  type: 'object',
  required: ['node_id', 'node_key', 'sync', 'health', 'lag_ms', 'attention', 'apps'],
  properties: {
    node_id: { type: 'string', format: 'uuid' },
    node_key: str,
    node_type: strOrNull,
    sync: {
      type: 'string',
      enum: ['joined', 'not_joined', 'master', 'standalone'],
      description: 'joined: syncs with this database; not_joined: on the master, a node with branding or deploys that did not join (the master builds for it); master: the master\'s own row; standalone: this database does not sync',
    },
    health: { type: ['string', 'null'], enum: [...HEALTH, null], description: 'as in /sync/status; null unless sync is joined' },
    lag_ms: {
      ...intOrNull,
      description: 'the larger of the age of the oldest change waiting to cross (master: its log entries the node has not acknowledged; node: its changes the master has not acknowledged) and the time since the last contact (master: the node\'s last call; node: its last successful exchange)',
    },
    oldest_waiting_at: timeOrNull,
    last_contact_at: timeOrNull,
    last_push_at: timeOrNull,
    last_pull_at: timeOrNull,
    outbound_backlog: intOrNull,
    inbound_backlog: intOrNull,
    parked: intOrNull,
    conflicts_24h: intOrNull,
    clock_offset_ms: intOrNull,
    schema_match: { type: ['boolean', 'null'] },
    last_error: strOrNull,
    attention: { type: 'boolean', description: 'health error or offline, or an enabled app whose last deploy failed' },
    apps: {
      type: 'array',
      items: {
        type: 'object',
        required: ['app', 'enabled', 'last_deploy', 'in_progress'],
        properties: {
          app: str,
          enabled: { type: 'boolean', description: 'in the node\'s branding (enabled_apps); false: only deploy history is left' },
          last_deploy: deploySchema,
          in_progress: {
            type: ['object', 'null'],
            description: 'a deploy pending, building or deploying now',
            properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: ['pending', 'building', 'deploying'] }, triggered_by: str, queued_at: timeOrNull, started_at: timeOrNull },
          },
        },
      },
    },
  },
} as const;

const overviewSchema = {
  type: 'object',
  required: ['role', 'node_key', 'generated_at', 'attention', 'nodes'],
  properties: {
    role: statusSchema.properties.role,
    node_key: statusSchema.properties.node_key,
    generated_at: { type: 'string', format: 'date-time' },
    attention: { type: 'boolean', description: 'some node needs attention (`robbieverse sync overview` exits 1)' },
    nodes: { type: 'array', items: overviewNodeSchema, description: 'master: every joined node and every node with branding or deploys; node: itself; standalone: every node with branding or deploys' },
  },
} as const;

type Row = Record<string, unknown>;

/** The network serves every organization: only a platform operator, with a key not capped below admin. */
async function requireOperator(tx: Queryable, p: Principal, what: string): Promise<void> {
  if (!(await actingUserIsOperator(tx))) {
    throw new ApiError(403, 'operator_required', `${what} covers every organization and needs a platform operator; an operator grants it with \`robbieverse operators add --email <you>\``);
  }
  if (p.via === 'api_key' && !atLeast(p.role, 'admin')) {
    throw new ApiError(403, 'operator_required', `this API key is capped at ${p.role}; ${what} needs a key of admin role or a signed-in operator`);
  }
}
const iso = (v: unknown) => (typeof v === 'string' ? new Date(v).toISOString() : null);

/** GET /api/sync/status and /api/sync/overview: the node sync status of the database behind this API, for platform operators. */
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
      await requireOperator(tx, p, 'sync status');
      const { rows } = await tx.query<{ r: { role: string | null; node_key: string | null; nodes: Row[] } }>('SELECT app_sync_status() AS r');
      const r = rows[0]!.r;
      return {
        role: r.role,
        node_key: r.node_key,
        nodes: r.nodes.map((n) => ({ ...n, last_contact_at: iso(n.last_contact_at), last_push_at: iso(n.last_push_at), last_pull_at: iso(n.last_pull_at) })),
      };
    }));

  api.get('/sync/overview', {
    schema: {
      tags: ['System'],
      summary: 'The master\'s overview: health, lag, backlog, conflicts and last deploy per app, per node (platform operators)',
      description:
        'The same document as `robbieverse sync overview --json` (sync.overview()): on the master every node that joined it and every ' +
        'node with branding or deploys, on a node itself, on a database that does not sync every node with branding or deploys ' +
        '(health null). `attention` is true when a node is in error or offline or the last deploy of an enabled app failed. ' +
        'Needs a platform operator, like /sync/status.',
      response: { 200: overviewSchema, '4xx': { $ref: 'error#' } },
    },
  }, async (req) =>
    rc.run(req, 'viewer', async (tx, p) => {
      await requireOperator(tx, p, 'the sync overview');
      const { rows } = await tx.query<{ r: SyncOverview }>('SELECT app_sync_overview() AS r');
      return orderOverview(rows[0]!.r);
    }));
}
