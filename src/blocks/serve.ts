import fsp from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { sitePaths } from './paths.js';

export interface ReleaseSiteOptions {
  deployRoot: string;
  /** Node key (the directory under the deploy root). */
  node: string;
  app: string;
  /** Path prefixes this plugin leaves alone (answered 404 JSON), default ['/api/']. */
  exclude?: string[];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function notEnabledPage(node: string, app: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App not enabled</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#334155}code{background:#f1f5f9;padding:0 .25rem}</style>
</head><body>
<h1>App not enabled</h1>
<p>The app <code>${escapeHtml(app)}</code> is not enabled on node <code>${escapeHtml(node)}</code>, or it has not been built yet.</p>
<p>Enable it in the node's branding (<code>enabled_apps</code>) or run <code>robbieverse blocks deploy ${escapeHtml(node)} ${escapeHtml(app)}</code>.</p>
</body></html>
`;
}

async function isFile(f: string): Promise<boolean> {
  try {
    return (await fsp.stat(f)).isFile();
  } catch {
    return false;
  }
}

/**
 * Serves the live release of one (node, app) as a static site. The `current` pointer is read on
 * every request, so a deploy or rollback (one rename) is picked up without a restart and a
 * response comes wholly from one release. Unknown paths get index.html (deep links); paths that
 * name a missing file get 404. Without a live release: 404 "app not enabled".
 */
export const releaseSite: FastifyPluginAsync<ReleaseSiteOptions> = async (fastify, o) => {
  const p = sitePaths(o.deployRoot, o.node, o.app);
  const exclude = o.exclude ?? ['/api/'];
  await fastify.register(fastifyStatic, {
    root: path.resolve(o.deployRoot),
    serve: false,
    decorateReply: !fastify.hasReplyDecorator('sendFile'),
    wildcard: false,
  });

  const send = (reply: FastifyReply, rel: string, dir: string, immutable: boolean) => {
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.sendFile(rel, dir, { cacheControl: false });
  };

  fastify.get('/*', async (req, reply) => {
    const url = req.url.split('?')[0]!;
    if (exclude.some((x) => url.startsWith(x) || url + '/' === x)) {
      return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${url}` } });
    }
    let target: string;
    try {
      target = await fsp.readlink(p.current);
    } catch {
      return reply.code(404).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(notEnabledPage(o.node, o.app));
    }
    const dir = path.resolve(p.site, target);
    let rel: string;
    try {
      rel = decodeURIComponent(url);
    } catch {
      return reply.code(400).send({ error: { code: 'E_BAD_PATH', message: 'malformed URL' } });
    }
    rel = path.posix.normalize('/' + rel).replace(/^\/+/, '');
    if (rel.split('/').includes('..')) return reply.code(400).send({ error: { code: 'E_BAD_PATH', message: 'bad path' } });
    const immutable = rel.startsWith('assets/');
    if (rel && (await isFile(path.join(dir, rel)))) return send(reply, rel, dir, immutable);
    const last = rel.split('/').pop() ?? '';
    if (/\.[A-Za-z0-9]+$/.test(last)) {
      // An asset of the release that was live when the page was loaded: still kept, still served.
      if (immutable) {
        const releases = (await fsp.readdir(p.releases).catch(() => [] as string[])).filter((r) => !r.startsWith('.')).sort().reverse();
        for (const r of releases) {
          const d = path.join(p.releases, r);
          if (await isFile(path.join(d, rel))) return send(reply, rel, d, true);
        }
      }
      return reply.code(404).type('text/plain; charset=utf-8').send(`not found: ${url}\n`);
    }
    return send(reply, 'index.html', dir, false);
  });
};

export default releaseSite;
