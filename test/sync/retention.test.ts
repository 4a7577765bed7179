import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '../../src/db/pglite.js';
import { PostgresDb } from '../../src/db/postgres.js';
import { serveSocket, type ServedSocket } from '../../src/db/socket.js';
import { socketUrl } from '../../src/db/open.js';
import type { Db, Queryable } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { exchange } from '../../src/sync/exchange.js';
import { joinMaster } from '../../src/sync/join.js';
import { purgeSyncLog } from '../../src/sync/purge.js';
import { readSyncSettings } from '../../src/sync/settings.js';
import { createTarget, onPostgres, SERVER_URL, tmpDir, type TestTarget } from '../helpers/db.js';

/**
 * Log retention and re-seed (SYNC.md §4.5, §4.7): a hub (a PostgreSQL database, or on the PGlite
 * pass an in-memory PGlite served on a socket as `up` serves it) and two nodes, exchanging only
 * when a test says so.
 */
const ORG = '00000000-0000-4000-8000-000000000001';
const HOUR = 3_600_000;

interface Node {
  key: string;
  db: Db;
  home: string;
  target?: TestTarget;
  hub?: PostgresDb;
}

async function n(db: Queryable, sql: string, params?: unknown[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

describe(`sync log retention and re-seed (${onPostgres ? 'postgres' : 'pglite'} hub)`, () => {
  let hubDb: Db;
  let hubTarget: TestTarget | undefined;
  let socket: ServedSocket | undefined;
  let hubUrl: string;
  const nodes: Node[] = [];
  let a: Node;
  let b: Node;
  const roles: string[] = [];

  async function makeNode(key: string, kind: 'pglite' | 'postgres'): Promise<Node> {
    const home = tmpDir(`rv-retention-${key}-`);
    let node: Node;
    if (kind === 'postgres') {
      const target = await createTarget();
      node = { key, db: await target.open(), home, target };
    } else node = { key, db: await PgliteDb.open(), home };
    nodes.push(node);
    await migrate(node.db, { files: embeddedMigrations() });
    const r = await joinMaster(node.db, { masterUrl: hubUrl, nodeKey: key, home });
    if (r.role) roles.push(r.role);
    return node;
  }

  async function hubOf(node: Node): Promise<PostgresDb> {
    node.hub ??= await PostgresDb.open(readSyncSettings(node.home)!.masterUrl, { max: 1 });
    return node.hub;
  }
  const sync = async (node: Node, what?: { push?: boolean; pull?: boolean }) => exchange({ local: node.db, hub: await hubOf(node), nodeKey: node.key }, what);
  const task = async (db: Queryable, title: string) =>
    (await db.query<{ id: string }>(`INSERT INTO tasks (org_id, title) VALUES ($1, $2) RETURNING id::text AS id`, [ORG, title])).rows[0]!.id;
  const logRows = (db: Queryable, id: string) => n(db, `SELECT count(*) AS n FROM sync.change_log WHERE record_id = $1`, [id]);
  const tombstone = (db: Queryable, id: string) => n(db, `SELECT count(*) AS n FROM sync.row_versions WHERE record_id = $1 AND deleted`, [id]);
  const hasTask = (db: Queryable, title: string) => n(db, `SELECT count(*) AS n FROM tasks WHERE title = $1`, [title]);

  beforeAll(async () => {
    if (onPostgres) {
      hubTarget = await createTarget();
      hubDb = await hubTarget.open();
      hubUrl = hubTarget.url!;
    } else {
      hubDb = await PgliteDb.open();
      socket = await serveSocket(hubDb, '127.0.0.1', 0, { password: 'retention test' });
      hubUrl = socketUrl(socket, 'retention test');
    }
    await migrate(hubDb, { files: embeddedMigrations() });
    a = await makeNode('retention-a', onPostgres ? 'postgres' : 'pglite');
    b = await makeNode('retention-b', 'pglite');
  });

  afterAll(async () => {
    for (const node of nodes) {
      await node.hub?.close().catch(() => {});
      await node.db.close().catch(() => {});
      await node.target?.cleanup();
      fs.rmSync(node.home, { recursive: true, force: true });
    }
    await socket?.stop().catch(() => {});
    await hubDb?.close().catch(() => {});
    await hubTarget?.cleanup();
    if (SERVER_URL && roles.length) {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      for (const r of roles) await c.query(`DROP ROLE IF EXISTS "${r}"`).catch(() => {});
      await c.end();
    }
  });

  it('a node that joined but never pulled holds the whole log; the default retention keeps fresh rows', async () => {
    const t = await task(hubDb, 'before anyone pulled');
    const r = await purgeSyncLog(hubDb, { retentionMs: 0 });
    expect(r).toMatchObject({ role: 'hub', log_rows: 0 });
    expect(r.held_by.length).toBeGreaterThan(0);
    expect(await logRows(hubDb, t)).toBe(1);
    await sync(a);
    await sync(b);
    // both pulled past it now, but it is younger than 30 days
    expect((await purgeSyncLog(hubDb)).log_rows).toBe(0);
    expect(await logRows(hubDb, t)).toBe(1);
  });

  it('purge keeps what a lagging node still needs and removes what every node passed', async () => {
    const seen = await task(hubDb, 'pulled by both');
    const gone = await task(hubDb, 'deleted on the hub, both pulled');
    await hubDb.query(`DELETE FROM tasks WHERE id = $1`, [gone]);
    await sync(a);
    await sync(b);
    const lagging = await task(hubDb, 'pulled by A only');
    const lateDelete = await task(hubDb, 'deleted, pulled by A only');
    await hubDb.query(`DELETE FROM tasks WHERE id = $1`, [lateDelete]);
    await sync(a);
    expect(await tombstone(hubDb, gone)).toBe(1);

    const r = await purgeSyncLog(hubDb, { retentionMs: 0 });
    expect(r.log_rows).toBeGreaterThanOrEqual(4);
    expect(r.held_by).toEqual(['retention-b']);
    expect(r.horizon).not.toBeNull();
    expect(await logRows(hubDb, seen)).toBe(0);
    expect(await logRows(hubDb, gone)).toBe(0);
    expect(await tombstone(hubDb, gone)).toBe(0); // every node has the delete
    expect(await logRows(hubDb, lagging)).toBe(1);
    expect(await logRows(hubDb, lateDelete)).toBe(2);
    expect(await tombstone(hubDb, lateDelete)).toBe(1); // B has not seen the delete yet

    // B is at the horizon, not behind it: it catches up normally
    const p = await sync(b);
    expect(p.pull.received).toBeGreaterThanOrEqual(2);
    expect(await hasTask(b.db, 'pulled by A only')).toBe(1);
    expect(await hasTask(b.db, 'deleted, pulled by A only')).toBe(0);
    await sync(a);
    await purgeSyncLog(hubDb, { retentionMs: 0 });
    expect(await logRows(hubDb, lateDelete)).toBe(0);
    expect(await tombstone(hubDb, lateDelete)).toBe(0);
  });

  it.skipIf(!onPostgres)('a long transaction in another database of the server does not hold the purge back', async () => {
    const other = new pg.Client({ connectionString: SERVER_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()'); // holds the server-wide xmin from now on
      const done = await task(hubDb, 'pulled by both while another database has a transaction open');
      await sync(a);
      await sync(b);
      const r = await purgeSyncLog(hubDb, { retentionMs: 0 });
      expect(r.log_rows).toBeGreaterThanOrEqual(1);
      expect(await logRows(hubDb, done)).toBe(0);
    } finally {
      await other.query('ROLLBACK').catch(() => {});
      await other.end();
    }
  });

  it('on a node, purge removes its own changes the hub acknowledged and keeps those still waiting', async () => {
    const pushed = await task(a.db, 'pushed from A');
    await sync(a);
    const waiting = await task(a.db, 'not pushed yet from A');
    const r = await purgeSyncLog(a.db, { retentionMs: 0 });
    expect(r).toMatchObject({ role: 'node' });
    expect(r.log_rows).toBeGreaterThanOrEqual(1);
    expect(await logRows(a.db, pushed)).toBe(0);
    expect(await logRows(a.db, waiting)).toBe(1);
    await sync(a);
    expect(await hasTask(hubDb, 'not pushed yet from A')).toBe(1);
  });

  it('a node behind the horizon gets E_SYNC_RESEED; join --reseed pushes its pending change, then brings it back', async () => {
    await sync(b);
    // B stops pulling; the hub moves on and, past the grace period, no longer waits for B
    await task(hubDb, 'written while B was away');
    await sync(a);
    await hubDb.query(`UPDATE sync.cursors SET updated_at = now() - interval '2 hours' WHERE direction = 'pulled_by' AND peer_node_id = (SELECT id FROM nodes WHERE node_key = 'retention-b')`);
    const r = await purgeSyncLog(hubDb, { retentionMs: 0, nodeGraceMs: HOUR });
    expect(r.released).toEqual(['retention-b']);
    expect(r.held_by).toEqual(['retention-a']);
    expect(await n(hubDb, `SELECT count(*) AS n FROM sync.change_log l JOIN tasks t ON t.id = l.record_id WHERE t.title = 'written while B was away'`)).toBe(0);

    const err = await sync(b).then(() => undefined, (e: unknown) => e as { code?: string; hint?: string; message: string });
    expect(err?.code).toBe('E_SYNC_RESEED');
    expect(err?.hint).toMatch(/sync join .*--reseed/);
    expect(await hasTask(b.db, 'written while B was away')).toBe(0); // nothing pulled
    const rejected = await n(hubDb, `SELECT count(*) AS n FROM sync.rejections WHERE node_key = 'retention-b' AND reason = 'reseed_required'`);
    expect(rejected).toBe(1);
    const status = await hubDb.query<{ health: string; last_error: string }>(`SELECT health, last_error FROM sync_node_status WHERE node_key = 'retention-b'`);
    expect(status.rows[0]).toMatchObject({ health: 'error' });
    expect(status.rows[0]!.last_error).toMatch(/reseed_required/);

    // a change made on B after that is not on the hub yet; the re-seed pushes it first
    await task(b.db, 'written on B, not pushed');
    expect(await hasTask(hubDb, 'written on B, not pushed')).toBe(0);
    const j = await joinMaster(b.db, { masterUrl: hubUrl, nodeKey: b.key, home: b.home, reseed: true });
    expect(j).toMatchObject({ seeded: true, alreadyJoined: true });
    expect(j.pushed).toBeGreaterThanOrEqual(1);
    expect(await hasTask(hubDb, 'written on B, not pushed')).toBe(1);
    expect(await hasTask(b.db, 'written on B, not pushed')).toBe(1);
    expect(await hasTask(b.db, 'written while B was away')).toBe(1);

    const ok = await sync(b);
    expect(ok.pull.received).toBe(0);
    const after = await hubDb.query<{ health: string }>(`SELECT health FROM sync_node_status WHERE node_key = 'retention-b'`);
    expect(after.rows[0]!.health).toBe('healthy');
    // and it receives new changes again
    await task(hubDb, 'after the re-seed');
    await sync(b);
    expect(await hasTask(b.db, 'after the re-seed')).toBe(1);
  });

  it('refuses a negative retention', async () => {
    await expect(hubDb.query(`SELECT sync.purge(interval '-1 day')`)).rejects.toThrow(/retention must be zero or more/);
  });
});

describe.runIf(onPostgres)('migration 033 on a hub that already has node roles (postgres)', () => {
  it('moves their EXECUTE to the new sync.pull and registers them, so they keep pulling and hold the log', async () => {
    const target = await createTarget();
    const db = await target.open();
    const role = `rv_node_h6_upgrade_${process.pid}`;
    try {
      await migrate(db, { files: embeddedMigrations().filter((f) => f.version <= 32) });
      await db.query(`SELECT sync.register_node('upgrade-node', NULL, $1)`, [role]);
      await db.exec(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA sync TO ${role};
                     GRANT EXECUTE ON FUNCTION sync.pull(text, text, bigint, bigint, integer) TO ${role}`);
      await migrate(db, { files: embeddedMigrations() });
      const { rows } = await db.query<{ pull: boolean; inner: boolean }>(
        `SELECT has_function_privilege($1, 'sync.pull(text, text, bigint, bigint, integer)', 'EXECUTE') AS pull,
                has_function_privilege($1, 'sync.pull_after_horizon_check(text, text, bigint, bigint, integer)', 'EXECUTE') AS inner`,
        [role],
      );
      expect(rows[0]).toEqual({ pull: true, inner: false });
      expect(await n(db, `SELECT count(*) AS n FROM sync.registrations r JOIN nodes x ON x.id = r.node_id WHERE x.node_key = 'upgrade-node'`)).toBe(1);
      await db.query(`INSERT INTO tasks (org_id, title) VALUES ($1, 'logged before the node pulled')`, [ORG]);
      expect((await purgeSyncLog(db, { retentionMs: 0 })).held_by).toEqual(['upgrade-node']);
    } finally {
      await db.close();
      await target.cleanup();
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await c.end();
    }
  });
});
