import path from 'node:path';
import { RobbieverseError } from '../errors.js';
import { LABEL_RE } from './backup.js';

/**
 * The control channel of a running `robbieverse up`: a Unix domain socket in the home
 * (`control.sock`, mode 0600 inside the 0700 home, so only the same OS user can connect). One
 * JSON line in, one JSON line out, then the connection closes.
 *
 *   → {"op":"backup","dir":"/abs/dir","label":"backup"}
 *   ← {"ok":true,"backup":{path,bytes,sha256,format,createdAt}}
 *   ← {"ok":false,"error":{"code":"E_…","message":"…","hint":"…"}}
 *
 * `dir` must be an absolute path; the file name is chosen by the server (`<home>-<time>-<label>
 * .pglite.tar.gz`, label restricted to [A-Za-z0-9._-]), so a request can only choose which
 * directory the backup lands in, never the name, and never overwrite a file.
 */
export const CONTROL_SOCKET = 'control.sock';
export const MAX_REQUEST_BYTES = 8192;

export function controlPath(home: string): string {
  return path.join(home, CONTROL_SOCKET);
}

export type ControlRequest = { op: 'ping' } | { op: 'backup'; dir: string; label: string };

export interface ControlErrorJson {
  code: string;
  message: string;
  hint?: string;
}

export type ControlResponse = { ok: true; [k: string]: unknown } | { ok: false; error: ControlErrorJson };

function bad(message: string): RobbieverseError {
  return new RobbieverseError('E_USAGE', `bad control request: ${message}`, {
    hint: 'send one JSON line: {"op":"backup","dir":"/absolute/dir","label":"backup"} or {"op":"ping"}',
  });
}

/** Parses and checks one request line; anything not exactly well-formed is refused. */
export function parseControlRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw bad('not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.op === 'ping') {
    if (Object.keys(o).length !== 1) throw bad('ping takes no arguments');
    return { op: 'ping' };
  }
  if (o.op !== 'backup') throw bad(`unknown op ${JSON.stringify(o.op)}`);
  const extra = Object.keys(o).filter((k) => !['op', 'dir', 'label'].includes(k));
  if (extra.length) throw bad(`unknown field ${extra.join(', ')}`);
  if (typeof o.dir !== 'string' || !o.dir || o.dir.includes('\0') || !path.isAbsolute(o.dir)) throw bad('dir must be an absolute path');
  const label = o.label === undefined ? 'backup' : o.label;
  if (typeof label !== 'string' || !LABEL_RE.test(label)) throw bad('label must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit');
  return { op: 'backup', dir: path.normalize(o.dir), label };
}
