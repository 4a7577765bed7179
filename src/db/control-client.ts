import fs from 'node:fs';
import net from 'node:net';
import { RobbieverseError, type ErrorCode } from '../errors.js';
import type { BackupInfo } from './backup.js';
import { controlPath, type ControlRequest, type ControlResponse } from './control-protocol.js';

/** Sends one request to the control channel of the process holding `home`; undefined when it has none. */
export async function controlRequest(home: string, req: ControlRequest, timeoutMs = 600_000): Promise<ControlResponse | undefined> {
  const file = controlPath(home);
  if (!fs.existsSync(file)) return undefined;
  return new Promise<ControlResponse>((resolve, reject) => {
    const conn = net.createConnection(file);
    let buf = '';
    conn.setEncoding('utf8');
    conn.setTimeout(timeoutMs, () => conn.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
    conn.on('data', (d: string) => (buf += d));
    conn.on('error', (err) =>
      reject(new RobbieverseError('E_CONNECT', `the control channel ${file} does not answer: ${err.message}`, { hint: 'check that the process holding the home is healthy, or stop it and run again', cause: err })),
    );
    conn.on('end', () => {
      try {
        resolve(JSON.parse(buf.trim()) as ControlResponse);
      } catch {
        reject(new RobbieverseError('E_CONNECT', `the control channel ${file} gave no valid answer`, { hint: 'stop the process holding the home and run again' }));
      }
    });
  });
}

/** Asks the running `robbieverse up` that holds `home` to back it up into `dir`. */
export async function requestBackup(home: string, dir: string, label = 'backup'): Promise<BackupInfo | undefined> {
  const r = await controlRequest(home, { op: 'backup', dir, label });
  if (!r) return undefined;
  if (!r.ok) throw new RobbieverseError((r.error.code as ErrorCode) || 'E_BACKUP', r.error.message, { hint: r.error.hint });
  return r.backup as BackupInfo;
}
