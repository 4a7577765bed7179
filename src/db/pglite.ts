import type { Db, DbCapabilities, Listener, ListenHandlers, Queryable, QueryResult, TransactionOptions } from './types.js';
import { readOnceOn, type Statement } from './read-once.js';
import { EmbeddedEngine } from './embedded/engine.js';
import type { WireResult } from './embedded/messages.js';

const last = (all: WireResult[]): QueryResult => all[all.length - 1] ?? { rows: [], fields: [], rowCount: 0 };

/**
 * Embedded PostgreSQL (PGlite, WASM) with pgvector, in a thread of its own. `dataDir` undefined =
 * in memory. Every call is a session of its own: a transaction holds the single backend from
 * BEGIN to COMMIT, so statements of other callers (the API, the builder, socket clients) wait
 * instead of landing inside it.
 */
export class PgliteDb implements Db {
  readonly engine = 'pglite' as const;
  readonly location: string;
  readonly capabilities: DbCapabilities;

  private constructor(
    readonly embedded: EmbeddedEngine,
    dataDir: string | undefined,
  ) {
    this.location = dataDir ?? 'memory://';
    this.capabilities = {
      sessions: 'one-shared',
      serverProcess: false,
      backup: 'data-dir',
      socket: true,
      interruptible: embedded.canInterrupt,
    };
  }

  static async open(dataDir?: string): Promise<PgliteDb> {
    return new PgliteDb(await EmbeddedEngine.start(dataDir), dataDir);
  }

  /** Statements sent by a caller that already holds the backend. */
  private readonly direct: Queryable = {
    query: <R>(sql: string, params?: unknown[]) => this.embedded.call<QueryResult<R>>({ op: 'query', sql, params }),
    exec: async (sql: string) => last(await this.embedded.call<WireResult[]>({ op: 'exec', sql })),
  };

  private execAll(sql: string): Promise<QueryResult[]> {
    return this.embedded.call<WireResult[]>({ op: 'exec', sql });
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.embedded.arbiter.exclusive('query', () => this.direct.query<R>(sql, params));
  }

  exec(sql: string): Promise<QueryResult> {
    return this.embedded.arbiter.exclusive('exec', () => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: Queryable, first: QueryResult | undefined) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.embedded.arbiter.exclusive('transaction', async () => {
      const begun = await this.execAll(opts.first ? `BEGIN; ${opts.first}` : 'BEGIN');
      let result: T;
      try {
        result = await fn(this.direct, opts.first ? last(begun) : undefined);
      } catch (err) {
        await this.direct.exec('ROLLBACK').catch(() => {});
        throw err;
      }
      await this.direct.exec('COMMIT');
      return result;
    });
  }

  readOnce(first: Statement, then: Statement): Promise<{ first: QueryResult; result: QueryResult }> {
    return this.embedded.arbiter.exclusive('read', () =>
      readOnceOn(this.direct, this.embedded.backend, (m) => this.execAll(m), first, then),
    );
  }

  /** Holds the single backend for `fn`: nobody else's statement runs meanwhile. */
  withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T> {
    return this.embedded.arbiter.exclusive('session', () => fn(this.direct));
  }

  /** Through the single backend: no connection to lose, so `onReconnect` never fires. */
  async listen(channels: string[], h: ListenHandlers): Promise<Listener> {
    const offs: (() => Promise<void>)[] = [];
    try {
      for (const ch of channels) offs.push(await this.embedded.listen(ch, (payload) => h.onNotify({ channel: ch, payload })));
    } catch (err) {
      await Promise.all(offs.map((off) => off()));
      throw err;
    }
    return { close: async () => void (await Promise.all(offs.map((off) => off()))) };
  }

  /** A gzipped tarball of the whole data directory, consistent (no transaction is open while it is taken). */
  dumpDataDir(): Promise<Uint8Array> {
    return this.embedded.arbiter.exclusive('backup', () => this.embedded.call<Uint8Array>({ op: 'dump' }));
  }

  async close(): Promise<void> {
    await this.embedded.close();
  }
}
