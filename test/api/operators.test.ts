import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOperator, removeOperator } from '../../src/api/auth/operators.js';
import { listenApi, type ListeningApi } from '../../src/api/listen.js';
import { engineName, tmpDir } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

const NODE = 'vengeance-local';
const APP = 'play';

/** Two kept releases of vengeance-local/play (the second live), as the builder leaves them, with their deploy rows. */
async function fabricateReleases(h: ApiHarness, deployRoot: string): Promise<{ older: { id: string; release: string }; newer: { id: string; release: string } }> {
  const site = path.join(deployRoot, NODE, APP);
  const out: { id: string; release: string }[] = [];
  for (const [i, release] of ['20260101T000000000Z-aaaaaaaa', '20260102T000000000Z-bbbbbbbb'].entries()) {
    const dir = path.join(site, 'releases', release);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><title>release ${i + 1}</title>`);
    const { rows } = await h.db.query<{ id: string; node_id: string }>(
      `INSERT INTO robbieblocks_deploys (node_id, app_namespace, build_hash, pages_count, components_count, deploy_status, triggered_by, started_at, completed_at, release_id)
       SELECT id, $1, $2, 1, 1, 'success', 'manual', now(), now() + make_interval(secs => $4), $3 FROM nodes WHERE node_key = $5 RETURNING id, node_id`,
      [APP, String(i + 1).repeat(64), release, i, NODE]);
    fs.writeFileSync(path.join(dir, 'robbieblocks-release.json'), JSON.stringify({
      release_id: release, deploy_id: rows[0]!.id, node_id: rows[0]!.node_id, node_key: NODE, app: APP, build_hash: String(i + 1).repeat(64),
      pages_count: 1, components_count: 1, builder_version: 'test', created_at: new Date().toISOString(), previous_release_id: i ? out[0]!.release : null,
    }));
    out.push({ id: rows[0]!.id, release });
  }
  fs.symlinkSync(path.join('releases', out[1]!.release), path.join(site, 'current'));
  return { older: out[0]!, newer: out[1]! };
}

const live = (deployRoot: string) => path.basename(fs.readlinkSync(path.join(deployRoot, NODE, APP, 'current')));

describe(`platform operators: deploys and rollbacks on the shared nodes (${engineName})`, () => {
  let h: ApiHarness;
  let deployRoot: string;
  let api: ListeningApi;
  let founder: string;
  let orgAdmin: string;
  let operator: string;
  let releases: Awaited<ReturnType<typeof fabricateReleases>>;
  const call = (method: string, p: string, token: string, body?: unknown) =>
    fetch(api.origin + p, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
      .then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  beforeAll(async () => {
    h = await startApi();
    deployRoot = tmpDir('rv-operators-');
    releases = await fabricateReleases(h, deployRoot);
    // The API as `robbieverse up` starts it: listenApi with the deploy root of the releases it builds.
    api = await listenApi({ db: h.db, host: '127.0.0.1', port: 0, blocks: { deployRoot } });
    const org = await h.org('Acme');
    orgAdmin = (await h.user(org, 'admin@acme.test', 'admin')).token;
    operator = (await h.user(org, 'ops@acme.test', 'member')).token;
    await addOperator(h.db, { email: 'ops@acme.test' });
    // anyone may found an organization and becomes its owner
    const someone = (await h.user(org, 'someone@acme.test', 'viewer')).token;
    const founded = await h.call('POST', '/api/organizations', { token: someone, body: { name: 'My Own Org' } });
    expect(founded.status, JSON.stringify(founded.body)).toBe(201);
    founder = await h.login('someone@acme.test', founded.body.id);
    expect((await h.call('GET', '/api/me', { token: founder })).body).toMatchObject({ role: 'owner' });
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
    fs.rmSync(deployRoot, { recursive: true, force: true });
  });

  it('an organization owner or admin who is not an operator gets 403 for a manual deploy; nothing is queued', async () => {
    const before = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_deploys')).rows[0]!.n;
    for (const token of [founder, orgAdmin]) {
      const r = await call('POST', '/api/robbieblocks/deploys', token, { node_id: NODE, app: APP });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('operator_required');
      expect(r.body.error.message).toMatch(/robbieverse operators add/);
    }
    expect((await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_deploys')).rows[0]!.n).toBe(before);
  });

  it('an operator queues a deploy; an unknown node is a 404 that lists no nodes', async () => {
    const r = await call('POST', '/api/robbieblocks/deploys', operator, { node_id: NODE, app: APP });
    expect(r.status).toBe(202);
    expect(r.body.created).toBe(true);
    const unknown = await call('POST', '/api/robbieblocks/deploys', operator, { node_id: 'no-such-node', app: APP });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_node');
    const { rows } = await h.db.query<{ node_key: string }>('SELECT node_key FROM nodes');
    for (const n of rows) expect(JSON.stringify(unknown.body)).not.toContain(n.node_key);
    await h.db.query(`DELETE FROM robbieblocks_deploys WHERE id = $1`, [r.body.deploy_id]);
  });

  it('rollback: 403 for an organization owner, and the release stays live', async () => {
    const r = await call('POST', `/api/robbieblocks/deploys/${releases.older.id}/rollback`, founder);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('operator_required');
    expect(live(deployRoot)).toBe(releases.newer.release);
  });

  it('rollback through the API of a process that holds the releases: the older release is live again and recorded', async () => {
    const r = await call('POST', `/api/robbieblocks/deploys/${releases.older.id}/rollback`, operator);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ from_release: releases.newer.release, to_release: releases.older.release, rollback_of: releases.newer.id });
    expect(live(deployRoot)).toBe(releases.older.release);
    const { rows } = await h.db.query<{ triggered_by: string; triggered_by_user_id: string; release_id: string }>(
      `SELECT d.triggered_by, d.triggered_by_user_id, d.release_id FROM robbieblocks_deploys d WHERE d.id = $1`, [r.body.deploy_id]);
    const ops = (await h.db.query<{ id: string }>(`SELECT id FROM users WHERE email = 'ops@acme.test'`)).rows[0]!.id;
    expect(rows[0]).toEqual({ triggered_by: 'rollback', triggered_by_user_id: ops, release_id: releases.older.release });
  });

  it('a server that does not hold the releases says so (503) instead of pretending', async () => {
    const r = await h.call('POST', `/api/robbieblocks/deploys/${releases.newer.id}/rollback`, { token: operator });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('no_releases_here');
  });

  it('an operator whose grant is removed is refused from the next request on', async () => {
    expect(await removeOperator(h.db, { email: 'ops@acme.test' })).toBe(true);
    const r = await call('POST', '/api/robbieblocks/deploys', operator, { node_id: NODE, app: APP });
    expect(r.status).toBe(403);
    expect(await addOperator(h.db, { email: 'ops@acme.test' })).toBe(true);
    expect(await addOperator(h.db, { email: 'ops@acme.test' })).toBe(false);
    // the grant and its removal are in the audit trail
    const { rows } = await h.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE entity_type = 'platform_operators' ORDER BY created_at`);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['insert', 'delete']));
  });
});
