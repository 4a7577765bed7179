import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One embedded database, many sessions. PGlite has a single backend, so sessions take turns:
 * a session holds the backend for one statement, or for as long as it is inside a transaction
 * (explicit, or the implicit one of an unfinished extended-protocol exchange); the others wait
 * in arrival order. That is what keeps one client's BEGIN … COMMIT from swallowing another's
 * statements.
 */
export interface SessionToken {
  readonly name: string;
}

interface Waiter {
  session: SessionToken;
  grant: () => void;
}

export class SessionArbiter {
  private holder: SessionToken | undefined;
  private readonly queue: Waiter[] = [];
  /** In-process code that runs while its session holds the backend (e.g. inside `transaction`). */
  private readonly current = new AsyncLocalStorage<SessionToken>();

  get holding(): SessionToken | undefined {
    return this.holder;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves once `session` holds the backend. */
  acquire(session: SessionToken): Promise<void> {
    if (this.holder === session) return Promise.resolve();
    if (!this.holder && this.queue.length === 0) {
      this.holder = session;
      return Promise.resolve();
    }
    return new Promise((grant) => this.queue.push({ session, grant }));
  }

  release(session: SessionToken): void {
    if (this.holder !== session) {
      // A session that gave up while waiting (its socket closed) leaves the queue.
      const i = this.queue.findIndex((w) => w.session === session);
      if (i >= 0) this.queue.splice(i, 1);
      return;
    }
    const next = this.queue.shift();
    this.holder = next?.session;
    next?.grant();
  }

  /**
   * Runs `fn` holding the backend for a session of its own, or, when called from code that already
   * holds it (a query inside `transaction`), as part of that session.
   */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const inside = this.current.getStore();
    if (inside && inside === this.holder) return fn();
    const session: SessionToken = { name };
    await this.acquire(session);
    try {
      return await this.current.run(session, fn);
    } finally {
      this.release(session);
    }
  }
}
