/**
 * The thread that owns the embedded PostgreSQL (PGlite). PGlite runs a statement synchronously
 * and blocks its thread until it ends; here that thread is not the one serving HTTP and the
 * socket, so the main thread stays responsive and can end a statement that runs too long by
 * terminating this thread (the data directory then recovers like after a crash).
 *
 * Requests arrive one at a time from the main thread's session arbiter; this file knows nothing
 * about sessions. Every request gets exactly one reply with its id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite, Results } from '@electric-sql/pglite';
import type { WorkerReply, WorkerRequest, WireResult } from './messages.js';
import { scanBackendMessages } from './wire.js';

const port = parentPort!;
const { dataDir } = workerData as { dataDir?: string };

function toResult(r: Results<Record<string, unknown>> | undefined): WireResult {
  if (!r) return { rows: [], fields: [], rowCount: 0 };
  return { rows: r.rows, fields: r.fields.map((f) => ({ name: f.name })), rowCount: r.fields.length ? r.rows.length : (r.affectedRows ?? 0) };
}

/** A database error as plain data: every field PostgreSQL sent survives the thread boundary. */
function errorData(err: unknown): Record<string, unknown> {
  const e = err as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { message: e?.message ?? String(err), name: e?.name ?? 'Error' };
  if (e && typeof e === 'object') {
    for (const k of Object.keys(e)) {
      const v = e[k];
      if (v === undefined || typeof v === 'function' || (typeof v === 'object' && v !== null)) continue;
      out[k] = v;
    }
  }
  return out;
}

/** Settings a socket session may have changed, so they can be put back before its next turn. */
const SNAPSHOT = `SELECT coalesce(json_agg(json_build_array(name, setting)), '[]') AS s,
  current_user::text AS r, session_user::text AS a,
  (SELECT coalesce(json_agg(json_build_array(n, current_setting(n, true))), '[]')
     FROM unnest(ARRAY['app.org_id','app.user_id','app.actor','app.request_id','app.role','robbieverse.sync_origin']) AS n
    WHERE coalesce(current_setting(n, true), '') <> '') AS c
  FROM pg_settings WHERE source = 'session'`;

async function main(): Promise<void> {
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
  let pg: PGlite;
  try {
    pg = await PGlite.create(dataDir, { extensions: { vector } });
  } catch (err) {
    port.postMessage({ t: 'failed', error: errorData(err) } satisfies WorkerReply);
    return;
  }
  pg.onNotification((channel, payload) => port.postMessage({ t: 'notify', channel, payload } satisfies WorkerReply));
  const listening = new Map<string, () => Promise<void>>();

  async function handle(m: WorkerRequest): Promise<unknown> {
    switch (m.op) {
      case 'query':
        return toResult((await pg.query<Record<string, unknown>>(m.sql, m.params)) as Results<Record<string, unknown>>);
      case 'exec':
        return (await pg.exec(m.sql)).map((r) => toResult(r as Results<Record<string, unknown>>));
      case 'protocol': {
        if (m.before) await pg.exec(m.before);
        const raw = await pg.execProtocolRaw(m.bytes);
        // Notifications are taken out of the stream: PGlite has already reported them (onNotification
        // above), and the main thread delivers them to whoever LISTENs. The rest goes back as sent.
        const { bytes, status } = scanBackendMessages(raw);
        let state: unknown;
        if (m.snapshot && status === 'I') {
          const r = (await pg.query<{ s: [string, string][]; r: string; a: string; c: [string, string][] }>(SNAPSHOT)).rows[0]!;
          const changed = r.s.length > 0 || r.c.length > 0 || r.r !== r.a;
          state = { settings: r.s, role: r.r !== r.a ? r.r : undefined, custom: r.c };
          if (changed) await pg.exec('RESET ALL; RESET ROLE');
          if (!changed) state = undefined;
        }
        if (m.relisten?.length) for (const ch of m.relisten) await pg.exec(`LISTEN ${quoteIdent(ch)}`);
        return { bytes, status, state };
      }
      case 'listen':
        if (!listening.has(m.channel)) listening.set(m.channel, await pg.listen(m.channel, () => {}));
        return null;
      case 'unlisten': {
        const off = listening.get(m.channel);
        listening.delete(m.channel);
        if (off) await off();
        return null;
      }
      case 'dump': {
        const blob = await pg.dumpDataDir('gzip');
        return new Uint8Array(await blob.arrayBuffer());
      }
      case 'inTransaction':
        return pg.isInTransaction();
      case 'close':
        if (!pg.closed) await pg.close();
        return null;
    }
  }

  port.on('message', (m: WorkerRequest) => {
    handle(m).then(
      (value) => {
        const transfer = value instanceof Uint8Array ? [value.buffer as ArrayBuffer] : (value as { bytes?: Uint8Array } | null)?.bytes ? [(value as { bytes: Uint8Array }).bytes.buffer as ArrayBuffer] : [];
        port.postMessage({ t: 'reply', id: m.id, ok: true, value } satisfies WorkerReply, transfer);
      },
      (err) => port.postMessage({ t: 'reply', id: m.id, ok: false, error: errorData(err) } satisfies WorkerReply),
    );
  });
  port.postMessage({ t: 'ready' } satisfies WorkerReply);
}

const quoteIdent = (s: string) => '"' + s.replace(/"/g, '""') + '"';

void main();
