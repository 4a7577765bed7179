/**
 * The embedded database on a Postgres-protocol socket, with the two things a real server gives
 * every client: a password check (SCRAM-SHA-256), and a session of its own (see SessionArbiter).
 * A session that sits idle inside a transaction, or sends a statement that runs too long, is
 * ended with PostgreSQL's own error codes so it cannot hold everyone else forever.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import type { EmbeddedEngine } from './engine.js';
import type { ProtocolReply, SessionState } from './messages.js';
import type { SessionToken } from './arbiter.js';
import { ScramExchange, scramVerifier, type ScramVerifier } from './scram.js';
import {
  CANCEL_REQUEST, GSSENC_REQUEST, PROTOCOL_3, SSL_REQUEST, backendMessage, cstring, errorResponse, int32,
  closeStatements, notificationResponse, parseStartupParams, queryTexts, readyForQuery, scopeNames, splitFrontendMessages,
} from './wire.js';

export interface EmbeddedSocketOptions {
  host: string;
  port: number;
  /** The only accepted user name. */
  user?: string;
  password: string;
  maxConnections?: number;
  /** A message (one statement, or a multi-statement string) running longer is ended: 57014. 0 = no limit. */
  statementTimeoutMs: number;
  /** A session idle inside a transaction longer is disconnected: 25P03. 0 = no limit. */
  idleInTransactionTimeoutMs: number;
  /** After every exchange of a socket client (callers that watch for changes made through it). */
  onActivity?: () => void;
  logger?: Logger;
}

export interface EmbeddedSocketServer {
  host: string;
  port: number;
  /** Sessions connected now. */
  readonly sessions: number;
  stop(): Promise<void>;
}

const quoteIdent = (s: string) => '"' + s.replace(/"/g, '""') + '"';
const quoteLiteral = (s: string) => "'" + s.replace(/'/g, "''") + "'";

/** SQL that gives a session back the settings it had made (run at the start of its next turn). */
export function restoreSql(state: SessionState): string {
  const parts = state.settings.map(([name, value]) => `SELECT set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, false)`);
  for (const [name, value] of state.custom) parts.push(`SELECT set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, false)`);
  if (state.role) parts.push(`SET ROLE ${quoteIdent(state.role)}`);
  return parts.join('; ');
}

const LISTEN_RE = /\b(UN)?LISTEN\s+("(?:[^"]|"")+"|\*|[A-Za-z_][\w$]*)/gi;

let nextPid = 10_000;

class SocketSession implements SessionToken {
  readonly name: string;
  readonly pid = nextPid++;
  readonly secret = crypto.randomInt(0, 2 ** 31);
  private buf: Buffer = Buffer.alloc(0);
  private phase: 'startup' | 'sasl-first' | 'sasl-final' | 'ready' | 'closed' = 'startup';
  private scram: ScramExchange | undefined;
  private user = '';
  private chain: Promise<void> = Promise.resolve();
  /** True while this session holds the backend (inside a transaction or an unfinished exchange). */
  private holding = false;
  /** An exchange is being run for this session now. */
  busy = false;
  private state: SessionState | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  readonly channels = new Set<string>();
  private queuedNotifications: Buffer[] = [];
  /** This session's prepared statements on the shared backend (scoped names). */
  private readonly statements = new Set<string>();

  constructor(
    private readonly socket: net.Socket,
    private readonly server: Server,
  ) {
    this.name = `socket:${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    // A connection must sign in promptly: one that does not is not left holding a slot.
    const handshake = setTimeout(() => {
      if (this.phase !== 'ready' && this.phase !== 'closed') this.fatal('08P01', 'the connection did not sign in within 10 s');
    }, 10_000);
    handshake.unref();
    socket.once('close', () => clearTimeout(handshake));
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  private fatal(code: string, message: string, hint?: string): void {
    this.write(errorResponse('FATAL', code, message, hint));
    this.socket.end();
    this.close();
  }

  private onData(d: Buffer): void {
    if (this.phase === 'closed') return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      while (this.inHandshake() && this.buf.length) {
        if (!this.handshakeStep()) return;
      }
      if (this.phase !== 'ready') return;
      const [messages, rest] = splitFrontendMessages(this.buf);
      this.buf = rest;
      if (rest.length > 64 * 2 ** 20) return this.fatal('54000', 'message too large for the embedded socket');
      if (messages.length) this.chain = this.chain.then(() => this.exchange(messages));
    } catch (err) {
      this.fatal('08P01', `invalid frontend message: ${(err as Error).message}`);
    }
  }

  private inHandshake(): boolean {
    return this.phase === 'startup' || this.phase === 'sasl-first' || this.phase === 'sasl-final';
  }

  /** One step of the connection's start: returns false when more bytes are needed. */
  private handshakeStep(): boolean {
    if (this.phase === 'startup') {
      if (this.buf.length < 8) return false;
      const len = this.buf.readInt32BE(0);
      if (len < 8 || len > 10_000) throw new Error(`invalid startup packet length ${len}`);
      if (this.buf.length < len) return false;
      const code = this.buf.readInt32BE(4);
      const body = this.buf.subarray(8, len);
      this.buf = this.buf.subarray(len);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.write(Buffer.from('N'));
        return true;
      }
      if (code === CANCEL_REQUEST) {
        this.server.cancel(body.readInt32BE(0), body.readInt32BE(4));
        this.close();
        this.socket.end();
        return false;
      }
      if (code !== PROTOCOL_3) {
        this.fatal('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: the embedded socket speaks 3.0`);
        return false;
      }
      const params = parseStartupParams(body);
      this.user = params.user ?? '';
      if (!this.user) {
        this.fatal('28000', 'no PostgreSQL user name specified in startup packet', 'connect as user postgres');
        return false;
      }
      const database = params.database || this.user;
      if (database !== 'postgres') {
        this.fatal('3D000', `database "${database}" does not exist`, 'the embedded database is named postgres');
        return false;
      }
      this.write(backendMessage('R', Buffer.concat([int32(10), cstring('SCRAM-SHA-256'), Buffer.from([0])])));
      this.phase = 'sasl-first';
      return true;
    }
    const [messages, rest] = splitFrontendMessages(this.buf);
    if (!messages.length) return false;
    const m = messages[0]!;
    this.buf = Buffer.concat([...messages.slice(1), rest]);
    if (m[0] !== 0x70 /* p */) {
      this.fatal('28000', 'expected a password message');
      return false;
    }
    if (this.phase === 'sasl-first') {
      const end = m.indexOf(0, 5);
      const mechanism = m.subarray(5, end).toString();
      if (mechanism !== 'SCRAM-SHA-256') {
        this.fatal('28000', `authentication mechanism ${mechanism} is not supported: use SCRAM-SHA-256`);
        return false;
      }
      const dataLen = m.readInt32BE(end + 1);
      const clientFirst = m.subarray(end + 5, end + 5 + Math.max(0, dataLen)).toString();
      this.scram = new ScramExchange(this.server.verifier);
      let serverFirst: string;
      try {
        serverFirst = this.scram.first(clientFirst);
      } catch (err) {
        this.fatal('08P01', (err as Error).message);
        return false;
      }
      this.write(backendMessage('R', Buffer.concat([int32(11), Buffer.from(serverFirst)])));
      this.phase = 'sasl-final';
      return true;
    }
    const final = this.scram!.final(m.subarray(5).toString());
    if (!final || this.user !== this.server.user) {
      this.fatal('28P01', `password authentication failed for user "${this.user}"`);
      return false;
    }
    this.write(Buffer.concat([
      backendMessage('R', Buffer.concat([int32(12), Buffer.from(final)])),
      backendMessage('R', int32(0)),
      this.server.parameterStatus,
      backendMessage('K', Buffer.concat([int32(this.pid), int32(this.secret)])),
      readyForQuery('I'),
    ]));
    this.phase = 'ready';
    this.server.ready(this);
    return true;
  }

  private async exchange(messages: Buffer[]): Promise<void> {
    if (this.phase !== 'ready') return;
    const terminate = messages.findIndex((m) => m[0] === 0x58 /* X */);
    if (terminate >= 0) messages = messages.slice(0, terminate);
    if (messages.length) await this.run(messages);
    if (terminate >= 0) {
      this.socket.end();
      this.close();
    }
  }

  private async run(messages: Buffer[]): Promise<void> {
    const engine = this.server.engine;
    this.clearIdle();
    const wasHolding = this.holding;
    if (!wasHolding) {
      await engine.arbiter.acquire(this);
      if (this.phase === 'closed') return void engine.arbiter.release(this);
      this.holding = true;
    }
    const texts = queryTexts(messages);
    let unlisten = false;
    for (const t of texts) {
      for (const m of t.matchAll(LISTEN_RE)) {
        const ch = m[2]!.startsWith('"') ? m[2]!.slice(1, -1).replace(/""/g, '"') : m[2]!.toLowerCase();
        if (m[1]) {
          unlisten = true;
          if (ch === '*') this.channels.clear();
          else this.channels.delete(ch);
        } else this.channels.add(ch);
      }
    }
    this.busy = true;
    let reply: ProtocolReply;
    try {
      reply = await engine.call<ProtocolReply>(
        {
          op: 'protocol',
          bytes: new Uint8Array(Buffer.concat(scopeNames(messages, `s${this.pid}_`, this.statements))),
          before: !wasHolding && this.state ? restoreSql(this.state) : undefined,
          snapshot: true,
          relisten: unlisten ? [...new Set([...engine.listenedChannels, ...this.server.socketChannels()])] : undefined,
        },
        { timeoutMs: this.server.o.statementTimeoutMs || undefined },
      );
    } catch (err) {
      this.busy = false;
      const e = err as Error & { code?: string };
      this.holding = false;
      engine.arbiter.release(this);
      if (e.code === '57014') {
        if (wasHolding) this.fatal('57014', `${e.message}; its transaction was rolled back and the connection closed`);
        else {
          const hint = /statement timeout/.test(e.message) ? `the embedded database ends statements after ${this.server.o.statementTimeoutMs} ms (ROBBIEVERSE_STATEMENT_TIMEOUT_MS)` : undefined;
          this.write(Buffer.concat([errorResponse('ERROR', '57014', e.message, hint), readyForQuery('I')]));
        }
      } else this.fatal('XX000', `the embedded database failed: ${e.message}`);
      return;
    }
    this.busy = false;
    if (reply.status === 'I') this.state = reply.state;
    this.write(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
    this.flushNotifications();
    if (reply.status === 'I') {
      this.holding = false;
      engine.arbiter.release(this);
    } else this.armIdle();
    this.server.o.onActivity?.();
  }

  private armIdle(): void {
    const ms = this.server.o.idleInTransactionTimeoutMs;
    if (!ms) return;
    this.idleTimer = setTimeout(() => {
      if (!this.holding || this.busy) return;
      this.server.o.logger?.warn({ session: this.name, ms }, 'embedded socket: idle in transaction too long, disconnected');
      this.fatal('25P03', 'terminating connection due to idle-in-transaction timeout', `the embedded database ends transactions left idle for ${ms} ms (ROBBIEVERSE_IDLE_IN_TRANSACTION_TIMEOUT_MS)`);
    }, ms);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  notify(channel: string, payload: string): void {
    if (!this.channels.has(channel) || this.phase !== 'ready') return;
    const msg = notificationResponse(this.pid, { channel, payload });
    if (this.busy) this.queuedNotifications.push(msg);
    else this.write(msg);
  }

  private flushNotifications(): void {
    if (!this.queuedNotifications.length) return;
    this.write(Buffer.concat(this.queuedNotifications));
    this.queuedNotifications = [];
  }

  /**
   * Ends the session: a transaction it left open is rolled back, and its prepared statements are
   * closed, before anyone else goes on.
   */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.clearIdle();
    this.server.gone(this);
    if (!this.socket.destroyed) this.socket.destroy();
    // Still waiting for its turn: leave the queue now.
    if (!this.holding && !this.busy) this.server.engine.arbiter.release(this);
    this.chain = this.chain.then(async () => {
      if (!this.holding && this.statements.size === 0) return void this.server.engine.arbiter.release(this);
      const engine = this.server.engine;
      try {
        if (!this.holding) await engine.arbiter.acquire(this);
        this.holding = true;
        // Sync ends an unfinished extended-protocol exchange; then the transaction is rolled back.
        const cleanup = [backendMessage('S'), backendMessage('Q', cstring('ROLLBACK; RESET ALL; RESET ROLE')), closeStatements(this.statements)];
        await engine.call({ op: 'protocol', bytes: new Uint8Array(Buffer.concat(cleanup)) });
      } catch {
        /* the backend restarted: nothing is open any more */
      } finally {
        this.holding = false;
        engine.arbiter.release(this);
      }
    });
  }

  /** A CancelRequest for this session: ends its running statement (the backend is restarted). */
  cancelRunning(): void {
    if (!this.busy || !this.server.engine.canInterrupt) return;
    void this.server.engine.interrupt();
  }
}

class Server {
  readonly verifier: ScramVerifier;
  readonly user: string;
  parameterStatus: Buffer = Buffer.alloc(0);
  private readonly live = new Set<SocketSession>();
  private readonly offNotify: () => void;

  constructor(
    readonly engine: EmbeddedEngine,
    readonly o: EmbeddedSocketOptions,
  ) {
    this.verifier = scramVerifier(o.password);
    this.user = o.user ?? 'postgres';
    this.offNotify = engine.onNotify((channel, payload) => {
      for (const s of this.live) s.notify(channel, payload);
    });
  }

  get count(): number {
    return this.live.size;
  }

  ready(s: SocketSession): void {
    this.live.add(s);
  }

  gone(s: SocketSession): void {
    this.live.delete(s);
  }

  socketChannels(): string[] {
    return [...this.live].flatMap((s) => [...s.channels]);
  }

  cancel(pid: number, secret: number): void {
    for (const s of this.live) if (s.pid === pid && s.secret === secret) s.cancelRunning();
  }

  stopNotify(): void {
    this.offNotify();
  }

  closeAll(): void {
    for (const s of [...this.live]) s.close();
  }
}

/** What a freshly started PostgreSQL tells a client about itself (ParameterStatus messages). */
async function parameterStatus(engine: EmbeddedEngine): Promise<Buffer> {
  const { rows } = await engine.arbiter.exclusive('socket-start', () =>
    engine.call<{ rows: { name: string; setting: string }[] }>({
      op: 'query',
      sql: `SELECT name, setting FROM pg_settings WHERE name IN ('server_version','server_encoding','client_encoding','DateStyle',
              'IntervalStyle','TimeZone','integer_datetimes','standard_conforming_strings','application_name')`,
    }),
  );
  const all = [...rows, { name: 'is_superuser', setting: 'on' }, { name: 'session_authorization', setting: 'postgres' }];
  return Buffer.concat(all.map((r) => backendMessage('S', Buffer.concat([cstring(r.name), cstring(r.setting)]))));
}

export async function startEmbeddedSocket(engine: EmbeddedEngine, o: EmbeddedSocketOptions): Promise<EmbeddedSocketServer> {
  const server = new Server(engine, o);
  server.parameterStatus = await parameterStatus(engine);
  const net_ = net.createServer((socket) => {
    if (server.count >= (o.maxConnections ?? 32)) {
      socket.end(errorResponse('FATAL', '53300', 'sorry, too many clients already'));
      return;
    }
    new SocketSession(socket, server);
  });
  await new Promise<void>((resolve, reject) => {
    net_.once('error', reject);
    net_.listen(o.port, o.host, () => {
      net_.off('error', reject);
      resolve();
    });
  });
  const addr = net_.address() as net.AddressInfo;
  return {
    host: o.host,
    port: addr.port,
    get sessions() {
      return server.count;
    },
    async stop() {
      server.stopNotify();
      server.closeAll();
      await new Promise<void>((resolve) => net_.close(() => resolve()));
    },
  };
}
