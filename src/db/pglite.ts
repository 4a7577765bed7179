import type { PGlite, Results, Transaction } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult, TransactionOptions } from './types.js';
import { readOnceOn, type Statement } from './read-once.js';

function toResult<R>(r: Results<R> | undefined): QueryResult<R> {
  if (!r) return { rows: [], fields: [], rowCount: 0 };
  return {
    rows: r.rows,
    fields: r.fields.map((f) => ({ name: f.name })),
    rowCount: r.fields.length ? r.rows.length : (r.affectedRows ?? 0),
  };
}

function wrap(target: PGlite | Transaction): Queryable {
  return {
    async query<R>(sql: string, params?: unknown[]) {
      return toResult<R>(await target.query<R>(sql, params));
    },
    async exec(sql: string) {
      const all = await target.exec(sql);
      return toResult(all[all.length - 1] as Results<Record<string, unknown>> | undefined);
    },
  };
}

/** Embedded PostgreSQL (WASM) with pgvector. `dataDir` undefined = in memory. */
export class PgliteDb implements Db {
  readonly engine = 'pglite' as const;
  readonly location: string;
  private readonly q: Queryable;

  private constructor(
    readonly pg: PGlite,
    dataDir: string | undefined,
  ) {
    this.location = dataDir ?? 'memory://';
    this.q = wrap(pg);
  }

  static async open(dataDir?: string): Promise<PgliteDb> {
    // Loaded on demand: commands that talk to a server never pay for the WASM build.
    const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
    const pg = await PGlite.create(dataDir, { extensions: { vector } });
    return new PgliteDb(pg, dataDir);
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]) {
    return this.q.query<R>(sql, params);
  }

  exec(sql: string) {
    return this.q.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable, first: QueryResult | undefined) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.pg.transaction(async (tx) => {
      const q = wrap(tx);
      return fn(q, opts.first ? await q.exec(opts.first) : undefined);
    });
  }

  readOnce(first: Statement, then: Statement): Promise<{ first: QueryResult; result: QueryResult }> {
    return readOnceOn(this.q, this.pg, async (m) => (await this.pg.exec(m)).map((r) => toResult(r as Results<Record<string, unknown>>)), first, then);
  }

  /** PGlite has exactly one session; holding it for `fn` is the default. */
  withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T> {
    return fn(this.q);
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    return this.pg.listen(channel, onNotify);
  }

  /** A gzipped tarball of the whole data directory, consistent (no transaction is open while it is taken). */
  async dumpDataDir(): Promise<Uint8Array> {
    const blob = await this.pg.dumpDataDir('gzip');
    return new Uint8Array(await blob.arrayBuffer());
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}
