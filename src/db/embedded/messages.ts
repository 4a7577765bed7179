/** What the main thread and the database thread say to each other (structured-clone data only). */

export interface WireResult {
  rows: Record<string, unknown>[];
  fields: { name: string }[];
  rowCount: number;
}

/** Session settings saved between a socket session's turns (see worker-thread SNAPSHOT). */
export interface SessionState {
  settings: [string, string][];
  role?: string;
  custom: [string, string][];
}

export type WorkerRequest =
  | { id: number; op: 'query'; sql: string; params?: unknown[] }
  | { id: number; op: 'exec'; sql: string }
  | {
      id: number;
      op: 'protocol';
      bytes: Uint8Array;
      /** SQL run first: puts the session's own settings back. */
      before?: string;
      /** After the exchange, if the session is idle: report its settings and reset them. */
      snapshot?: boolean;
      /** LISTEN these again afterwards (the client may have UNLISTENed someone else's channel). */
      relisten?: string[];
    }
  | { id: number; op: 'listen'; channel: string }
  | { id: number; op: 'unlisten'; channel: string }
  | { id: number; op: 'dump' }
  | { id: number; op: 'inTransaction' }
  | { id: number; op: 'close' };

export interface ProtocolReply {
  bytes: Uint8Array;
  /** ReadyForQuery's status at the end of the reply ('I' idle, 'T' in a transaction, 'E' failed one), null if none. */
  status: 'I' | 'T' | 'E' | null;
  state?: SessionState;
}

export type WorkerReply =
  | { t: 'ready' }
  | { t: 'failed'; error: Record<string, unknown> }
  | { t: 'notify'; channel: string; payload: string }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: Record<string, unknown> };
