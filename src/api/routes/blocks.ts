import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/types.js';
import { requestDeploy } from '../../blocks/request.js';
import { rollbackRelease } from '../../blocks/rollback.js';
import { actingUserIsOperator } from '../auth/operators.js';
import type { Principal } from '../auth/principal.js';
import { atLeast } from '../auth/roles.js';
import { ApiError, notFound } from '../errors.js';
import type { RequestContext } from '../request-context.js';

const err = { '4xx': { $ref: 'error#' } } as const;
const nodeQuery = {
  type: 'object', additionalProperties: false, required: ['node_id'],
  properties: { node_id: { type: 'string', minLength: 1, maxLength: 100, description: 'node_key of the node whose branding applies, e.g. vengeance-local' } },
} as const;
const keyParams = { type: 'object', required: ['key'], additionalProperties: false, properties: { key: { type: 'string', minLength: 1, maxLength: 255 } } } as const;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

async function pageForNode(tx: Queryable, key: string, node: string) {
  const { rows } = await tx.query<{ page: Record<string, unknown> | null; styles: Record<string, unknown> | null }>(
    `SELECT get_page_config($1) AS page, get_node_styles($2) AS styles`, [key, node]);
  const { page, styles } = rows[0] ?? { page: null, styles: null };
  if (!styles) throw notFound(`branding of node ${node}`);
  const app = (page?.page as Record<string, unknown> | undefined)?.app_namespace as string | undefined;
  if (!page || !app || !(styles.enabled_apps as string[]).includes(app)) throw notFound(`published page ${key} on node ${node}`);
  return { page, styles };
}

/**
 * Deploys and rollbacks act on the nodes that serve every organization: only platform
 * operators (platform_operators), never merely an organization's owner. An API key acts for its
 * operator only when it is not capped below admin.
 */
async function asOperator(tx: Queryable, p: Principal): Promise<Principal> {
  if (!(await actingUserIsOperator(tx))) {
    throw new ApiError(403, 'operator_required', 'deploys and rollbacks on the shared nodes need a platform operator; an operator grants it with `robbieverse operators add --email <you>`');
  }
  if (p.via === 'api_key' && !atLeast(p.role, 'admin')) {
    throw new ApiError(403, 'operator_required', `this API key is capped at ${p.role}; deploys and rollbacks need a key of admin role or a signed-in operator`);
  }
  return p;
}

/** The RobbieBlocks CMS read endpoints (BLOCKS.md §5.2), under /api/robbieblocks. */
export async function blocksRoutes(api: FastifyInstance, rc: RequestContext, opts: { deployRoot?: string } = {}): Promise<void> {
  const tags = ['RobbieBlocks'];
  api.get('/robbieblocks/page/:key', {
    schema: { tags, summary: 'A published page with ordered blocks, components, the node\'s branding and resolved tokens', params: keyParams, querystring: nodeQuery, response: err },
  }, async (req) => {
    const { key } = req.params as { key: string };
    const { node_id } = req.query as { node_id: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { page, styles } = await pageForNode(tx, key, node_id);
      return { ...page, branding: styles, tokens: styles.effective };
    });
  });

  api.get('/robbieblocks/page/:key/version', {
    schema: { tags, summary: 'Version and content hash of a page for a node (poll and compare the hash)', params: keyParams, querystring: nodeQuery, response: err },
  }, async (req) => {
    const { key } = req.params as { key: string };
    const { node_id } = req.query as { node_id: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { page, styles } = await pageForNode(tx, key, node_id);
      const p = page.page as Record<string, unknown>;
      const blocks = (page.blocks as { block: Record<string, unknown>; component: Record<string, unknown> }[]).map((b) => ({
        zone: b.block.zone, order: b.block.block_order, props: b.block.props, conditions: b.block.conditions,
        component: { key: b.component.component_key, code: b.component.react_code, css: b.component.css_styles, schema: b.component.props_schema, version: b.component.version, published: b.component.is_published },
      }));
      const content = { key: p.page_key, route: p.page_route, layout: p.layout_template, title: p.meta_title, description: p.meta_description, name: p.page_name, blocks, tokens: styles.effective, theme: styles.theme };
      return { page_key: key, node_id, version: p.version, content_hash: createHash('sha256').update(canonical(content)).digest('hex'), updated_at: p.updated_at };
    });
  });

  api.get('/robbieblocks/pages', {
    schema: {
      tags, summary: 'Published pages',
      querystring: { type: 'object', additionalProperties: false, properties: { app: { type: 'string', maxLength: 50 } } }, response: err,
    },
  }, async (req) => {
    const { app } = req.query as { app?: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(
        `SELECT row_to_json(x) AS r FROM (SELECT id, page_key, app_namespace, page_name, page_route, layout_template, meta_title, version, published_at, updated_at
           FROM robbieblocks_pages WHERE status = 'published' AND ($1::text IS NULL OR app_namespace = $1) ORDER BY app_namespace, page_route) x`, [app ?? null]);
      return { data: rows.map((r) => r.r), next_cursor: null };
    });
  });

  api.get('/robbieblocks/component/:key', { schema: { tags, summary: 'One component', params: keyParams, response: err } }, async (req) => {
    const { key } = req.params as { key: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(`SELECT row_to_json(c) AS r FROM robbieblocks_components c WHERE component_key = $1`, [key]);
      if (!rows[0]) throw notFound(`component ${key}`);
      return rows[0].r;
    });
  });

  api.get('/robbieblocks/branding/:key', {
    schema: { tags, summary: 'A node\'s branding', params: keyParams, response: err },
  }, async (req) => {
    const { key } = req.params as { key: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(
        `SELECT row_to_json(x) AS r FROM (SELECT n.node_key, b.* FROM robbieblocks_node_branding b JOIN nodes n ON n.id = b.node_id WHERE n.node_key = $1) x`, [key]);
      if (!rows[0]) throw notFound(`branding of node ${key}`);
      return rows[0].r;
    });
  });

  api.get('/robbieblocks/styles', { schema: { tags, summary: 'Resolved token map of a node', querystring: nodeQuery, response: err } }, async (req) => {
    const { node_id } = req.query as { node_id: string };
    return rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ s: unknown }>(`SELECT get_node_styles($1) AS s`, [node_id]);
      if (!rows[0]?.s) throw notFound(`branding of node ${node_id}`);
      return rows[0].s;
    });
  });

  api.get('/robbieblocks/stats', { schema: { tags, summary: 'Counts per app, the last change, the last deploys', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(
        `SELECT json_build_object(
           'apps', coalesce((SELECT json_agg(a ORDER BY a.app) FROM (
               SELECT app_namespace AS app, count(*) FILTER (WHERE status = 'published')::int AS published_pages, count(*)::int AS pages
                 FROM robbieblocks_pages GROUP BY app_namespace) a), '[]'),
           'components', (SELECT count(*)::int FROM robbieblocks_components),
           'published_components', (SELECT count(*)::int FROM robbieblocks_components WHERE is_published),
           'last_change_at', (SELECT max(created_at) FROM robbieblocks_change_triggers),
           'last_deploys', coalesce((SELECT json_agg(d) FROM (
               SELECT d.id, n.node_key, d.app_namespace, d.deploy_status, d.triggered_by, d.created_at, d.completed_at
                 FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id ORDER BY d.created_at DESC LIMIT 10) d), '[]')) AS r`);
      return rows[0]!.r;
    }));

  api.get('/robbieblocks/health', { schema: { tags, summary: 'CMS and build-queue health', response: err } }, async (req) =>
    rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: { unprocessed: number; oldest_unprocessed_at: string | null; active_builds: number; failed_last_hour: number } }>(
        `SELECT json_build_object(
           'unprocessed', (SELECT count(*)::int FROM robbieblocks_change_triggers WHERE processed_at IS NULL),
           'oldest_unprocessed_at', (SELECT min(created_at) FROM robbieblocks_change_triggers WHERE processed_at IS NULL),
           'active_builds', (SELECT count(*)::int FROM robbieblocks_deploys WHERE deploy_status IN ('building', 'deploying')),
           'failed_last_hour', (SELECT count(*)::int FROM robbieblocks_deploys WHERE deploy_status = 'failed' AND created_at > now() - interval '1 hour')) AS r`);
      const r = rows[0]!.r;
      return { ok: r.failed_last_hour === 0, ...r };
    }));

  api.get('/robbieblocks/deploys', {
    schema: {
      tags, summary: 'Deploy history',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { node_id: { type: 'string', maxLength: 100 }, app: { type: 'string', maxLength: 50 }, limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
      },
      response: err,
    },
  }, async (req) => {
    const { node_id, app, limit } = req.query as { node_id?: string; app?: string; limit?: number };
    return rc.run(req, 'viewer', async (tx) => {
      const { rows } = await tx.query<{ r: unknown }>(
        `SELECT row_to_json(x) AS r FROM (
           SELECT d.id, n.node_key, d.app_namespace, d.deploy_status, d.triggered_by, d.build_hash, d.error_message,
                  d.build_duration_ms, d.deploy_duration_ms, d.created_at, d.started_at, d.completed_at
             FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
            WHERE ($1::text IS NULL OR n.node_key = $1) AND ($2::text IS NULL OR d.app_namespace = $2)
            ORDER BY d.created_at DESC LIMIT $3) x`, [node_id ?? null, app ?? null, limit ?? 50]);
      return { data: rows.map((r) => r.r), next_cursor: null };
    });
  });

  api.post('/robbieblocks/deploys', {
    schema: {
      tags, summary: 'Queue a manual build of one app on one node (platform operators)',
      description: 'A builder serving the node picks it up; follow it with GET /api/robbieblocks/deploys. Needs a platform operator (`robbieverse operators add`): 403 operator_required otherwise; an unknown node is 404 unknown_node.',
      body: {
        type: 'object', additionalProperties: false, required: ['node_id', 'app'],
        properties: { node_id: { type: 'string', minLength: 1, maxLength: 100, description: 'node_key' }, app: { type: 'string', minLength: 1, maxLength: 50 } },
      },
      response: err,
    },
  }, async (req, reply) => {
    const b = req.body as { node_id: string; app: string };
    const p = await rc.run(req, 'viewer', async (tx, principal) => asOperator(tx, principal));
    const known = await rc.db.query('SELECT 1 FROM nodes WHERE node_key = $1', [b.node_id]);
    if (!known.rows.length) throw new ApiError(404, 'unknown_node', `there is no node "${b.node_id}"; use a node_key from GET /api/robbieblocks/deploys or the node's branding`);
    const r = await requestDeploy(rc.db, { nodeKey: b.node_id, app: b.app, userId: p.userId });
    reply.code(202);
    return { deploy_id: r.deployId, status: r.status, created: r.created };
  });

  api.post('/robbieblocks/deploys/:id/rollback', {
    schema: {
      tags, summary: 'Make the release of that deploy live again, without rebuilding (platform operators)',
      description: 'Needs a platform operator (403 operator_required otherwise) and a server that holds the releases (`robbieverse up`; 503 no_releases_here otherwise).',
      params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', format: 'uuid' } } },
      response: err,
    },
  }, async (req) => {
    const id = (req.params as { id: string }).id;
    const { p, row } = await rc.run(req, 'viewer', async (tx, principal) => {
      await asOperator(tx, principal);
      const { rows } = await tx.query<{ node_key: string; app_namespace: string; release_id: string | null; deploy_status: string }>(
        `SELECT n.node_key, d.app_namespace, d.release_id, d.deploy_status FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id WHERE d.id = $1`, [id]);
      return { p: principal, row: rows[0] };
    });
    if (!row) throw notFound(`deploy ${id}`);
    if (!row.release_id || !['success', 'skipped'].includes(row.deploy_status)) {
      throw new ApiError(409, 'not_a_release', `deploy ${id} is ${row.deploy_status} and has no release to go back to; pick a successful deploy`);
    }
    if (!opts.deployRoot) throw new ApiError(503, 'no_releases_here', 'this server does not hold the releases; roll back on the node with `robbieverse blocks rollback`');
    const r = await rollbackRelease(rc.db, { deployRoot: opts.deployRoot, nodeKey: row.node_key, app: row.app_namespace, toRelease: row.release_id, userId: p.userId });
    return { deploy_id: r.deployId, from_release: r.fromRelease, to_release: r.toRelease, build_hash: r.buildHash, rollback_of: r.rollbackOf };
  });
}
