/**
 * The sync daemon of a node: pushes right after local commits (a NOTIFY hint, debounced), and
 * every 30 s as a safety net; pulls when the hub hints that it has changes (LISTEN on the hub,
 * over a connection of the node's own), every pull interval (default 5 min) as the guarantee, at
 * start and after the hub comes back; retries with backoff from 1 s doubling to 5 min. One
 * exchange at a time.
 */
import type { Logger } from 'pino';
import { listen, type Listener } from '../db/listen.js';
import { PostgresDb } from '../db/postgres.js';
import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import { exchange, type ExchangeResult } from './exchange.js';
import { DEFAULT_PULL_INTERVAL_MS, type SyncSettings } from './settings.js';

export const SYNC_PUSH_CHANNEL = 'sync_push';
/** Sent by the hub when its change log grows; the payload is the writing transaction's id. */
export const SYNC_CHANGES_CHANNEL = 'sync_changes';

export interface SyncDaemonOptions {
  local: Db;
  settings: SyncSettings;
  pullIntervalMs?: number;
  /** Wait after a commit hint before pushing, so a burst of commits travels as one batch. */
  debounceMs?: number;
  safetyPushMs?: number;
  /** Wait after a hub hint before pulling, so a burst of hub commits is pulled at once. */
  hintDebounceMs?: number;
  /** Listen for the hub's hints (default true); without them the node pulls on its interval only. */
  hubHints?: boolean;
  batchSize?: number;
  logger?: Logger;
  onEvent?: (e: SyncDaemonEvent) => void;
}

export type SyncDaemonEvent =
  | { type: 'exchange'; kind: 'push' | 'full'; result: ExchangeResult }
  | { type: 'hints'; listening: boolean; error?: string }
  | { type: 'error'; error: Error; retryInMs: number }
  | { type: 'recovered'; afterMs: number };

const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 300_000;
/** A hinted transaction not yet readable (an older one still runs on the hub): pull again after 100 ms, 200 ms, … */
const HINT_RETRY_MS = 100;
const HINT_RETRIES = 8;

export class SyncDaemon {
  private hub: Db | undefined;
  private listener: Listener | undefined;
  private hubListener: Listener | undefined;
  private hubListening: Promise<void> | undefined;
  /** The newest hub transaction a hint announced that our pull cursor has not passed yet. */
  private hintedXid = 0n;
  private hintRetries = 0;
  private pullTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private want = { push: false, pull: false };
  private timers = new Set<NodeJS.Timeout>();
  private pushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private failingSince = 0;
  private stopped = false;
  lastResult: ExchangeResult | undefined;
  lastError: Error | undefined;

  constructor(private readonly o: SyncDaemonOptions) {}

  get pullIntervalMs(): number {
    return this.o.pullIntervalMs ?? this.o.settings.pullIntervalMs ?? DEFAULT_PULL_INTERVAL_MS;
  }

  async start(): Promise<void> {
    this.listener = await listen(this.o.local, [SYNC_PUSH_CHANNEL], {
      onNotify: () => this.schedulePush(),
      onReconnect: () => this.request({ push: true }),
    });
    this.every(this.pullIntervalMs, () => this.request({ push: true, pull: true }));
    this.every(this.o.safetyPushMs ?? 30_000, () => this.request({ push: true }));
    this.request({ push: true, pull: true });
  }

  /** Push and pull now; resolves when that exchange is done (rejects with its error). */
  async syncNow(): Promise<ExchangeResult> {
    await this.idle();
    return this.run({ push: true, pull: true });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.pullTimer) clearTimeout(this.pullTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.listener?.close();
    await this.hubListening?.catch(() => {});
    await this.hubListener?.close();
    await this.idle();
    await this.hub?.close().catch(() => {});
    this.hub = undefined;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);

    this.timers.add(t);
  }

  private schedulePush(): void {
    if (this.stopped || this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.request({ push: true });
    }, this.o.debounceMs ?? 200);
  }

  /** A hub hint: pull soon (debounced), unless our cursor is already past that transaction. */
  private onHint(payload: string): void {
    let xid = 0n;
    try {
      xid = BigInt(payload || '0');
    } catch {
      /* a hint without a transaction id still asks for a pull */
    }
    if (xid > this.hintedXid) this.hintedXid = xid;
    this.hintRetries = 0;
    this.schedulePull(this.o.hintDebounceMs ?? 20);
  }

  private schedulePull(delayMs: number): void {
    if (this.stopped || this.pullTimer) return;
    this.pullTimer = setTimeout(() => {
      this.pullTimer = undefined;
      this.request({ push: true, pull: true });
    }, delayMs);
  }

  /**
   * After a pull: a hinted transaction the cursor has not passed was not readable yet (pulls read
   * only transactions older than the oldest running on the hub): pull again shortly, a few times;
   * the scheduled pull remains the guarantee.
   */
  private afterPull(result: ExchangeResult): void {
    if (this.hintedXid === 0n) return;
    if (BigInt(result.pull.cursor.xid) >= this.hintedXid || this.hintRetries >= HINT_RETRIES) {
      this.hintedXid = 0n;
      this.hintRetries = 0;
      return;
    }
    this.schedulePull(HINT_RETRY_MS * 2 ** this.hintRetries++);
  }

  /** LISTEN for the hub's hints once the hub has answered; retried after the next exchange if it fails. */
  private listenToHub(): void {
    if (this.o.hubHints === false || this.hubListener || this.hubListening || this.stopped) return;
    const hub = this.hub;
    if (!hub) return;
    // Over a connection of its own (not the exchange's), which reconnects by itself.
    this.hubListening = hub.listen([SYNC_CHANGES_CHANNEL], {
      onNotify: (n) => this.onHint(n.payload),
      // Hints sent while the connection was down are lost: pull to catch up.
      onReconnect: () => this.request({ push: true, pull: true }),
    }, { logger: this.o.logger, maxDelayMs: 30_000 })
      .then(
        async (l) => {
          if (this.stopped) return l.close();
          this.hubListener = l;
          // A hint sent before LISTEN took effect is lost: one pull covers it.
          this.request({ push: true, pull: true });
          this.o.onEvent?.({ type: 'hints', listening: true });
        },
        (err: Error) => {
          this.o.logger?.warn({ err: err.message }, 'cannot LISTEN on the master; pulling on the interval only until the next exchange');
          this.o.onEvent?.({ type: 'hints', listening: false, error: err.message });
        },
      )
      .finally(() => (this.hubListening = undefined));
  }

  private request(w: { push?: boolean; pull?: boolean }): void {
    if (this.stopped) return;
    this.want.push ||= Boolean(w.push);
    this.want.pull ||= Boolean(w.pull);
    if (this.running || this.retryTimer) return;
    this.running = this.drain().finally(() => (this.running = undefined));
  }

  private async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (!this.stopped && (this.want.push || this.want.pull)) {
      const w = this.want;
      this.want = { push: false, pull: false };
      try {
        await this.run(w);
      } catch {
        // run() recorded the error and scheduled a retry that asks for a pull as well.
        return;
      }
    }
  }

  private async connectHub(): Promise<Db> {
    if (!this.hub) this.hub = await PostgresDb.open(this.o.settings.masterUrl, { max: 1, applicationName: `robbieverse-sync ${this.o.settings.nodeKey}`, logger: this.o.logger });
    return this.hub;
  }

  private async run(w: { push?: boolean; pull?: boolean }): Promise<ExchangeResult> {
    try {
      const hub = await this.connectHub();
      const result = await exchange({ local: this.o.local, hub, nodeKey: this.o.settings.nodeKey, batchSize: this.o.batchSize, logger: this.o.logger }, { push: w.push !== false, pull: Boolean(w.pull) });
      if (this.failures > 0) this.o.onEvent?.({ type: 'recovered', afterMs: Date.now() - this.failingSince });
      this.failures = 0;
      this.lastResult = result;
      this.lastError = undefined;
      this.o.onEvent?.({ type: 'exchange', kind: w.pull ? 'full' : 'push', result });
      this.listenToHub();
      if (w.pull) this.afterPull(result);
      return result;
    } catch (err) {
      const e = err as Error;
      // A broken connection is replaced on the next attempt.
      if (!(e instanceof RobbieverseError) || e.code === 'E_CONNECT') {
        await this.hub?.close().catch(() => {});
        this.hub = undefined;
      }
      if (this.failures === 0) this.failingSince = Date.now();
      const retryInMs = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** this.failures);
      this.failures++;
      this.lastError = e;
      this.o.logger?.warn({ err: e.message, retryInMs }, 'sync exchange failed');
      this.o.onEvent?.({ type: 'error', error: e, retryInMs });
      if (!this.stopped && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          // After a failure, pull as well: the hub may have changed while we could not reach it.
          this.request({ push: true, pull: true });
        }, retryInMs);

      }
      throw e;
    }
  }
}
