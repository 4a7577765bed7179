/**
 * `sync join`: registers this database as a node of a master and seeds it from one consistent
 * snapshot of the master. Idempotent: joining again under the same key keeps the data; with
 * another organization scope (or when asked) the node sends its pending changes and is seeded again.
 */
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { PostgresDb } from '../db/postgres.js';
import type { Db, Queryable } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { refusalError } from './errors.js';
import { exchange, localSchemaVersion } from './exchange.js';
import { readSyncSettings, redactMasterUrl, writeSyncSettings, type SyncSettings } from './settings.js';

export const NODE_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const SNAPSHOT_PAGE = 1000;

/** The functions a node's role may execute on the hub, and nothing else. */
export const HUB_EXCHANGE_FUNCTIONS = [
  'sync.hello(text, text)',
  'sync.push(text, text, jsonb)',
  'sync.pull(text, text, bigint, bigint, integer)',
  'sync.pull_done(text, bigint, bigint, integer)',
  'sync.snapshot_begin(text, text)',
  'sync.snapshot_page(text, text, uuid, integer)',
];

export type JoinEvent =
  | { type: 'registered'; nodeKey: string; nodeId: string; role: string | null }
  | { type: 'pushed'; changes: number }
  | { type: 'seed-table'; table: string; rows: number }
  | { type: 'seeded'; rows: number; removed: Record<string, number>; ms: number };

export interface JoinOptions {
  masterUrl: string;
  nodeKey: string;
  /** Organization ids or names on the master; empty/undefined = all organizations. */
  orgs?: string[];
  /** Where the node's settings file goes (the node's home). */
  home: string;
  /** Seed again even if this database already joined under this key (pending local changes are pushed first). */
  reseed?: boolean;
  logger?: Logger;
  onEvent?: (e: JoinEvent) => void;
}

export interface JoinResult {
  nodeKey: string;
  nodeId: string;
  hubNodeId: string;
  hubNodeKey: string;
  orgScope: string[] | null;
  role: string | null;
  seeded: boolean;
  rows: number;
  /** Re-seed: local changes pushed to the master before the snapshot replaced the synced tables. */
  pushed: number;
  alreadyJoined: boolean;
}

/**
 * Roles belong to the whole server, not to one database: the name carries a hash of the master
 * database's name, so two masters on one server (or a test server's many databases) never share
 * a node role. At most 63 characters.
 */
export function roleNameFor(nodeKey: string, database: string): string {
  const db = crypto.createHash('md5').update(database).digest('hex').slice(0, 8);
  return `rv_node_${nodeKey.replace(/[^a-z0-9_]/g, '_').slice(0, 45)}_${db}`;
}

const quoteIdent = (s: string) => '"' + s.replace(/"/g, '""') + '"';
const quoteLiteral = (s: string) => "'" + s.replace(/'/g, "''") + "'";

async function resolveOrgs(hub: Queryable, orgs: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const o of orgs) {
    const { rows } = await hub.query<{ id: string }>(
      `SELECT id::text AS id FROM organizations WHERE id::text = lower($1) OR lower(name) = lower($1)`,
      [o],
    );
    if (rows.length !== 1) {
      throw new RobbieverseError('E_USAGE', rows.length ? `organization "${o}" is ambiguous on the master` : `organization "${o}" does not exist on the master`, {
        hint: 'pass the organization id (`robbieverse orgs list --url MASTER` shows them)',
      });
    }
    ids.push(rows[0]!.id);
  }
  return [...new Set(ids)];
}

async function hubHasSync(hub: Queryable): Promise<boolean> {
  const { rows } = await hub.query<{ ok: boolean }>(`SELECT to_regprocedure('sync.schema_version()') IS NOT NULL AS ok`);
  return rows[0]!.ok;
}

/** Creates or updates the node's role on a server hub; returns its name and a fresh password. */
async function ensureNodeRole(admin: Queryable, nodeKey: string, previous: string | undefined): Promise<{ role: string; password: string } | null> {
  const { rows } = await admin.query<{ pglite: boolean; can: boolean; db: string }>(
    `SELECT version() ~* 'pglite' AS pglite, current_database() AS db,
            (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS can`,
  );
  const r = rows[0]!;
  // PGlite's socket knows one user: the hub trusts it for every node (a local demo).
  if (r.pglite) return null;
  if (!r.can) {
    throw new RobbieverseError('E_USAGE', 'the master URL\'s role may not create roles, so this node cannot get a role of its own', {
      hint: 'join with the URL of a role that has CREATEROLE (the node is then given its own role that may only call the sync functions)',
    });
  }
  const role = roleNameFor(nodeKey, r.db);
  const password = previous ?? crypto.randomBytes(24).toString('base64url');
  // One string is one implicit transaction: the advisory lock serializes nodes joining at the same
  // moment, whose GRANTs would otherwise update the same catalog rows ("tuple concurrently updated").
  await admin.exec(`SELECT pg_advisory_xact_lock(hashtext('robbieverse.sync.node-roles'));
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${quoteLiteral(role)}) THEN
        CREATE ROLE ${quoteIdent(role)} LOGIN;
      END IF;
    END $$;
    ALTER ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)};
    GRANT CONNECT ON DATABASE ${quoteIdent(r.db)} TO ${quoteIdent(role)};
    GRANT USAGE ON SCHEMA sync TO ${quoteIdent(role)};
    GRANT EXECUTE ON FUNCTION ${HUB_EXCHANGE_FUNCTIONS.join(', ')} TO ${quoteIdent(role)};`);
  return { role, password };
}

function urlWithCredentials(masterUrl: string, role: string, password: string): string {
  const u = new URL(masterUrl);
  u.username = encodeURIComponent(role);
  u.password = encodeURIComponent(password);
  return u.toString();
}

function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether two organization scopes (null = all organizations) differ as sets. */
function scopeChanged(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a !== b;
  const x = new Set(a.map((id) => id.toLowerCase()));
  const y = new Set(b.map((id) => id.toLowerCase()));
  return x.size !== y.size || [...y].some((id) => !x.has(id));
}

/** Sends the node's changes the hub has not applied yet, with the node's own credentials. */
async function pushPending(local: Db, settings: SyncSettings, logger?: Logger): Promise<number> {
  const hub = await PostgresDb.open(settings.masterUrl, { max: 1, applicationName: `robbieverse-sync ${settings.nodeKey}` });
  try {
    const r = await exchange({ local, hub, nodeKey: settings.nodeKey, logger }, { pull: false });
    return r.push.sent;
  } finally {
    await hub.close();
  }
}

/** Refuses a node key that is not one (used before anything is opened, by join and by `up --master`). */
export function assertNodeKey(nodeKey: string): void {
  if (!NODE_KEY_PATTERN.test(nodeKey)) {
    throw new RobbieverseError('E_USAGE', `node key "${nodeKey}" is not valid`, {
      hint: 'use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. vengeance-local)',
    });
  }
}

/** Opens the master for the join; an unreachable master says so (not the local --url's hint). */
async function openMaster(url: string, applicationName: string): Promise<PostgresDb> {
  try {
    return await PostgresDb.open(url, { max: 1, applicationName });
  } catch (err) {
    if (err instanceof RobbieverseError && err.code === 'E_CONNECT') {
      throw new RobbieverseError('E_CONNECT', err.message, {
        hint: 'check that the master is running and the --master URL is right; nothing was joined, run the same command again',
        cause: err,
      });
    }
    throw err;
  }
}

export async function joinMaster(local: Db, o: JoinOptions): Promise<JoinResult> {
  assertNodeKey(o.nodeKey);
  const previous = readSyncSettings(o.home);
  if (previous && previous.nodeKey !== o.nodeKey) {
    throw new RobbieverseError('E_USAGE', `this node already joined as "${previous.nodeKey}"`, {
      hint: 'a database joins one network under one key; use a fresh home/database for another key',
    });
  }
  const { rows: locals } = await local.query<{ role: string; node_key: string; node_id: string; org_scope: string[] | null }>(
    'SELECT role, node_key, node_id::text, org_scope::text[] AS org_scope FROM sync.local',
  );
  const joined = locals[0];
  if (joined && (joined.role !== 'node' || joined.node_key !== o.nodeKey)) {
    throw new RobbieverseError('E_USAGE', `this database is already ${joined.role === 'hub' ? 'the hub of a network' : `node "${joined.node_key}"`}`, {
      hint: 'join a fresh database instead',
    });
  }
  const alreadyJoined = Boolean(joined);
  const mine = await localSchemaVersion(local);
  const admin = await openMaster(o.masterUrl, 'robbieverse-sync-join');
  let nodeUrl: string;
  let role: string | null;
  let reg: { node_id: string; node_key: string; hub_node_id: string; hub_node_key: string };
  let orgScope: string[] | null;
  // A joined node whose scope changes is seeded again (added organizations arrive, removed ones
  // leave); its pending changes go to the hub first, under the old scope, so none is lost.
  let rescope = false;
  let pushed = 0;
  try {
    if (!(await hubHasSync(admin))) {
      throw new RobbieverseError('E_SYNC_SCHEMA_MISMATCH', `the master ${redactMasterUrl(o.masterUrl)} has no sync functions`, {
        hint: 'upgrade the master first: `robbieverse db migrate --url MASTER`',
      });
    }
    const theirs = await localSchemaVersion(admin);
    if (theirs !== mine) throw refusalError('schema_mismatch', `node schema ${mine}, hub schema ${theirs}`);
    orgScope = o.orgs && o.orgs.length ? await resolveOrgs(admin, o.orgs) : null;
    rescope = alreadyJoined && scopeChanged(joined!.org_scope, orgScope);
    // Re-seeding replaces the synced tables: what the master has not applied yet goes there first,
    // under the old scope (a refused push stops the re-seed before anything is replaced).
    if (rescope || (alreadyJoined && o.reseed)) {
      if (!previous) {
        throw new RobbieverseError('E_CONFIG', `this node's sync settings (${o.home}/sync.json) are missing, so its pending changes cannot be sent before it is seeded again`, {
          hint: 'restore sync.json (or join again with the previous --org list), then re-seed',
        });
      }
      pushed = await pushPending(local, previous, o.logger);
      o.onEvent?.({ type: 'pushed', changes: pushed });
    }
    const sameMaster = previous && redactMasterUrl(previous.masterUrl).replace(/\/\/[^@]*@/, '//') === redactMasterUrl(o.masterUrl).replace(/\/\/[^@]*@/, '//');
    const creds = await ensureNodeRole(admin, o.nodeKey, sameMaster ? passwordOf(previous.masterUrl) : undefined);
    role = creds?.role ?? null;
    nodeUrl = creds ? urlWithCredentials(o.masterUrl, creds.role, creds.password) : o.masterUrl;
    const { rows } = await admin.query<{ r: string }>('SELECT sync.register_node($1, $2::uuid[], $3)::text AS r', [o.nodeKey, orgScope, role]);
    reg = JSON.parse(rows[0]!.r);
  } finally {
    await admin.close();
  }
  o.onEvent?.({ type: 'registered', nodeKey: reg.node_key, nodeId: reg.node_id, role });

  let rows = 0;
  const seed = !alreadyJoined || Boolean(o.reseed) || rescope;
  const hub = await PostgresDb.open(nodeUrl, { max: 1, applicationName: `robbieverse-sync ${o.nodeKey}` });
  try {
    if (seed) {
      rows = await seedFromHub(local, hub, o.nodeKey, mine, reg, orgScope, o.onEvent);
    } else {
      await local.query('SELECT sync.become_node($1::uuid, $2, $3::uuid, $4::uuid[])', [reg.node_id, o.nodeKey, reg.hub_node_id, orgScope]);
    }
  } finally {
    await hub.close();
  }
  const settings: SyncSettings = {
    masterUrl: nodeUrl,
    nodeKey: o.nodeKey,
    nodeId: reg.node_id,
    hubNodeId: reg.hub_node_id,
    orgScope,
    joinedAt: previous?.joinedAt ?? new Date().toISOString(),
    ...(previous?.pullIntervalMs ? { pullIntervalMs: previous.pullIntervalMs } : {}),
  };
  writeSyncSettings(o.home, settings);
  return {
    nodeKey: o.nodeKey,
    nodeId: reg.node_id,
    hubNodeId: reg.hub_node_id,
    hubNodeKey: reg.hub_node_key,
    orgScope,
    role,
    seeded: seed,
    rows,
    pushed,
    alreadyJoined,
  };
}

/**
 * One REPEATABLE READ transaction on the hub (a consistent snapshot) feeding one transaction
 * here: the node ends up holding exactly the hub's in-scope rows of the tables it pulls, with their
 * versions, and a pull cursor at the snapshot's horizon.
 */
async function seedFromHub(
  local: Db,
  hub: Db,
  nodeKey: string,
  schemaVersion: string,
  reg: { node_id: string; hub_node_id: string },
  orgScope: string[] | null,
  onEvent?: (e: JoinEvent) => void,
): Promise<number> {
  const t0 = Date.now();
  let total = 0;
  let removed: Record<string, number> = {};
  await hub.transaction(
    async (htx) => {
      const { rows } = await htx.query<{ r: string }>('SELECT sync.snapshot_begin($1, $2)::text AS r', [nodeKey, schemaVersion]);
      const meta = JSON.parse(rows[0]!.r) as {
        refused?: string;
        detail?: string;
        cursor: { xid: number; position: string | number };
        nodes: { id: string; node_key: string; name: string; node_type: string }[];
        tables: { table_name: string; direction: string }[];
      };
      if (meta.refused) throw refusalError(meta.refused, meta.detail ?? '');
      // The cursor's position is int8 max: keep it exact as text.
      const cur = await htx.query<{ xid: string; position: string }>(
        `SELECT ($1::jsonb -> 'cursor' ->> 'xid') AS xid, ($1::jsonb -> 'cursor' ->> 'position') AS position`,
        [rows[0]!.r],
      );
      await local.transaction(async (tx) => {
        await tx.exec('SET CONSTRAINTS ALL DEFERRED');
        await tx.query(
          `INSERT INTO nodes (id, node_key, name, node_type)
           SELECT (n ->> 'id')::uuid, n ->> 'node_key', n ->> 'name', n ->> 'node_type' FROM jsonb_array_elements($1::jsonb) n
           ON CONFLICT DO NOTHING`,
          [JSON.stringify(meta.nodes)],
        );
        await tx.query('SELECT sync.become_node($1::uuid, $2, $3::uuid, $4::uuid[])', [reg.node_id, nodeKey, reg.hub_node_id, orgScope]);
        for (const t of meta.tables) {
          if (t.direction === 'push_only') continue;
          let after: string | null = null;
          let n = 0;
          for (;;) {
            const page: { rows: { p: string; n: number; last: string | null }[] } = await htx.query<{ p: string; n: number; last: string | null }>(
              `SELECT p::text AS p, jsonb_array_length(p) AS n, p -> -1 -> 'row' ->> 'id' AS last FROM sync.snapshot_page($1, $2, $3::uuid, $4) p`,
              [nodeKey, t.table_name, after, SNAPSHOT_PAGE],
            );
            const pr: { p: string; n: number; last: string | null } = page.rows[0]!;
            if (Number(pr.n) === 0) break;
            await tx.query('SELECT sync.seed_rows($1, $2::jsonb)', [t.table_name, pr.p]);
            n += Number(pr.n);
            after = pr.last;
            if (Number(pr.n) < SNAPSHOT_PAGE) break;
          }
          total += n;
          onEvent?.({ type: 'seed-table', table: t.table_name, rows: n });
        }
        const fin = await tx.query<{ r: string }>('SELECT sync.seed_finish()::text AS r');
        removed = JSON.parse(fin.rows[0]!.r);
        await tx.query(
          `INSERT INTO sync.cursors (peer_node_id, direction, last_xid, last_position) VALUES ($1::uuid, 'pull', $2::bigint, $3::bigint)
           ON CONFLICT (peer_node_id, direction) DO UPDATE SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now()`,
          [reg.hub_node_id, cur.rows[0]!.xid, cur.rows[0]!.position],
        );
      });
    },
    { first: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ' },
  );
  onEvent?.({ type: 'seeded', rows: total, removed, ms: Date.now() - t0 });
  return total;
}
