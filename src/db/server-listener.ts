import pg from 'pg';
import type { Logger } from 'pino';
import type { ListenHandlers, ListenOptions, Listener } from './types.js';

const quoteIdent = (s: string) => '"' + s.replace(/"/g, '""') + '"';

/** Full jitter: a random wait below an exponentially growing cap, so reconnects don't stampede. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(minMs + Math.random() * Math.max(0, cap - minMs));
}

/** LISTEN on a server over a connection of its own, reconnecting (and LISTENing again) when it is lost. */
class ServerListener implements Listener {
  private client: pg.Client | undefined;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channels: string[],
    private readonly h: ListenHandlers,
    private readonly o: Required<Omit<ListenOptions, 'logger'>> & { logger?: Logger },
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: 'robbieverse-listen' });
    c.on('notification', (m) => this.h.onNotify({ channel: m.channel, payload: m.payload ?? '' }));
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c));
    try {
      await c.connect();
      for (const ch of this.channels) await c.query(`LISTEN ${quoteIdent(ch)}`);
    } catch (err) {
      c.removeAllListeners('end');
      c.on('error', () => {});
      await c.end().catch(() => {});
      throw err;
    }
    this.client = c;
  }

  private lost(c: pg.Client, err?: Error): void {
    if (this.closed || this.client !== c) return;
    this.client = undefined;
    this.o.logger?.warn({ err: err?.message }, 'LISTEN connection lost; reconnecting');
    c.on('error', () => {});
    c.end().catch(() => {});
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    const delay = backoffDelay(this.attempt, this.o.minDelayMs, this.o.maxDelayMs);
    this.timer = setTimeout(() => {
      this.connect().then(
        () => {
          this.attempt = 0;
          if (this.closed) {
            void this.close();
            return;
          }
          this.o.logger?.info('LISTEN connection restored');
          this.h.onReconnect?.();
        },
        (err: Error) => {
          this.attempt++;
          this.h.onError?.(err);
          this.schedule();
        },
      );
    }, delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.on('error', () => {});
      await c.end().catch(() => {});
    }
  }
}

/** Starts a ServerListener on `url`: resolves once LISTEN is in force on every channel. */
export async function listenOnServer(url: string, channels: string[], h: ListenHandlers, opts: ListenOptions = {}): Promise<Listener> {
  const l = new ServerListener(url, channels, h, {
    minDelayMs: opts.minDelayMs ?? 100,
    maxDelayMs: opts.maxDelayMs ?? 5_000,
    logger: opts.logger,
  });
  await l.start();
  return l;
}
