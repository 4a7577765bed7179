/** The few pieces of PostgreSQL's wire protocol (v3) the embedded socket needs. */

export interface Notification {
  channel: string;
  payload: string;
}

const readCString = (b: Uint8Array, at: number): [string, number] => {
  let end = at;
  while (end < b.length && b[end] !== 0) end++;
  return [Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('utf8'), end + 1];
};

/**
 * Walks a backend reply: takes the NotificationResponse messages out and finds the status of the
 * last ReadyForQuery. Always returns a fresh copy of the bytes (safe to transfer between threads).
 */
export function scanBackendMessages(raw: Uint8Array): { bytes: Uint8Array; notifications: Notification[]; status: 'I' | 'T' | 'E' | null } {
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const notifications: Notification[] = [];
  const keep: [number, number][] = [];
  let status: 'I' | 'T' | 'E' | null = null;
  let i = 0;
  while (i + 5 <= view.length) {
    const type = view[i]!;
    const len = view.readInt32BE(i + 1);
    const end = i + 1 + len;
    if (type === 0x41 /* A */) {
      const [channel, next] = readCString(raw, i + 9);
      const [payload] = readCString(raw, next);
      notifications.push({ channel, payload });
    } else {
      if (type === 0x5a /* Z */) status = String.fromCharCode(view[i + 5]!) as 'I' | 'T' | 'E';
      const last = keep[keep.length - 1];
      if (last && last[1] === i) last[1] = end;
      else keep.push([i, end]);
    }
    i = end;
  }
  if (keep.length === 1 && keep[0]![0] === 0 && keep[0]![1] === raw.length) return { bytes: raw.slice(), notifications, status };
  return { bytes: Buffer.concat(keep.map(([a, b]) => view.subarray(a, b))), notifications, status };
}

export function backendMessage(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

export const cstring = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

export const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};

export type Severity = 'ERROR' | 'FATAL';

/** An ErrorResponse as PostgreSQL sends it (severity, SQLSTATE, message). */
export function errorResponse(severity: Severity, code: string, message: string, hint?: string): Buffer {
  const fields = [Buffer.from('S'), cstring(severity), Buffer.from('V'), cstring(severity), Buffer.from('C'), cstring(code), Buffer.from('M'), cstring(message)];
  if (hint) fields.push(Buffer.from('H'), cstring(hint));
  return backendMessage('E', Buffer.concat([...fields, Buffer.from([0])]));
}

export const readyForQuery = (status: 'I' | 'T' | 'E') => backendMessage('Z', Buffer.from(status, 'latin1'));

export function notificationResponse(pid: number, n: Notification): Buffer {
  return backendMessage('A', Buffer.concat([int32(pid), cstring(n.channel), cstring(n.payload)]));
}

/** Splits complete frontend messages off the front of `buf`: [messages, rest]. */
export function splitFrontendMessages(buf: Buffer): [Buffer[], Buffer] {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 5 <= buf.length) {
    const len = buf.readInt32BE(i + 1);
    if (len < 4) throw new Error(`invalid message length ${len}`);
    if (i + 1 + len > buf.length) break;
    out.push(buf.subarray(i, i + 1 + len));
    i += 1 + len;
  }
  return [out, buf.subarray(i)];
}

/** The startup-phase packets: no type byte, a length then a code. */
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
export const PROTOCOL_3 = 196608;

export function parseStartupParams(body: Buffer): Record<string, string> {
  const params: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const [k, n1] = readCString(body, i);
    const [v, n2] = readCString(body, n1);
    params[k] = v;
    i = n2;
  }
  return params;
}

/** The query texts of a batch of frontend messages (simple Query and Parse), for light inspection. */
export function queryTexts(messages: Buffer[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (m[0] === 0x51 /* Q */) out.push(readCString(m, 5)[0]);
    else if (m[0] === 0x50 /* P */) {
      const [, next] = readCString(m, 5);
      out.push(readCString(m, next)[0]);
    }
  }
  return out;
}

/**
 * Gives a session's named prepared statements and portals names of their own on the shared
 * backend (Parse, Bind, Describe, Close, Execute), so two clients using the same name do not
 * collide. Statement names made by Parse are added to `made` (to close them when the session ends).
 */
export function scopeNames(messages: Buffer[], prefix: string, made: Set<string>): Buffer[] {
  const scoped = (name: string) => (name ? prefix + name : name);
  return messages.map((m) => {
    const type = String.fromCharCode(m[0]!);
    if (type === 'P') {
      const [name, next] = readCString(m, 5);
      if (!name) return m;
      made.add(scoped(name));
      return backendMessage('P', Buffer.concat([cstring(scoped(name)), m.subarray(next)]));
    }
    if (type === 'B') {
      const [portal, n1] = readCString(m, 5);
      const [statement, n2] = readCString(m, n1);
      if (!portal && !statement) return m;
      return backendMessage('B', Buffer.concat([cstring(scoped(portal)), cstring(scoped(statement)), m.subarray(n2)]));
    }
    if (type === 'D' || type === 'C') {
      const [name, next] = readCString(m, 6);
      if (!name) return m;
      if (type === 'C' && m[5] === 0x53 /* S */) made.delete(scoped(name));
      return backendMessage(type, Buffer.concat([m.subarray(5, 6), cstring(scoped(name)), m.subarray(next)]));
    }
    if (type === 'E') {
      const [portal, next] = readCString(m, 5);
      if (!portal) return m;
      return backendMessage('E', Buffer.concat([cstring(scoped(portal)), m.subarray(next)]));
    }
    return m;
  });
}

/** Close (statement) messages for `names`, ended by Sync. */
export function closeStatements(names: Iterable<string>): Buffer {
  const parts = [...names].map((n) => backendMessage('C', Buffer.concat([Buffer.from('S'), cstring(n)])));
  return Buffer.concat([...parts, backendMessage('S')]);
}
