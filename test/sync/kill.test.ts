import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, onPostgres, tmpDir, waitFor, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

/**
 * kill -9 in the middle of a batch, on either side, in separate processes: the node's daemon while
 * pushing and while pulling, and the master (a PostgreSQL backend terminated under the daemon, or
 * the embedded master's `up` killed and started again). Afterwards everything is there exactly
 * once: no row missing, no change applied or relayed twice, no conflict, nothing parked.
 */
const env = { ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_ADMIN_EMAIL: undefined };
const ORG = '00000000-0000-4000-8000-000000000001';
const N = 2000;
const BATCH = '20';

function kill9(p: Spawned | undefined): Promise<unknown> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  p.child.kill('SIGKILL');
  return p.done;
}

describe(`sync: kill -9 mid-batch (${onPostgres ? 'postgres' : 'pglite'})`, () => {
  let hubTarget: TestTarget;
  let nodeTarget: TestTarget;
  let hubUp: Spawned | undefined;
  let hubPort = 0;
  let daemon: Spawned | undefined;
  let masterUrl: string;
  let nodeHome: string;
  let hub: pg.Client;
  let nodeId: string;
  const nodeArgs = () => [...nodeTarget.args, ...(nodeTarget.home ? [] : ['--home', nodeHome])];
  const node = (args: string[]) => runCli([...args, ...nodeArgs()], { env });
  const hubQuery = async (sql: string, params: unknown[] = []) => (await hub.query(sql, params)).rows;
  const hubCount = async (prefix: string) => Number((await hubQuery(`SELECT count(*) AS n FROM tasks WHERE title LIKE $1`, [`${prefix}%`]))[0].n);
  const nodeCount = async (prefix: string) => {
    const r = await node(['db', 'query', `SELECT count(*)::int AS n FROM tasks WHERE title LIKE '${prefix}%'`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return json(r).rows[0].n as number;
  };

  async function startHub(): Promise<void> {
    hubUp = spawnCli(['up', '--port', String(hubPort), '--no-api', '--no-sites', ...hubTarget.args], { env });
    hubPort = Number((await waitForStderr(hubUp, /socket:\s+127\.0\.0\.1:(\d+)/))[1]);
    await waitForStderr(hubUp, /press Ctrl-C to stop/);
  }
  async function connectHub(): Promise<void> {
    hub = new pg.Client({ connectionString: masterUrl });
    hub.on('error', () => {});
    await hub.connect();
  }
  const startDaemon = () => {
    daemon = spawnCli(['sync', 'run', '--batch-size', BATCH, '--pull-interval', '1h', ...nodeArgs()], { env });
    return daemon;
  };

  /** The hub holds each of the node's changes once, and nothing was lost to a conflict or parked. */
  async function expectExactlyOnceOnHub(prefix: string): Promise<void> {
    expect(await hubCount(prefix)).toBe(N);
    const [dup] = await hubQuery(
      `SELECT count(*)::int AS n, count(DISTINCT (origin_xid, origin_position))::int AS distinct_keys
         FROM sync.change_log WHERE origin_node_id = $1`,
      [nodeId],
    );
    expect(dup.n, 'each change relayed once').toBe(dup.distinct_keys);
    const [rel] = await hubQuery(`SELECT count(*)::int AS n FROM sync.change_log WHERE origin_node_id = $1 AND table_name = 'tasks' AND row_data ->> 'title' LIKE $2`, [nodeId, `${prefix}%`]);
    expect(rel.n, 'one relayed insert per row').toBe(N);
    expect((await hubQuery(`SELECT count(*)::int AS n FROM sync_conflicts`))[0].n).toBe(0);
    expect((await hubQuery(`SELECT count(*)::int AS n FROM sync.parked`))[0].n).toBe(0);
  }

  beforeAll(async () => {
    hubTarget = await createTarget();
    nodeTarget = await createTarget();
    nodeHome = nodeTarget.home ?? tmpDir('rv-sync-kill-home-');
    if (hubTarget.url) {
      masterUrl = hubTarget.url;
      const m = await runCli(['db', 'migrate', ...hubTarget.args], { env });
      expect(m.code, m.stderr).toBe(0);
    } else {
      await startHub();
      const pw = fs.readFileSync(path.join(hubTarget.home!, 'pgpass'), 'utf8').trim().split(':').pop()!;
      masterUrl = `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${hubPort}/postgres`;
    }
    await connectHub();
    expect((await node(['db', 'migrate'])).code).toBe(0);
    const j = await node(['sync', 'join', '--master', masterUrl, '--node', 'kill-node', '--json']);
    expect(j.code, j.stderr).toBe(0);
    nodeId = json(j).nodeId;
  }, 300_000);

  afterAll(async () => {
    await kill9(daemon);
    await hub?.end().catch(() => {});
    if (hubUp) {
      hubUp.child.kill('SIGINT');
      await hubUp.done;
    }
    await nodeTarget?.cleanup();
    await hubTarget?.cleanup();
    if (!nodeTarget?.home && nodeHome) fs.rmSync(nodeHome, { recursive: true, force: true });
  });

  it('the node daemon killed while pushing: the next run sends the rest, each change once', async () => {
    const w = await node(['db', 'query', `INSERT INTO tasks (org_id, title) SELECT '${ORG}', 'push-kill-' || i FROM generate_series(1, ${N}) i`]);
    expect(w.code, w.stderr).toBe(0);
    startDaemon();
    const seen = await waitFor(async () => {
      const n = await hubCount('push-kill-');
      return n > 0 ? n : undefined;
    }, 'the first pushed batch on the master', 60_000);
    await kill9(daemon);
    const atKill = await hubCount('push-kill-');
    expect(seen, 'killed in the middle of the push').toBeLessThan(N);
    expect(atKill).toBeLessThan(N);

    const r = await node(['sync', 'once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).push.sent).toBeGreaterThan(0);
    await expectExactlyOnceOnHub('push-kill-');
    const s = await node(['sync', 'status', '--json']);
    expect(json(s).nodes[0].outbound_backlog).toBe(0);
  });

  it('the node daemon killed while pulling: the next run applies the rest, each change once', async () => {
    await hubQuery(`INSERT INTO tasks (org_id, title) SELECT $1, 'pull-kill-' || i FROM generate_series(1, ${N}) i`, [ORG]);
    startDaemon();
    // The hub records the cursor each pull acknowledges: the daemon has applied up to it.
    await waitFor(async () => {
      const [r] = await hubQuery(
        `SELECT count(*)::int AS n FROM sync.change_log l JOIN sync.cursors k ON k.peer_node_id = $1 AND k.direction = 'pulled_by'
          WHERE l.table_name = 'tasks' AND l.row_data ->> 'title' LIKE 'pull-kill-%' AND (l.xid, l.position) <= (k.last_xid, k.last_position)`,
        [nodeId],
      );
      return r.n > 0 && r.n < N;
    }, 'a pull in progress', 60_000);
    await kill9(daemon);
    const atKill = await nodeCount('pull-kill-');
    expect(atKill, 'killed in the middle of the pull').toBeLessThan(N);

    const r = await node(['sync', 'once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await nodeCount('pull-kill-')).toBe(N);
    const c = await node(['db', 'query', `SELECT (SELECT count(*) FROM sync_conflicts)::int AS conflicts, (SELECT count(*) FROM sync.parked)::int AS parked,
        (SELECT count(*) FROM sync.change_log WHERE origin_node_id <> (SELECT node_id FROM sync.local))::int AS echoed`, '--json']);
    expect(json(c).rows[0]).toEqual({ conflicts: 0, parked: 0, echoed: 0 });
    const again = await node(['sync', 'once', '--json']);
    expect(json(again).pull.received + json(again).push.sent).toBe(0);
  });

  it(onPostgres ? 'the master\'s backend terminated mid-push: the daemon reconnects and finishes, each change once' : 'the embedded master killed -9 mid-push and started again: the daemon reconnects and finishes, each change once', async () => {
    const w = await node(['db', 'query', `INSERT INTO tasks (org_id, title) SELECT '${ORG}', 'hub-kill-' || i FROM generate_series(1, ${N}) i`]);
    expect(w.code, w.stderr).toBe(0);
    startDaemon();
    await waitFor(async () => (await hubCount('hub-kill-')) > 0, 'the first pushed batch on the master', 60_000);
    if (onPostgres) {
      const killed = await hubQuery(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'robbieverse-sync%'`,
      );
      expect(killed.length).toBeGreaterThan(0);
    } else {
      await hub.end().catch(() => {});
      await kill9(hubUp);
      await startHub();
      await connectHub();
    }
    expect(await hubCount('hub-kill-')).toBeLessThan(N);
    await waitFor(async () => (await hubCount('hub-kill-')) === N, 'every change on the master after the restart', 280_000).catch((err) => {
      throw new Error(`${(err as Error).message}\ndaemon output:\n${daemon!.stdout()}\n${daemon!.stderr()}`);
    });
    await kill9(daemon);
    const r = await node(['sync', 'once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    await expectExactlyOnceOnHub('hub-kill-');
  }, 360_000); // the daemon's retries back off (1 s doubling): a slow restart of the master can cost a minute or two
});
