import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, onPostgres, tmpDir, waitFor, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

/**
 * The sync commands end to end, in separate processes: a master (a PostgreSQL database, or on the
 * PGlite pass an embedded database served by `up` on its socket) and a node joined to it.
 */
const env = { ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_ADMIN_EMAIL: undefined };
const ORG = '00000000-0000-4000-8000-000000000001';

function stop(p: Spawned | undefined): Promise<unknown> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  p.child.kill('SIGINT');
  return p.done;
}

describe(`sync commands (${onPostgres ? 'postgres' : 'pglite'})`, () => {
  let hubTarget: TestTarget;
  let nodeTarget: TestTarget;
  let hubUp: Spawned | undefined;
  let nodeUp: Spawned | undefined;
  let masterUrl: string;
  let nodeHome: string;
  let hubClient: pg.Client;
  const node = (args: string[]) => runCli([...args, ...nodeTarget.args, ...(nodeTarget.home ? [] : ['--home', nodeHome])], { env });
  const hubCount = async (title: string) => Number((await hubClient.query('SELECT count(*) AS n FROM tasks WHERE title = $1', [title])).rows[0].n);
  const nodeCount = async (title: string) => {
    const r = await node(['db', 'query', `SELECT count(*)::int AS n FROM tasks WHERE title = '${title}'`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return json(r).rows[0].n as number;
  };

  beforeAll(async () => {
    hubTarget = await createTarget();
    nodeTarget = await createTarget();
    nodeHome = nodeTarget.home ?? tmpDir('rv-sync-node-home-');
    if (hubTarget.url) {
      masterUrl = hubTarget.url;
      const m = await runCli(['db', 'migrate', ...hubTarget.args], { env });
      expect(m.code, m.stderr).toBe(0);
    } else {
      hubUp = spawnCli(['up', '--port', '0', '--no-api', '--no-sites', ...hubTarget.args], { env });
      const port = (await waitForStderr(hubUp, /socket:\s+127\.0\.0\.1:(\d+)/))[1];
      await waitForStderr(hubUp, /press Ctrl-C to stop/);
      const pw = fs.readFileSync(path.join(hubTarget.home!, 'pgpass'), 'utf8').trim().split(':').pop()!;
      masterUrl = `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${port}/postgres`;
    }
    hubClient = new pg.Client({ connectionString: masterUrl });
    await hubClient.connect();
    const m = await node(['db', 'migrate']);
    expect(m.code, m.stderr).toBe(0);
  });

  afterAll(async () => {
    await stop(nodeUp);
    await hubClient?.end().catch(() => {});
    await stop(hubUp);
    await nodeTarget?.cleanup();
    await hubTarget?.cleanup();
    if (!nodeTarget?.home && nodeHome) fs.rmSync(nodeHome, { recursive: true, force: true });
  });

  it('refuses a node key that is not valid, with a hint, and writes nothing', async () => {
    const r = await node(['sync', 'join', '--master', masterUrl, '--node', 'Not A Key']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/node key "Not A Key" is not valid/);
    expect(r.stderr).toMatch(/hint:/);
    expect(fs.existsSync(path.join(nodeHome, 'sync.json'))).toBe(false);
  });

  it('sync once before joining says to join first (exit 2)', async () => {
    const r = await node(['sync', 'once']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has not joined a master/);
    expect(r.stderr).toMatch(/sync join --master URL --node KEY/);
  });

  it('sync overview before joining: every branded node as standalone, exit 0; --help teaches the exit codes', async () => {
    const r = await node(['sync', 'overview']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^this database does not sync: every node with branding or deploys/);
    expect(r.stdout).toMatch(/ vengeance-local\s+\| standalone \| —/);
    const j = await node(['sync', 'overview', '--json']);
    expect(j.code, j.stderr).toBe(0);
    expect(json(j)).toMatchObject({ role: null, attention: false });
    const help = await runCli(['sync', 'overview', '--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Lag: the larger of/);
    expect(help.stdout).toMatch(/\$ robbieverse sync overview --url "\$MASTER_ADMIN_URL"/);
    expect(help.stdout).toMatch(/1 needs attention: a node's health is error or offline, or the last deploy of an\s+enabled app failed/);
  });

  it('joins, seeds from the master, keeps the credentials owner-only; joining again is idempotent', async () => {
    await hubClient.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'made on the master before the join')`, [ORG]);
    const r = await node(['sync', 'join', '--master', masterUrl, '--node', 'test-node-a', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j).toMatchObject({ nodeKey: 'test-node-a', seeded: true, alreadyJoined: false });
    if (onPostgres) expect(j.role).toMatch(/^rv_node_test_node_a_[0-9a-f]{8}$/);
    else expect(j.role).toBeNull();
    const file = path.join(nodeHome, 'sync.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (onPostgres) expect(new URL(settings.masterUrl).username).toBe(j.role);
    // the URL with its password is in the owner-only file, never in the node's database
    const leak = await node(['db', 'query', `SELECT count(*)::int AS n FROM nodes WHERE metadata::text LIKE '%postgres://%'`, '--json']);
    expect(json(leak).rows[0].n).toBe(0);
    expect(await nodeCount('made on the master before the join')).toBe(1);

    const again = await node(['sync', 'join', '--master', masterUrl, '--node', 'test-node-a', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(json(again)).toMatchObject({ alreadyJoined: true, seeded: false });
    expect(await nodeCount('made on the master before the join')).toBe(1);
  });

  it('sync once pushes a local write and pulls a master write, printing what moved', async () => {
    const w = await node(['db', 'query', `INSERT INTO tasks (org_id, title) VALUES ('${ORG}', 'written on the node')`]);
    expect(w.code, w.stderr).toBe(0);
    const r = await node(['sync', 'once']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pushed \d+ changes? \(\d+ applied on the master/);
    expect(await hubCount('written on the node')).toBe(1);

    await hubClient.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'written on the master')`, [ORG]);
    const p = await node(['sync', 'once', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(json(p).pull.received).toBeGreaterThanOrEqual(1);
    expect(await nodeCount('written on the master')).toBe(1);

    // quiet now: nothing moves either way
    const q = await node(['sync', 'once', '--json']);
    expect(json(q).push.sent).toBe(0);
    expect(json(q).pull.received).toBe(0);
  });

  it('status on the master and on the node', async () => {
    const onHub = await runCli(['sync', 'status', '--json', ...hubTarget.args], { env });
    expect(onHub.code, onHub.stderr).toBe(0);
    const h = json(onHub);
    expect(h.role).toBe('hub');
    expect(h.nodes.find((n: { node_key: string }) => n.node_key === 'test-node-a')).toMatchObject({ health: 'healthy', schema_match: true, inbound_backlog: 0 });
    const onNode = await node(['sync', 'status', '--json']);
    expect(json(onNode)).toMatchObject({ role: 'node', nodeKey: 'test-node-a' });
    expect(json(onNode).nodes[0]).toMatchObject({ health: 'healthy', outbound_backlog: 0, schema_match: true });

    // the overview: the master sees the joined node beside the branded ones it builds for; the node only itself
    const ovHub = await runCli(['sync', 'overview', '--json', ...hubTarget.args], { env });
    expect(ovHub.code, ovHub.stderr).toBe(0);
    const oh = json(ovHub);
    expect(oh).toMatchObject({ role: 'hub', attention: false });
    expect(oh.nodes.find((n: { node_key: string }) => n.node_key === 'test-node-a')).toMatchObject({ sync: 'joined', health: 'healthy', inbound_backlog: 0, apps: [] });
    expect(oh.nodes.find((n: { node_key: string }) => n.node_key === 'vengeance-local')).toMatchObject({ sync: 'not_joined', health: null });
    const ovNode = await node(['sync', 'overview']);
    expect(ovNode.code, ovNode.stderr).toBe(0);
    expect(ovNode.stdout).toMatch(/^node test-node-a: this node only/);
    expect(ovNode.stdout).toMatch(/ test-node-a \| healthy \| [^|]+\| 0\s+\| 0\s+\| 0\s+\| —/);
    expect(ovNode.stdout).toMatch(/\(1 row\)/);
  });

  it('a schema mismatch moves nothing and exits 3; after aligning, the queued change arrives', async () => {
    expect((await node(['db', 'query', `ALTER TABLE tasks ADD COLUMN sync_test_extra integer`])).code).toBe(0);
    expect((await node(['db', 'query', `INSERT INTO tasks (org_id, title) VALUES ('${ORG}', 'queued during mismatch')`])).code).toBe(0);
    const r = await node(['sync', 'once']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/schema mismatch/);
    expect(r.stderr).toMatch(/upgrade the hub first/);
    expect(await hubCount('queued during mismatch')).toBe(0);
    const s = await node(['sync', 'status', '--json']);
    expect(json(s).nodes[0]).toMatchObject({ health: 'error', schema_match: false });

    expect((await node(['db', 'query', `ALTER TABLE tasks DROP COLUMN sync_test_extra`])).code).toBe(0);
    const ok = await node(['sync', 'once']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await hubCount('queued during mismatch')).toBe(1);
  });

  it('an unreachable master exits 5 and keeps the local change for later', async () => {
    const file = path.join(nodeHome, 'sync.json');
    const saved = fs.readFileSync(file, 'utf8');
    const s = JSON.parse(saved);
    const u = new URL(s.masterUrl);
    u.port = '1';
    fs.writeFileSync(file, JSON.stringify({ ...s, masterUrl: u.toString() }), { mode: 0o600 });
    try {
      expect((await node(['db', 'query', `INSERT INTO tasks (org_id, title) VALUES ('${ORG}', 'while the master was away')`])).code).toBe(0);
      const r = await node(['sync', 'once']);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/unreachable/);
      expect(r.stderr).not.toContain(decodeURIComponent(new URL(s.masterUrl).password)); // no password in the message
    } finally {
      fs.writeFileSync(file, saved, { mode: 0o600 });
    }
    const ok = await node(['sync', 'once']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await hubCount('while the master was away')).toBe(1);
  });

  it('up on a joined node runs the daemon: a local write is on the master within 1 s, a master write arrives at the next pull', async () => {
    nodeUp = spawnCli(['up', '--port', '0', '--no-api', '--no-sites', '--pull-interval', '2s', ...nodeTarget.args, ...(nodeTarget.home ? [] : ['--home', nodeHome])], { env });
    await waitForStderr(nodeUp, /sync:\s+node test-node-a/);
    await waitForStderr(nodeUp, /press Ctrl-C to stop/);
    const w = await node(['db', 'query', `INSERT INTO tasks (org_id, title) VALUES ('${ORG}', 'pushed by the daemon')`]);
    expect(w.code, w.stderr).toBe(0);
    await waitFor(async () => (await hubCount('pushed by the daemon')) === 1, 'the local write on the master', 1_000);

    await hubClient.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'pulled by the daemon')`, [ORG]);
    await waitFor(async () => (await nodeCount('pulled by the daemon')) === 1, 'the master write on the node', 15_000);
  });
});
