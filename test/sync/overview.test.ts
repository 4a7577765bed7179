/**
 * The master's overview (`sync overview`, GET /api/sync/overview, sync.overview()) on a master
 * with two joined nodes. Deploy rows are written on the nodes and reach the master by sync, as a
 * node's builder's rows do; a node that did not join gets its deploy written on the master, where
 * its builder runs.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { addOperator } from '../../src/api/auth/operators.js';
import { createApiServer } from '../../src/api/server.js';
import type { Queryable } from '../../src/db/types.js';
import { syncOverview, type OverviewNode, type SyncOverview } from '../../src/sync/overview.js';
import { json, runCli } from '../helpers/cli.js';
import { engineName } from '../helpers/db.js';
import { closeAll, createHub, createNode, joinNode, nodeKinds, sync, syncUntilQuiet, type Hub, type SyncNode } from '../helpers/sync.js';

const PASSWORD = 'overview test password';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** A finished deploy row as a builder records it, `agoS` seconds ago, taking `tookMs`. */
async function deploy(db: Queryable, nodeKey: string, app: string, status: string, o: { agoS: number; tookMs?: number; hash?: string; release?: string; error?: string }) {
  const took = o.tookMs ?? 4200;
  await db.query(
    `INSERT INTO robbieblocks_deploys (node_id, app_namespace, deploy_status, triggered_by, build_hash, release_id, error_message,
                                       created_at, started_at, completed_at, build_duration_ms, deploy_duration_ms)
     SELECT n.id, $2, $3, 'page_change', $4, $5, $6, now() - make_interval(secs => $7::float8 + $8::int / 1000.0 + 1),
            now() - make_interval(secs => $7::float8 + $8::int / 1000.0), now() - make_interval(secs => $7::float8), $8::int, 0
       FROM nodes n WHERE n.node_key = $1`,
    [nodeKey, app, status, o.hash ?? null, o.release ?? null, o.error ?? null, o.agoS, took],
  );
}

const byKey = (ov: SyncOverview, key: string): OverviewNode => {
  const n = ov.nodes.find((x) => x.node_key === key);
  if (!n) throw new Error(`${key} is not in the overview: ${ov.nodes.map((x) => x.node_key).join(', ')}`);
  return n;
};
const app = (n: OverviewNode, name: string) => n.apps.find((a) => a.app === name)!;

describe(`the master's overview (${engineName})`, () => {
  let hub: Hub;
  let a: SyncNode;
  let b: SyncNode;
  const master = (args: string[]) => runCli(['sync', 'overview', '--url', hub.url, ...args]);

  beforeAll(async () => {
    const [ka, kb] = nodeKinds();
    [hub, a, b] = await Promise.all([createHub(), createNode('ov-a', ka), createNode('ov-b', kb)]);
    // The seed brands vengeance-local (play, code), aurora-town-local (work, code), and two more
    // nodes that do not join here (collaboration-local, fluenti-local).
    await joinNode(hub, a, 'vengeance-local');
    await joinNode(hub, b, 'aurora-town-local');
    await deploy(a.db, 'vengeance-local', 'play', 'success', { agoS: 600, hash: HASH_A, release: '20261207T120000000Z-aaaaaaaa' });
    await deploy(a.db, 'vengeance-local', 'play', 'skipped', { agoS: 120, hash: HASH_A, tookMs: 800 });
    await deploy(b.db, 'aurora-town-local', 'work', 'success', { agoS: 300, hash: HASH_B, release: '20261207T120500000Z-bbbbbbbb' });
    await syncUntilQuiet([a, b]);
  }, 120_000);
  afterAll(closeAll);

  it('on the master: every joined node with its health, lag, backlog and the last deploy of each enabled app (from the node, by sync)', async () => {
    const ov = await syncOverview(hub.db);
    expect(ov).toMatchObject({ role: 'hub', attention: false });
    expect(ov.nodes.map((n) => n.node_key)).toEqual(['aurora-town-local', 'collaboration-local', 'fluenti-local', 'vengeance-local']);
    const v = byKey(ov, 'vengeance-local');
    expect(v).toMatchObject({ sync: 'joined', health: 'healthy', inbound_backlog: 0, outbound_backlog: null, parked: 0, conflicts_24h: 0, attention: false, oldest_waiting_at: null });
    // no backlog: the lag is the time since the node's last call
    expect(v.lag_ms).toBeGreaterThanOrEqual(0);
    expect(v.lag_ms).toBeLessThan(60_000);
    expect(v.apps.map((x) => [x.app, x.enabled])).toEqual([['code', true], ['play', true]]);
    expect(app(v, 'code')).toEqual({ app: 'code', enabled: true, last_deploy: null, in_progress: null });
    // the last finished deploy is the later one (skipped: unchanged content)
    expect(app(v, 'play').last_deploy).toMatchObject({ status: 'skipped', build_hash: HASH_A, release_id: null, duration_ms: 800, error_message: null });
    const w = app(byKey(ov, 'aurora-town-local'), 'work').last_deploy!;
    expect(w).toMatchObject({ status: 'success', release_id: '20261207T120500000Z-bbbbbbbb', duration_ms: 4200, triggered_by: 'page_change' });
    expect(w.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // nodes the master builds for itself (branded, never joined) have no sync health
    expect(byKey(ov, 'fluenti-local')).toMatchObject({ sync: 'not_joined', health: null, lag_ms: null, inbound_backlog: null, attention: false });
  });

  it('sync overview prints one row per node and app and exits 0 when all is well', async () => {
    const r = await master([]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^master \S+: every node/);
    expect(lines[1]).toMatch(/node\s+\| health\s+\| lag\s+\| backlog\s+\| parked\s+\| conflicts 24h \| app\s+\| last deploy\s+\| finished\s+\| took\s+\| release\s+\| error/);
    expect(r.stdout).toMatch(/ aurora-town-local\s+\| healthy\s+\| [\d.]+ (ms|s)\s+\| 0\s+\| 0\s+\| 0\s+\| code\s+\| never/);
    expect(r.stdout).toMatch(/\|\s+\|\s+\|\s+\|\s+\|\s+\| work\s+\| success\s+\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \| 4\.2 s\s+\| 20261207T120500000Z-bbbbbbbb \|/);
    expect(r.stdout).toMatch(/\| play\s+\| skipped\s+\| [^|]+\| 800 ms\s*\| #aaaaaaaaaaaa\s+\|/);
    expect(r.stdout).toMatch(/ fluenti-local\s+\| not joined \| —/);
    expect(r.stdout).toMatch(/✓ all nodes well/);

    const j = await master(['--json']);
    expect(j.code, j.stderr).toBe(0);
    const doc = json<SyncOverview>(j);
    expect(Object.keys(doc)).toEqual(['role', 'node_key', 'generated_at', 'attention', 'nodes']);
    expect(Object.keys(byKey(doc, 'vengeance-local'))).toEqual([
      'node_id', 'node_key', 'node_type', 'sync', 'health', 'lag_ms', 'oldest_waiting_at', 'last_contact_at', 'last_push_at', 'last_pull_at',
      'outbound_backlog', 'inbound_backlog', 'parked', 'conflicts_24h', 'clock_offset_ms', 'schema_match', 'last_error', 'attention', 'apps',
    ]);
    expect(app(byKey(doc, 'vengeance-local'), 'play').last_deploy).toMatchObject({ status: 'skipped', duration_ms: 800 });
  });

  it('lag: a master change a node has not acknowledged counts from when it was written; a pull clears it', async () => {
    await hub.db.query(`INSERT INTO tasks (org_id, title) VALUES ('00000000-0000-4000-8000-000000000001', 'waits for the nodes')`);
    const before = await syncOverview(hub.db);
    for (const key of ['vengeance-local', 'aurora-town-local']) {
      const n = byKey(before, key);
      expect(n.inbound_backlog).toBeGreaterThanOrEqual(1);
      expect(n.oldest_waiting_at).not.toBeNull();
      expect(n.lag_ms!).toBeGreaterThanOrEqual(Date.parse(before.generated_at) - Date.parse(n.oldest_waiting_at!) - 5);
    }
    await sync(a);
    const after = await syncOverview(hub.db);
    expect(byKey(after, 'vengeance-local')).toMatchObject({ inbound_backlog: 0, oldest_waiting_at: null });
    expect(byKey(after, 'aurora-town-local').inbound_backlog).toBeGreaterThanOrEqual(1);
    await syncUntilQuiet([a, b]);
  });

  it('on a node: only itself, its outbound backlog and its own deploys', async () => {
    await deploy(a.db, 'vengeance-local', 'code', 'success', { agoS: 5, hash: HASH_A });
    await a.db.query(`INSERT INTO robbieblocks_deploys (node_id, app_namespace, triggered_by) SELECT id, 'play', 'manual' FROM nodes WHERE node_key = 'vengeance-local'`);
    const ov = await syncOverview(a.db);
    expect(ov).toMatchObject({ role: 'node', node_key: 'vengeance-local', attention: false });
    expect(ov.nodes).toHaveLength(1);
    const me = ov.nodes[0]!;
    expect(me).toMatchObject({ node_key: 'vengeance-local', sync: 'joined', health: 'healthy', inbound_backlog: null });
    expect(me.outbound_backlog).toBeGreaterThanOrEqual(2);
    expect(Date.parse(me.oldest_waiting_at!)).toBeLessThanOrEqual(Date.parse(ov.generated_at));
    expect(app(me, 'code').last_deploy).toMatchObject({ status: 'success' });
    expect(app(me, 'play').in_progress).toMatchObject({ status: 'pending', triggered_by: 'manual' });
    await sync(a);
    const m = byKey(await syncOverview(hub.db), 'vengeance-local');
    expect(app(m, 'code').last_deploy).toMatchObject({ status: 'success' });
    expect(app(m, 'play')).toMatchObject({ last_deploy: { status: 'skipped' }, in_progress: { status: 'pending' } });
  });

  it('a failed last deploy (synced from the node, or of a node the master builds) needs attention: exit 1, the error\'s first line', async () => {
    await deploy(b.db, 'aurora-town-local', 'work', 'failed', { agoS: 2, hash: HASH_B, error: 'page demo-work-home, block 2: component "nope" does not exist\n  at validate' });
    await sync(b);
    await deploy(hub.db, 'fluenti-local', 'code', 'failed', { agoS: 1, error: 'vite build failed: out of memory' });
    const ov = await syncOverview(hub.db);
    expect(ov.attention).toBe(true);
    const aurora = byKey(ov, 'aurora-town-local');
    expect(aurora).toMatchObject({ health: 'healthy', attention: true });
    expect(app(aurora, 'work').last_deploy).toMatchObject({ status: 'failed', error_message: 'page demo-work-home, block 2: component "nope" does not exist\n  at validate' });
    expect(byKey(ov, 'fluenti-local')).toMatchObject({ sync: 'not_joined', attention: true });
    expect(byKey(ov, 'vengeance-local').attention).toBe(false);

    const r = await master([]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/\| work\s+\| failed\s+\|[^\n]*\| page demo-work-home, block 2: component "nope" does not exist\n/);
    expect(r.stdout).not.toMatch(/at validate/);
    expect(r.stdout).toMatch(/✗ needs attention: aurora-town-local\/work last deploy failed; fluenti-local\/code last deploy failed/);
    const j = await master(['--json']);
    expect(j.code).toBe(1);
    expect(json(j).attention).toBe(true);
  });

  it('an offline node needs attention too (the master\'s pull interval shrunk so the last contact is old)', async () => {
    await hub.db.query('UPDATE sync.local SET pull_interval_ms = 1');
    try {
      const ov = await syncOverview(hub.db);
      expect(byKey(ov, 'vengeance-local')).toMatchObject({ health: 'offline', attention: true });
      const r = await master([]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/ vengeance-local\s+\| offline/);
      expect(r.stdout).toMatch(/needs attention: aurora-town-local offline; aurora-town-local\/work last deploy failed; fluenti-local\/code last deploy failed; vengeance-local offline/);
    } finally {
      await hub.db.query('UPDATE sync.local SET pull_interval_ms = 300000');
    }
  });

  describe('GET /api/sync/overview on the master', () => {
    let api: FastifyInstance;
    let base: string;
    const tokens: Record<string, string> = {};
    const get = async (token?: string) => {
      const res = await fetch(`${base}/api/sync/overview`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: (await res.json()) as any };
    };

    beforeAll(async () => {
      api = await createApiServer({ db: hub.db });
      await api.listen({ host: '127.0.0.1', port: 0 });
      const addr = api.server.address();
      base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const org = (await createOrganization(hub.db, { name: 'Overview Org' })).id;
      for (const [who, role] of [['ops', 'member'], ['owner', 'owner']] as const) {
        await createUser(hub.db, { email: `${who}@overview.test`, password: PASSWORD, orgId: org, role });
        const r = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `${who}@overview.test`, password: PASSWORD }) });
        tokens[who] = ((await r.json()) as { token: string }).token;
      }
      await addOperator(hub.db, { email: 'ops@overview.test' });
    });
    afterAll(async () => api?.close());

    it('gives an operator the same document as the command', async () => {
      const r = await get(tokens.ops);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const lib = await syncOverview(hub.db);
      const timeless = (d: SyncOverview) => ({ ...d, generated_at: 0, nodes: d.nodes.map((n) => ({ ...n, lag_ms: typeof n.lag_ms })) });
      expect(timeless(r.body)).toEqual(timeless(lib));
      expect(r.body.attention).toBe(true);
      expect(app(byKey(r.body, 'aurora-town-local'), 'work').last_deploy?.status).toBe('failed');
    });

    it('refuses an organization owner who is not an operator (403) and anonymous callers (401)', async () => {
      const r = await get(tokens.owner);
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'operator_required' });
      expect(r.body.error.message).toMatch(/sync overview .*operators add/);
      expect((await get()).status).toBe(401);
    });
  });
});
