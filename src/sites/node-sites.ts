import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { releaseSite } from '../blocks/serve.js';
import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { createApiServer, type ApiOptions } from '../api/server.js';

export interface NodeSite {
  node: string;
  app: string;
  display_name: string;
  theme: string;
  url: string;
}

export interface NodeSites {
  sites: NodeSite[];
  close(): Promise<void>;
}

export interface NodeSitesOptions {
  db: Db;
  deployRoot: string;
  /** Node keys this process acts as; default every node with a branding row. */
  nodeKeys?: string[];
  host: string;
  /** First port; each (node, app) takes the next one. 0 = any free ports. */
  basePort: number;
  logger?: Logger;
  corsOrigins?: string[];
  /** The memory embedder's key and timeout, for the sites' API search. */
  embed?: ApiOptions['embed'];
}

/**
 * One listener per (node, app) a node has enabled: the node's live release at `/` (deep links
 * answered with the app) and the HTTP API at `/api` on the same origin, so the built pages call
 * the API without CORS. One process can so act as several nodes and show their branding side by side.
 */
export async function startNodeSites(o: NodeSitesOptions): Promise<NodeSites> {
  const { rows } = await o.db.query<{ node_key: string; display_name: string; theme: string; enabled_apps: string[] }>(
    `SELECT n.node_key, b.display_name, b.theme, b.enabled_apps
       FROM robbieblocks_node_branding b JOIN nodes n ON n.id = b.node_id
      WHERE ($1::text[] IS NULL AND robbieblocks_builds_here(n.id)) OR n.node_key = ANY($1::text[])
      ORDER BY n.node_key`,
    [o.nodeKeys?.length ? o.nodeKeys : null],
  );
  if (o.nodeKeys?.length) {
    const missing = o.nodeKeys.filter((k) => !rows.some((r) => r.node_key === k));
    if (missing.length) {
      throw new RobbieverseError('E_USAGE', `no branding for node${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
        hint: `nodes with branding: ${rows.map((r) => r.node_key).join(', ') || 'none'}; add a robbieblocks_node_branding row first`,
      });
    }
  }
  const started: { app: Awaited<ReturnType<typeof createApiServer>>; site: NodeSite }[] = [];
  const close = async () => {
    await Promise.all(started.map((s) => s.app.close().catch(() => {})));
  };
  try {
    let port = o.basePort;
    for (const r of rows) {
      for (const app of [...r.enabled_apps].sort()) {
        const server = await createApiServer({
          db: o.db, logger: o.logger, corsOrigins: o.corsOrigins, blocks: { deployRoot: o.deployRoot }, embed: o.embed,
          description: `This listener is node ${r.node_key}, app ${app}: the app at /, the API at /api.`,
        });
        await server.register(releaseSite, { deployRoot: o.deployRoot, node: r.node_key, app, exclude: ['/api/', '/docs', '/openapi.json'] });
        try {
          await server.listen({ host: o.host, port });
        } catch (err) {
          await server.close().catch(() => {});
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
            throw new RobbieverseError('E_CONFIG', `port ${port} is in use; the site of ${r.node_key}/${app} cannot listen there`, {
              hint: 'choose another first port with --site-port (0 = any free ports), or fewer nodes with --node',
              cause: err,
            });
          }
          throw err;
        }
        const addr = server.server.address() as AddressInfo;
        started.push({ app: server, site: { node: r.node_key, app, display_name: r.display_name, theme: r.theme, url: `http://${o.host}:${addr.port}/` } });
        if (port !== 0) port++;
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { sites: started.map((s) => s.site), close };
}
