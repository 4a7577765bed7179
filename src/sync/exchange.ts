/**
 * One exchange between a node and its hub, in the node's process: hello (schema check), push the
 * local changes the hub has not applied, pull the hub's changes after the node's cursor. Batches
 * travel as JSON text and are never parsed here: version stamps exceed 2^53.
 */
import type { Logger } from 'pino';
import type { Db, Queryable } from '../db/types.js';
import { refusalError } from './errors.js';

/** Changes per batch: one transaction on the receiver (1,000 drains a backlog 10–15 % faster than 500; bench/RESULTS.md). */
export const DEFAULT_BATCH_SIZE = 1000;

export interface SyncLink {
  /** This node's database. */
  local: Db;
  /** The hub, signed in as this node's role. */
  hub: Db;
  nodeKey: string;
  batchSize?: number;
  logger?: Logger;
}

export interface Hello {
  hubNodeId: string;
  hubNodeKey: string;
  nodeId: string;
  schemaVersion: string;
  localSchemaVersion: string;
  schemaMatch: boolean;
  /** Hub wall clock minus ours, ms (positive: the hub is ahead). */
  clockOffsetMs: number;
  pushCursor: Cursor;
}

export interface Cursor {
  xid: string;
  position: string;
}

export interface BatchCounts {
  applied: number;
  skipped: number;
  discarded: number;
  parked: number;
  /** Batches the receiver applied set-wise (the others change by change; see docs/sync.md). */
  setWise: number;
}

export interface PushResult extends BatchCounts {
  batches: number;
  sent: number;
  /** The hub's acknowledgement: everything of ours up to here is applied there. */
  cursor: Cursor;
}

export interface PullResult extends BatchCounts {
  batches: number;
  received: number;
  cursor: Cursor;
}

const zero = (): BatchCounts => ({ applied: 0, skipped: 0, discarded: 0, parked: 0, setWise: 0 });

function addCounts(into: BatchCounts, r: Record<string, unknown>): void {
  into.applied += Number(r.applied ?? 0);
  into.skipped += Number(r.skipped ?? 0);
  into.discarded += Number(r.discarded ?? 0);
  into.parked += Number(r.parked ?? 0) + 0;
  if (r.path === 'set') into.setWise++;
}

export async function localSchemaVersion(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ v: string }>('SELECT sync.schema_version() AS v');
  return rows[0]!.v;
}

/** Starts an exchange: who the hub is, whether the schemas match, where the push cursor is. */
export async function hello(link: SyncLink): Promise<Hello> {
  const mine = await localSchemaVersion(link.local);
  const t0 = Date.now();
  const { rows } = await link.hub.query<{ r: string }>('SELECT sync.hello($1, $2)::text AS r', [link.nodeKey, mine]);
  const t1 = Date.now();
  const h = JSON.parse(rows[0]!.r) as {
    hub_node_id: string;
    hub_node_key: string;
    node_id: string;
    schema_version: string;
    schema_match: boolean;
    wall_ms: number;
    push_cursor: { xid: number; position: number };
  };
  return {
    hubNodeId: h.hub_node_id,
    hubNodeKey: h.hub_node_key,
    nodeId: h.node_id,
    schemaVersion: h.schema_version,
    localSchemaVersion: mine,
    schemaMatch: h.schema_match,
    clockOffsetMs: Math.round(h.wall_ms - (t0 + t1) / 2),
    pushCursor: { xid: String(h.push_cursor.xid), position: String(h.push_cursor.position) },
  };
}

/**
 * Sends local changes after the hub's cursor, batch by batch, until none are left. While the hub
 * applies a batch, the next one is read from the outbox after that batch's last change (where the
 * hub's cursor will be); it is used only when the hub's answer puts the cursor there.
 */
export async function pushChanges(link: SyncLink, start: Cursor, schemaVersion: string): Promise<PushResult> {
  const size = link.batchSize ?? DEFAULT_BATCH_SIZE;
  const out: PushResult = { batches: 0, sent: 0, cursor: start, ...zero() };
  const readOutbox = (after: Cursor) => {
    const read = link.local.query<{ batch: string; n: number; xid: string | null; position: string | null }>(
      `SELECT b::text AS batch, jsonb_array_length(b) AS n, b -> -1 ->> 'origin_xid' AS xid, b -> -1 ->> 'origin_position' AS position
         FROM sync.outbox($1::bigint, $2::bigint, $3) b`,
      [after.xid, after.position, size],
    );
    read.catch(() => {}); // a read ahead that is never used must not end the process when it fails
    return { after, read };
  };
  let cursor = start;
  let next = readOutbox(cursor);
  for (;;) {
    out.cursor = cursor;
    if (next.after.xid !== cursor.xid || next.after.position !== cursor.position) next = readOutbox(cursor);
    const batch = (await next.read).rows[0]!;
    const n = Number(batch.n);
    if (n === 0) return out;
    const sent = link.hub.query<{ r: string }>('SELECT sync.push($1, $2, $3::jsonb)::text AS r', [link.nodeKey, schemaVersion, batch.batch]);
    next = readOutbox({ xid: String(batch.xid), position: String(batch.position) });
    const res = await sent;
    const r = JSON.parse(res.rows[0]!.r) as Record<string, unknown> & { refused?: string; detail?: string; cursor?: { xid: number; position: number } };
    if (r.refused) throw refusalError(r.refused, r.detail ?? '');
    out.batches++;
    out.sent += n;
    addCounts(out, r);
    const acked = { xid: String(r.cursor!.xid), position: String(r.cursor!.position) };
    link.logger?.debug({ sent: n, cursor: acked }, 'sync: pushed a batch');
    if (acked.xid === cursor.xid && acked.position === cursor.position) {
      // The hub applied nothing new (everything was a replay): stop rather than loop.
      return out;
    }
    cursor = acked;
  }
}

export async function pullCursor(local: Queryable): Promise<Cursor> {
  const { rows } = await local.query<{ xid: string; position: string }>(
    `SELECT k.last_xid::text AS xid, k.last_position::text AS position
       FROM sync.cursors k JOIN sync.local l ON l.hub_node_id = k.peer_node_id WHERE k.direction = 'pull'`,
  );
  return rows[0] ?? { xid: '0', position: '0' };
}

/** Fetches and applies hub changes after this node's cursor until the hub has no more. */
export async function pullChanges(link: SyncLink, schemaVersion: string): Promise<PullResult> {
  const size = link.batchSize ?? DEFAULT_BATCH_SIZE;
  let cursor = await pullCursor(link.local);
  const out: PullResult = { batches: 0, received: 0, cursor, ...zero() };
  for (;;) {
    const { rows } = await link.hub.query<{ refused: string | null; detail: string | null; changes: string; origins: string; n: number; more: boolean; xid: string; position: string }>(
      `SELECT r ->> 'refused' AS refused, r ->> 'detail' AS detail, (r -> 'changes')::text AS changes,
              (r -> 'origins')::text AS origins, jsonb_array_length(coalesce(r -> 'changes', '[]')) AS n,
              (r ->> 'more')::boolean AS more, r -> 'cursor' ->> 'xid' AS xid, r -> 'cursor' ->> 'position' AS position
         FROM sync.pull($1, $2, $3::bigint, $4::bigint, $5) r`,
      [link.nodeKey, schemaVersion, cursor.xid, cursor.position, size],
    );
    const r = rows[0]!;
    if (r.refused) throw refusalError(r.refused, r.detail ?? '');
    const next = { xid: r.xid, position: r.position };
    const n = Number(r.n);
    const moved = next.xid !== cursor.xid || next.position !== cursor.position;
    if (n > 0 || moved) {
      const applied = await link.local.transaction(async (tx) => {
        const a = await tx.query<{ r: string }>('SELECT sync.apply_pulled($1::jsonb, $2::jsonb, $3::bigint, $4::bigint)::text AS r', [
          r.changes,
          r.origins,
          next.xid,
          next.position,
        ]);
        return JSON.parse(a.rows[0]!.r) as Record<string, unknown>;
      });
      addCounts(out, applied);
      out.batches++;
      out.received += n;
      cursor = next;
      link.logger?.debug({ received: n, cursor }, 'sync: pulled a batch');
    }
    if (!r.more || !moved) break;
  }
  out.cursor = cursor;
  await link.hub.query('SELECT sync.pull_done($1, $2::bigint, $3::bigint, $4)', [link.nodeKey, cursor.xid, cursor.position, out.applied]);
  return out;
}

export interface ExchangeResult {
  hello: Hello;
  push: PushResult;
  pull: PullResult;
  ms: number;
}

/** hello → push → pull. A schema mismatch stops it before any data moves. */
export async function exchange(link: SyncLink, what: { push?: boolean; pull?: boolean } = {}): Promise<ExchangeResult> {
  const t0 = Date.now();
  const startedAt = new Date(t0);
  try {
    return await exchangeOnce(link, what, startedAt);
  } catch (err) {
    await recordFailedExchange(link.local, startedAt, err as Error);
    throw err;
  }
}

async function exchangeOnce(link: SyncLink, what: { push?: boolean; pull?: boolean }, startedAt: Date): Promise<ExchangeResult> {
  const t0 = startedAt.getTime();
  const h = await hello(link);
  if (!h.schemaMatch) throw refusalError('schema_mismatch', `node schema ${h.localSchemaVersion}, hub schema ${h.schemaVersion}`);
  const push = what.push === false ? { batches: 0, sent: 0, cursor: h.pushCursor, ...zero() } : await pushChanges(link, h.pushCursor, h.localSchemaVersion);
  const pull =
    what.pull === false
      ? { batches: 0, received: 0, cursor: await pullCursor(link.local), ...zero() }
      : await pullChanges(link, h.localSchemaVersion);
  await recordExchange(link.local, h, push, pull, startedAt);
  return { hello: h, push, pull, ms: Date.now() - t0 };
}

/** The node's own record of the exchange (sync.exchanges, the hub's push acknowledgement, nodes). */
async function recordExchange(local: Db, h: Hello, push: PushResult, pull: PullResult, startedAt: Date): Promise<void> {
  await local.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO sync.exchanges (started_at, ok, pushed, pulled, conflicts, clock_offset_ms, hub_schema_version)
       VALUES ($1, true, $2, $3, $4, $5, $6)`,
      [startedAt, push.sent, pull.received, push.discarded + pull.discarded, h.clockOffsetMs, h.schemaVersion],
    );
    await tx.query(
      `INSERT INTO sync.cursors (peer_node_id, direction, last_xid, last_position) VALUES ($1::uuid, 'pushed', $2::bigint, $3::bigint)
       ON CONFLICT (peer_node_id, direction) DO UPDATE SET last_xid = EXCLUDED.last_xid, last_position = EXCLUDED.last_position, updated_at = now()`,
      [h.hubNodeId, push.cursor.xid, push.cursor.position],
    );
    await tx.query(
      `UPDATE nodes SET last_seen_at = now(), is_online = true, clock_offset_ms = $2, schema_version = $3,
                        total_syncs = total_syncs + 1, total_rows_synced = total_rows_synced + $4
        WHERE id = (SELECT node_id FROM sync.local) OR id = $1::uuid`,
      [h.hubNodeId, h.clockOffsetMs, h.localSchemaVersion, push.sent + pull.received],
    );
    await tx.query(`DELETE FROM sync.exchanges WHERE finished_at < now() - interval '7 days'`);
  });
}

/** A failed exchange, for status on the node (best effort: the local database may be the problem). */
export async function recordFailedExchange(local: Db, startedAt: Date, err: Error): Promise<void> {
  const code = (err as { code?: string }).code ?? null;
  const hubVersion = (err as { details?: { detail?: string } }).details?.detail?.match(/hub schema (\S+)/)?.[1] ?? null;
  await local
    .query(`INSERT INTO sync.exchanges (started_at, ok, error_code, error, hub_schema_version) VALUES ($1, false, $2, $3, $4)`, [startedAt, code, err.message, hubVersion])
    .catch(() => {});
}
