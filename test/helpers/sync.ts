/**
 * A small sync network for tests: a hub and nodes, each a real database. On the PostgreSQL pass
 * the hub is a fresh server database; on the PGlite pass it is an embedded database served on a
 * socket in this process, as `robbieverse up` serves it. Nodes talk to the hub only when a test
 * calls `sync(node)` (there is no daemon here), so "cut link" simply means not calling it.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { PgliteDb } from '../../src/db/pglite.js';
import { PostgresDb } from '../../src/db/postgres.js';
import { serveSocket, type ServedSocket } from '../../src/db/socket.js';
import { socketUrl } from '../../src/db/open.js';
import type { Db, Queryable } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import type { MigrationFile } from '../../src/migrate/files.js';
import { migrate } from '../../src/migrate/runner.js';
import { exchange, type ExchangeResult, type SyncLink } from '../../src/sync/exchange.js';
import { joinMaster, type JoinResult } from '../../src/sync/join.js';
import { readSyncSettings } from '../../src/sync/settings.js';
import { createTarget, onPostgres, SERVER_URL, tmpDir, type TestTarget } from './db.js';

const SOCKET_PASSWORD = 'hub socket password for sync tests';

export type NodeKind = 'pglite' | 'postgres';

export interface Hub {
  kind: NodeKind;
  db: Db;
  /** The URL nodes join with (the hub's owner / the socket's user). */
  url: string;
  /** Closed for the PGlite hub's socket or a refused port on PostgreSQL, until `hubUp`. */
  down: boolean;
  socket?: ServedSocket;
  port?: number;
  home?: string;
  target?: TestTarget;
}

export interface SyncNode {
  name: string;
  kind: NodeKind;
  db: Db;
  home: string;
  target?: TestTarget;
  key?: string;
  nodeId?: string;
  /** The hub signed in as this node (from its sync.json); opened on first use. */
  hubConn?: PostgresDb;
  hub?: Hub;
  batchSize?: number;
}

const hubs: Hub[] = [];
const nodes: SyncNode[] = [];
const roles: string[] = [];

/** `files`: the migrations to apply (default all; fewer for upgrade tests). */
export async function createHub(files: MigrationFile[] = embeddedMigrations()): Promise<Hub> {
  let hub: Hub;
  if (onPostgres) {
    const target = await createTarget();
    hub = { kind: 'postgres', db: await target.open(), url: target.url!, down: false, target };
  } else {
    const home = tmpDir('rv-sync-hub-');
    const db = await PgliteDb.open(path.join(home, 'pgdata'));
    const socket = await serveSocket(db, '127.0.0.1', 0, { password: SOCKET_PASSWORD });
    hub = { kind: 'pglite', db, url: socketUrl(socket, SOCKET_PASSWORD), down: false, socket, port: socket.port, home };
  }
  hubs.push(hub);
  await migrate(hub.db, { files });
  return hub;
}

/** A migrated database and a home for its sync settings. 'postgres' only on the PostgreSQL pass. */
export async function createNode(name: string, kind: NodeKind = 'pglite', files: MigrationFile[] = embeddedMigrations()): Promise<SyncNode> {
  if (kind === 'postgres' && !onPostgres) throw new Error('a PostgreSQL node needs TEST_DATABASE_URL');
  const home = tmpDir(`rv-sync-${name}-`);
  let node: SyncNode;
  if (kind === 'postgres') {
    const target = await createTarget();
    node = { name, kind, db: await target.open(), home, target };
  } else {
    node = { name, kind, db: await PgliteDb.open(path.join(home, 'pgdata')), home };
  }
  nodes.push(node);
  await migrate(node.db, { files });
  return node;
}

/** On the PostgreSQL pass one PostgreSQL node and one PGlite node; on the PGlite pass both PGlite. */
export function nodeKinds(): [NodeKind, NodeKind] {
  return onPostgres ? ['postgres', 'pglite'] : ['pglite', 'pglite'];
}

export async function joinNode(hub: Hub, node: SyncNode, key: string, orgs?: string[]): Promise<JoinResult> {
  const r = await joinMaster(node.db, { masterUrl: hub.url, nodeKey: key, orgs, home: node.home });
  node.key = key;
  node.nodeId = r.nodeId;
  node.hub = hub;
  if (r.role) roles.push(r.role);
  return r;
}

/** The hub connection of a node, signed in with the credentials of its sync.json. */
export async function hubOf(node: SyncNode): Promise<PostgresDb> {
  if (node.hubConn) return node.hubConn;
  const settings = readSyncSettings(node.home);
  if (!settings) throw new Error(`node ${node.name} has not joined`);
  let url = settings.masterUrl;
  if (node.hub?.down && node.hub.kind === 'postgres') {
    // The shared test server cannot be stopped: the hub's address becomes a port nobody listens on.
    const u = new URL(url);
    u.port = String(await refusedPort());
    url = u.toString();
  }
  node.hubConn = await PostgresDb.open(url, { max: 2, applicationName: `sync-test ${node.name}` });
  return node.hubConn;
}

export function linkOf(node: SyncNode, hubConn: Db): SyncLink {
  return { local: node.db, hub: hubConn, nodeKey: node.key!, ...(node.batchSize ? { batchSize: node.batchSize } : {}) };
}

/** One exchange of the node with its hub (hello → push → pull), as the daemon would run it. */
export async function sync(node: SyncNode, what?: { push?: boolean; pull?: boolean }): Promise<ExchangeResult> {
  return exchange(linkOf(node, await hubOf(node)), what);
}

/** Exchanges round-robin until a whole round moves nothing; returns the number of rounds. */
export async function syncUntilQuiet(list: SyncNode[], maxRounds = 6): Promise<number> {
  for (let round = 1; round <= maxRounds; round++) {
    let moved = 0;
    for (const n of list) {
      const r = await sync(n);
      moved += r.push.sent + r.pull.received;
    }
    if (moved === 0) return round;
  }
  throw new Error(`the network was not quiet after ${maxRounds} rounds`);
}

async function refusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
    });
  });
}

/** The hub becomes unreachable: the PGlite hub stops serving its socket; on PostgreSQL nodes get a dead port. */
export async function hubDown(hub: Hub): Promise<void> {
  hub.down = true;
  for (const n of nodes.filter((x) => x.hub === hub)) {
    await n.hubConn?.close().catch(() => {});
    n.hubConn = undefined;
  }
  if (hub.socket) {
    await hub.socket.stop();
    hub.socket = undefined;
  }
}

export async function hubUp(hub: Hub): Promise<void> {
  if (hub.kind === 'pglite' && !hub.socket) {
    hub.socket = await serveSocket(hub.db as PgliteDb, '127.0.0.1', hub.port!, { password: SOCKET_PASSWORD });
  }
  hub.down = false;
  for (const n of nodes.filter((x) => x.hub === hub)) {
    await n.hubConn?.close().catch(() => {});
    n.hubConn = undefined;
  }
}

/**
 * md5 of a table's rows (to_jsonb, every column) ordered by id, timestamps rendered in UTC so a
 * PostgreSQL node and a PGlite node compare equal. `where` narrows it (e.g. to one org).
 */
export async function checksum(db: Db, table: string, where = 'true'): Promise<{ md5: string; rows: number }> {
  return db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL TimeZone = 'UTC'`);
    const { rows } = await tx.query<{ md5: string; n: number }>(
      `SELECT md5(coalesce(string_agg(to_jsonb(t)::text, E'\\n' ORDER BY t.id), '')) AS md5, count(*)::int AS n FROM public.${table} t WHERE ${where}`,
    );
    return { md5: rows[0]!.md5, rows: Number(rows[0]!.n) };
  });
}

export async function scalar<T = string>(db: Queryable, sql: string, params?: unknown[]): Promise<T> {
  const { rows } = await db.query<{ v: T }>(sql, params);
  return rows[0]?.v as T;
}

export async function count(db: Queryable, sql: string, params?: unknown[]): Promise<number> {
  return Number(await scalar(db, sql, params));
}

/** The version (hlc as text, node id, deleted) a database holds for a row. */
export async function versionOf(db: Queryable, table: string, id: string): Promise<{ hlc: string; node_id: string; deleted: boolean } | undefined> {
  const { rows } = await db.query<{ hlc: string; node_id: string; deleted: boolean }>(
    `SELECT hlc::text AS hlc, node_id::text AS node_id, deleted FROM sync.row_versions WHERE table_name = $1 AND record_id = $2`,
    [table, id],
  );
  return rows[0];
}

/** Organizations X and Y and a user who is a member of both, made on the hub before nodes join. */
export async function seedHub(hub: Hub): Promise<{ orgX: string; orgY: string; userId: string }> {
  const { rows } = await hub.db.query<{ x: string; y: string }>(
    `WITH x AS (INSERT INTO organizations (name) VALUES ('Org X') RETURNING id),
          y AS (INSERT INTO organizations (name) VALUES ('Org Y') RETURNING id)
     SELECT (SELECT id FROM x)::text AS x, (SELECT id FROM y)::text AS y`,
  );
  const { x, y } = rows[0]!;
  const u = await hub.db.query<{ id: string }>(
    `INSERT INTO users (org_id, email, password_hash) VALUES ($1, 'member@sync.example', 'not a real hash') RETURNING id::text AS id`,
    [x],
  );
  const userId = u.rows[0]!.id;
  await hub.db.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $3, 'owner'), ($2, $3, 'owner')`, [x, y, userId]);
  return { orgX: x, orgY: y, userId };
}

/** Closes every hub, node and hub connection made here and removes their databases and homes. */
export async function closeAll(): Promise<void> {
  for (const n of nodes.splice(0)) {
    await n.hubConn?.close().catch(() => {});
    await n.db.close().catch(() => {});
    await n.target?.cleanup().catch(() => {});
    fs.rmSync(n.home, { recursive: true, force: true });
  }
  for (const h of hubs.splice(0)) {
    await h.socket?.stop().catch(() => {});
    await h.db.close().catch(() => {});
    await h.target?.cleanup().catch(() => {});
    if (h.home) fs.rmSync(h.home, { recursive: true, force: true });
  }
  if (SERVER_URL && roles.length) {
    const a = new pg.Client({ connectionString: SERVER_URL });
    await a.connect();
    for (const r of roles.splice(0)) await a.query(`DROP ROLE IF EXISTS "${r.replace(/"/g, '""')}"`).catch(() => {});
    await a.end();
  }
}
