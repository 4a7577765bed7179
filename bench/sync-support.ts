/**
 * Helpers of bench/sync.ts: PostgreSQL clusters and their CPU time, migrated databases to copy
 * from (a template database on a server, a data directory for PGlite), joined nodes, the rows the
 * benchmark writes and a checksum that both engines compute alike.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db, Queryable } from '../src/db/types.js';
import { embeddedMigrations } from '../src/migrate/embedded.js';
import { migrate } from '../src/migrate/runner.js';
import { joinMaster } from '../src/sync/join.js';
import { readSyncSettings, type SyncSettings } from '../src/sync/settings.js';
import { startOwnServer, type OwnServer } from '../test/helpers/server.js';

export const DEFAULT_ORG = '00000000-0000-4000-8000-000000000001';
export const TEMPLATE_DB = 'rv_template';

export const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
export const median = (xs: number[]) => pct(xs, 50);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A throwaway PostgreSQL 15 cluster, optionally with wal_level=logical, holding a migrated template database. */
export interface Cluster {
  server: OwnServer;
  port: number;
  url(db: string): string;
  admin: PostgresDb;
  /** A new database copied from the migrated template. */
  createDb(name: string): Promise<string>;
  /** CPU time (ms) of every process of this cluster so far, including exited backends. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startCluster(o: { logical?: boolean } = {}): Promise<Cluster> {
  const server = startOwnServer();
  const port = Number(new URL(server.url).port);
  const url = (db: string) => {
    const u = new URL(server.url);
    u.pathname = '/' + db;
    return u.toString();
  };
  let admin = await PostgresDb.open(server.url, { max: 2 });
  if (o.logical) {
    // A re-enabled subscription's apply worker would otherwise wait up to 5 s for the launcher.
    await admin.exec(`ALTER SYSTEM SET wal_level = logical`);
    await admin.exec(`ALTER SYSTEM SET wal_retrieve_retry_interval = '100ms'`);
    await admin.close();
    server.restart();
    admin = await PostgresDb.open(server.url, { max: 2 });
  }
  await admin.exec(`CREATE DATABASE ${TEMPLATE_DB}`);
  const t = await PostgresDb.open(url(TEMPLATE_DB), { max: 1 });
  await migrate(t, { files: embeddedMigrations() });
  await t.close();
  const pidFile = path.join(server.dir, 'data', 'postmaster.pid');
  return {
    server,
    port,
    url,
    admin,
    async createDb(name) {
      await admin.exec(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
      return url(name);
    },
    cpuMs: () => clusterCpuMs(Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])),
    async stop() {
      await admin.close().catch(() => {});
      server.stop();
    },
  };
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** utime, stime, cutime, cstime and ppid of a process (fields 14-17 and 4 of /proc/PID/stat). */
function procStat(pid: number): { ppid: number; own: number; children: number } | undefined {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): field n is f[n - 3].
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

/**
 * The postmaster's own CPU plus its reaped children's (cutime/cstime) plus the live children's:
 * a backend that exits between two readings moves from the live sum into cutime, so differences
 * of two readings count it once.
 */
export function clusterCpuMs(postmasterPid: number): number {
  const pm = procStat(postmasterPid);
  if (!pm) throw new Error(`no process ${postmasterPid}`);
  let ticks = pm.own + pm.children;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st && st.ppid === postmasterPid) ticks += st.own;
  }
  return ticks * TICK_MS;
}

/** A migrated PGlite data directory on disk: nodes start from copies of it (migrating one takes ~10 s here). */
export async function pgliteTemplate(root: string): Promise<string> {
  const dir = path.join(root, 'pglite-template');
  const db = await PgliteDb.open(dir);
  await migrate(db, { files: embeddedMigrations() });
  await db.close();
  return dir;
}

export async function openPgliteCopy(template: string, root: string, name: string): Promise<PgliteDb> {
  const dir = path.join(root, name);
  fs.cpSync(template, dir, { recursive: true });
  return PgliteDb.open(dir);
}

export interface Node {
  key: string;
  db: Db;
  home: string;
  settings: SyncSettings;
  engine: 'PGlite' | 'PostgreSQL';
}

/** Joins `db` to the master as node `key` (all organizations); the node's home is a temp dir. */
export async function joinNode(db: Db, masterUrl: string, key: string, root: string): Promise<Node> {
  const home = fs.mkdtempSync(path.join(root, `home-${key}-`));
  await joinMaster(db, { masterUrl, nodeKey: key, home });
  return { key, db, home, settings: readSyncSettings(home)!, engine: db.engine === 'pglite' ? 'PGlite' : 'PostgreSQL' };
}

/** `n` tasks of the default organization, titles `prefix || g`, in transactions of `chunk` rows. */
export async function insertTasks(db: Queryable, n: number, prefix: string, chunk = 5000, table = 'tasks'): Promise<void> {
  for (let a = 1; a <= n; a += chunk) {
    const b = Math.min(n, a + chunk - 1);
    await db.query(
      `INSERT INTO ${table} (org_id, title, description, status, priority, tags, metadata)
       SELECT $1::uuid, $2 || g, 'benchmark row', 'todo', 'medium', ARRAY['bench'], jsonb_build_object('n', g)
         FROM generate_series($3::int, $4::int) g`,
      [DEFAULT_ORG, prefix, a, b],
    );
  }
}

export async function countTasks(db: Queryable, prefix: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE title LIKE $1 || '%'`, [prefix]);
  return rows[0]!.n;
}

/** Same text on PostgreSQL 15 and PGlite: timestamps as epoch seconds, not in the session's time zone. */
export async function tasksChecksum(db: Queryable): Promise<{ n: number; md5: string }> {
  const { rows } = await db.query<{ n: number; md5: string }>(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(concat_ws('|', id, org_id, title, description, status, priority,
              array_to_string(tags, ','), metadata::text, extract(epoch FROM created_at), extract(epoch FROM updated_at)), E'\\n' ORDER BY id), '')) AS md5
       FROM tasks`,
  );
  return rows[0]!;
}

export function tempRoot(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'robbieverse-bench-sync-'));
  // As root the clusters run as postgres; nothing of theirs lives here, but keep it readable.
  fs.chmodSync(d, 0o755);
  return d;
}

const RESULTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'RESULTS.md');

/** Replaces part `n` of the sync section in bench/RESULTS.md (a rerun of some parts only). */
export function replacePart(n: number, block: string): void {
  const text = fs.readFileSync(RESULTS, 'utf8');
  const re = new RegExp(`<!-- sync-part:${n} -->[\\s\\S]*?<!-- /sync-part:${n} -->`);
  if (!re.test(text)) throw new Error(`bench/RESULTS.md has no sync part ${n} to replace: run the whole benchmark once`);
  fs.writeFileSync(RESULTS, text.replace(re, () => block));
}
