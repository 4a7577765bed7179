import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { RobbieverseError } from '../errors.js';
import type { Db, DbCapabilities, Listener, ListenHandlers, ListenOptions, Queryable, QueryOptions, QueryResult, TransactionOptions } from './types.js';
import { listenOnServer } from './server-listener.js';
import { readOnceOn, type Statement } from './read-once.js';

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/** int8 as a number when it fits (as PGlite returns it), else as a string: one shape on both engines. */
const int8 = (v: string) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
};
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 && format !== 'binary' ? int8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function toResult<R>(r: pg.QueryResult | pg.QueryResult[] | undefined): QueryResult<R> {
  const last = Array.isArray(r) ? r[r.length - 1] : r;
  if (!last) return { rows: [], fields: [], rowCount: 0 };
  return {
    rows: last.rows as R[],
    fields: (last.fields ?? []).map((f) => ({ name: f.name })),
    rowCount: last.rowCount ?? last.rows.length,
  };
}

function wrapClient(c: pg.ClientBase | pg.Pool): Queryable {
  return {
    async query<R>(sql: string, params?: unknown[], opts?: QueryOptions) {
      if (opts?.prepare) {
        // node-postgres prepares a named statement once per connection and reuses its plan.
        const name = 'rv_' + createHash('sha1').update(sql).digest('hex').slice(0, 24);
        return toResult<R>(await c.query({ name, text: sql, values: params as unknown[] | undefined }));
      }
      return toResult<R>(await c.query(sql, params as unknown[] | undefined));
    },
    async exec(sql: string) {
      // No parameters: node-postgres uses the simple protocol, which allows many statements.
      return toResult(await (c.query(sql) as unknown as Promise<pg.QueryResult | pg.QueryResult[]>));
    },
  };
}

export interface PostgresOptions {
  max?: number;
  logger?: Logger;
  applicationName?: string;
}

/**
 * What a pool can do: on a server, or on the embedded engine behind the socket of `robbieverse up`
 * (a home, so interruptible; an `up` in memory ignores cancels, which a client cannot tell).
 */
function serverCapabilities(url: string, embeddedBehind: boolean): DbCapabilities {
  return embeddedBehind
    ? { sessions: 'one-shared', serverProcess: true, backup: 'data-dir', socket: false, interruptible: true, url }
    : { sessions: 'many', serverProcess: true, backup: 'pg_dump', socket: false, interruptible: true, url };
}

/** A PostgreSQL server through a node-postgres pool. */
export class PostgresDb implements Db {
  readonly engine = 'postgres' as const;
  readonly location: string;
  readonly pool: pg.Pool;
  private readonly q: Queryable;
  private caps: DbCapabilities;

  private constructor(
    readonly url: string,
    opts: PostgresOptions,
  ) {
    this.location = redactUrl(url);
    this.caps = serverCapabilities(url, false);
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      application_name: opts.applicationName ?? 'robbieverse',
      keepAlive: true,
      types,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client whose server went away emits 'error' on the pool; without a handler
    // node would crash the process. The pool discards that client and makes a new one later.
    this.pool.on('error', (err) => {
      opts.logger?.warn({ err: err.message }, 'idle database connection lost; it will be replaced');
    });
    this.q = wrapClient(this.pool);
  }

  static async open(url: string, opts: PostgresOptions = {}): Promise<PostgresDb> {
    const db = new PostgresDb(url, opts);
    try {
      // The embedded engine served by `robbieverse up` says so in version(), as PGlite does.
      const { rows } = await db.pool.query<{ embedded: boolean }>(`SELECT version() ~* 'PGlite' AS embedded`);
      db.caps = serverCapabilities(url, rows[0]?.embedded === true);
    } catch (err) {
      await db.pool.end().catch(() => {});
      throw new RobbieverseError('E_CONNECT', `cannot connect to ${db.location}: ${(err as Error).message}`, {
        hint: 'check that the server is running and the URL (DATABASE_URL or --url) is right',
        cause: err,
      });
    }
    return db;
  }

  get capabilities(): DbCapabilities {
    return this.caps;
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions) {
    return this.q.query<R>(sql, params, opts);
  }

  /** Over a connection of its own (not from the pool), reconnecting when it is lost. */
  listen(channels: string[], h: ListenHandlers, opts: ListenOptions = {}): Promise<Listener> {
    return listenOnServer(this.url, channels, h, opts);
  }

  exec(sql: string) {
    return this.q.exec(sql);
  }

  async withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T> {
    return this.withClient((client) => fn(wrapClient(client)));
  }

  readOnce(first: Statement, then: Statement): Promise<{ first: QueryResult; result: QueryResult }> {
    return this.withClient((client) =>
      readOnceOn(wrapClient(client), client, async (m) => {
        const r = (await (client.query(m) as unknown as Promise<pg.QueryResult | pg.QueryResult[]>));
        return (Array.isArray(r) ? r : [r]).map((x) => toResult(x));
      }, first, then),
    );
  }

  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      broken ??= err instanceof Error && /Connection terminated|ECONNRESET/.test(err.message) ? err : undefined;
      throw err;
    } finally {
      client.off('error', onError);
      // A client whose connection failed must not go back to the pool.
      client.release(broken);
    }
  }

  transaction<T>(fn: (tx: Queryable, first: QueryResult | undefined) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.withSession(async (s) => {
      let first: QueryResult | undefined;
      try {
        if (opts.first) first = await s.exec(`BEGIN; ${opts.first}`);
        else await s.query('BEGIN');
        const out = await fn(s, first);
        await s.query('COMMIT');
        return out;
      } catch (err) {
        await s.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
