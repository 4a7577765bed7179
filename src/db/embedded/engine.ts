import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SessionArbiter } from './arbiter.js';
import type { WorkerReply, WorkerRequest } from './messages.js';

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The worker's file next to this one in dist/ (tests load this file from src/, the thread needs the built one). */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = path.join(path.dirname(here), 'worker-thread.js');
  if (!here.endsWith('.ts')) return file;
  const sep = path.sep;
  return file.replace(`${sep}src${sep}`, `${sep}dist${sep}`);
}

/** An error raised by the database thread, rebuilt with every field PostgreSQL sent (code, position…). */
export function rebuildError(data: Record<string, unknown>): Error {
  const err = new Error(String(data.message ?? 'database error'));
  Object.assign(err, data);
  return err;
}

export function statementTimeoutError(ms: number, reason: 'timeout' | 'cancel'): Error {
  return Object.assign(
    new Error(reason === 'cancel' ? 'canceling statement due to user request' : `canceling statement due to statement timeout (it ran longer than ${ms} ms)`),
    { code: '57014', severity: 'ERROR' },
  );
}

type NotifyFn = (channel: string, payload: string) => void;

/**
 * The embedded PostgreSQL running in a thread of its own, and the arbiter that gives its single
 * backend to one session at a time. A request that runs past its time limit ends the thread (the
 * only way to stop a running PGlite statement); the thread is started again on the same data
 * directory, which recovers as after a crash: committed data stays, the open transaction is gone.
 */
export class EmbeddedEngine {
  readonly arbiter = new SessionArbiter();
  /** Replaced on every restart: state kept per backend (prepared statements) keys on it. */
  backend: object = {};
  private worker!: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;
  private starting: Promise<void> | undefined;
  /** Channels the backend LISTENs on for in-process subscribers. */
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  private readonly notifyHooks = new Set<NotifyFn>();
  restarts = 0;

  private constructor(readonly dataDir: string | undefined) {}

  static async start(dataDir: string | undefined): Promise<EmbeddedEngine> {
    const e = new EmbeddedEngine(dataDir);
    await e.spawn();
    return e;
  }

  /** Whether a request can be ended by restarting (not for an in-memory database: it would be lost). */
  get canInterrupt(): boolean {
    return this.dataDir !== undefined;
  }

  private spawn(): Promise<void> {
    this.starting = new Promise<void>((resolve, reject) => {
      const w = new Worker(workerFile(), { workerData: { dataDir: this.dataDir } });
      this.worker = w;
      let ready = false;
      w.on('message', (m: WorkerReply) => {
        if (m.t === 'reply') {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (this.pending.size === 0) w.unref();
          if (m.ok) p.resolve(m.value);
          else p.reject(rebuildError(m.error));
        } else if (m.t === 'notify') this.emit(m.channel, m.payload);
        else if (m.t === 'ready') {
          ready = true;
          if (this.pending.size === 0) w.unref();
          resolve();
        } else if (m.t === 'failed') reject(rebuildError(m.error));
      });
      w.on('error', (err) => {
        if (!ready) reject(err);
        this.failPending(err);
      });
      w.on('exit', (code) => {
        if (this.worker !== w) return;
        const err = new Error(`the embedded database thread stopped (exit ${code})`);
        if (!ready) reject(err);
        this.failPending(err);
      });
    });
    return this.starting;
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /**
   * Sends one request to the database thread. Callers hold the backend through the arbiter.
   * `timeoutMs`: end the request (restart the thread) when it runs longer; it rejects with 57014.
   */
  async call<T>(req: Request, opts: { timeoutMs?: number; transfer?: ArrayBuffer[] } = {}): Promise<T> {
    if (this.closed) throw Object.assign(new Error('the embedded database is closed'), { code: '57P01' });
    await this.starting;
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    // The thread keeps the process alive only while it has work, like a socket with a query out.
    if (this.pending.size === 1) this.worker.ref();

    this.worker.postMessage({ ...req, id } as WorkerRequest, opts.transfer ?? []);
    const limit = opts.timeoutMs && this.canInterrupt ? opts.timeoutMs : 0;
    if (!limit) return result;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
        this.interrupt().then(() => reject(statementTimeoutError(limit, 'timeout')), reject);
      }, limit);
    });
    try {
      return await Promise.race([result, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends whatever the backend runs now and starts it again (uncommitted work is rolled back). */
  async interrupt(): Promise<void> {
    const old = this.worker;
    this.backend = {};
    this.restarts++;
    this.failPending(statementTimeoutError(0, 'cancel'));
    const stopped = old.terminate();
    await this.spawn();
    await stopped;
    for (const ch of this.channels.keys()) await this.call({ op: 'listen', channel: ch });
  }

  /** Tells `fn` about every notification the backend delivers (for socket sessions that LISTEN). */
  onNotify(fn: NotifyFn): () => void {
    this.notifyHooks.add(fn);
    return () => this.notifyHooks.delete(fn);
  }

  private emit(channel: string, payload: string): void {
    for (const fn of this.channels.get(channel) ?? []) {
      try {
        fn(payload);
      } catch {
        /* a subscriber's failure is its own */
      }
    }
    for (const fn of this.notifyHooks) fn(channel, payload);
  }

  /** In-process LISTEN: the backend listens once per channel, whoever else shares it. */
  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    let subs = this.channels.get(channel);
    if (!subs) {
      this.channels.set(channel, (subs = new Set()));
      await this.arbiter.exclusive('listen', () => this.call({ op: 'listen', channel }));
    }
    subs.add(fn);
    return async () => {
      subs!.delete(fn);
      if (subs!.size === 0 && this.channels.get(channel) === subs) {
        this.channels.delete(channel);
        if (!this.closed) await this.arbiter.exclusive('unlisten', () => this.call({ op: 'unlisten', channel })).catch(() => {});
      }
    };
  }

  /** Channels in-process subscribers need the backend to LISTEN on. */
  get listenedChannels(): string[] {
    return [...this.channels.keys()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.arbiter.exclusive('close', async () => {
      await this.call({ op: 'close' }).catch(() => {});
      this.closed = true;
    });
    await this.worker.terminate();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
