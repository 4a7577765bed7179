import fs from 'node:fs';
import net from 'node:net';
import { RobbieverseError } from '../errors.js';
import { backupDatabase } from './backup.js';
import { controlPath, MAX_REQUEST_BYTES, parseControlRequest, type ControlResponse } from './control-protocol.js';
import { tightenedNotice } from './home-lock.js';
import type { OpenedDb } from './open.js';

export interface ControlChannel {
  path: string;
  close(): Promise<void>;
}

/** Unix socket paths are limited to about 107 bytes. */
const MAX_SOCKET_PATH = 100;

function errorJson(err: unknown): ControlResponse {
  if (err instanceof RobbieverseError) return { ok: false, error: { code: err.code, message: err.message, hint: err.hint } };
  return { ok: false, error: { code: 'E_BACKUP', message: (err as Error)?.message ?? String(err) } };
}

/**
 * Serves the control channel (control-protocol.ts) of the embedded home this process holds, so
 * other commands can ask the owner of the data directory for things only it can do safely (a
 * consistent backup). Requests run one at a time. `note` receives one-line notices for the
 * operator (the home's mode was tightened, the channel could not start).
 */
export async function startControlChannel(opened: OpenedDb, opts: { note?: (line: string) => void } = {}): Promise<ControlChannel | undefined> {
  const note = opts.note ?? (() => {});
  if (!opened.lock || opened.db.capabilities.serverProcess || !opened.db.dumpDataDir) return undefined;
  const home = opened.lock.home;
  if (opened.lock.tightenedFrom !== undefined) note(`  ${tightenedNotice(home, opened.lock.tightenedFrom)}\n`);
  const db = opened.db;
  const file = controlPath(home);
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH) {
    note(`  control channel not started: ${file} is too long for a Unix socket; db backup needs up stopped\n`);
    return undefined;
  }
  // We hold the home lock: a socket file here is left over from a process that died.
  fs.rmSync(file, { force: true });
  let queue: Promise<unknown> = Promise.resolve();
  const handle = (line: string): Promise<ControlResponse> => {
    const run = async (): Promise<ControlResponse> => {
      const req = parseControlRequest(line);
      if (req.op === 'ping') return { ok: true, pid: process.pid };
      return { ok: true, backup: await backupDatabase(db, req.dir, req.label) };
    };
    const p = queue.then(run, run).catch(errorJson);
    queue = p;
    return p;
  };
  const server = net.createServer((conn) => {
    conn.setTimeout(10_000, () => conn.destroy());
    let buf = '';
    let answered = false;
    const reply = (r: ControlResponse) => {
      answered = true;
      conn.end(JSON.stringify(r) + '\n');
    };
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      if (answered) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0 && Buffer.byteLength(buf) > MAX_REQUEST_BYTES) return reply(errorJson(new RobbieverseError('E_USAGE', `bad control request: longer than ${MAX_REQUEST_BYTES} bytes`)));
      if (nl < 0) return;
      answered = true;
      conn.setTimeout(0);
      void handle(buf.slice(0, nl)).then((r) => conn.end(JSON.stringify(r) + '\n'));
    });
    conn.on('error', () => {});
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
    fs.chmodSync(file, 0o600);
  } catch (err) {
    server.close();
    note(`  control channel not started (${(err as Error).message}); db backup needs up stopped\n`);
    return undefined;
  }
  return {
    path: file,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.catch(() => {});
      fs.rmSync(file, { force: true });
    },
  };
}
