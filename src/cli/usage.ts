import { InvalidArgumentError, type Command } from 'commander';
import { isHost, validateUrl } from '../config.js';
import { RobbieverseError } from '../errors.js';
import { parseExpiry } from './admin.js';
import { parseDuration } from './context.js';

/**
 * Usage checks for every command's options, run before the command's action (so before
 * anything is opened, created or listened on): a bad value is exit 2 with what to do, not a
 * failure half-way through. Options are recognised by name, so a new command with a --port or
 * a --timeout is checked without doing anything.
 */
type Check = (value: unknown, flag: string) => void;

export const PORT_HINT = 'use a port from 0 to 65535 (0 = any free port)';

function usage(message: string, hint: string): RobbieverseError {
  return new RobbieverseError('E_USAGE', message, { hint });
}

/** An argParser for port options: `--port abc` and `--port 99999` are refused while parsing. */
export function portArg(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${value} is not a port: ${PORT_HINT}.`);
  return n;
}

const port: Check = (v, flag) => {
  const n = typeof v === 'number' ? v : /^\d+$/.test(String(v).trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usage(`${flag} ${String(v)}: not a port`, PORT_HINT);
};

const count = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v, flag) => {
  const n = typeof v === 'number' ? v : /^\d+$/.test(String(v).trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`${flag} ${Number.isNaN(v) ? '(not a number)' : String(v)}: not a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}`, `for example ${flag} ${Math.max(min, Math.min(max, 20))}`);
};

const duration = (allowZero: boolean): Check => (v, flag) => {
  let ms: number;
  try {
    ms = parseDuration(String(v));
  } catch {
    throw usage(`${flag} ${String(v)}: not a duration`, 'examples: 500ms, 30s, 2m');
  }
  if (!allowZero && ms <= 0) throw usage(`${flag} ${String(v)}: must be longer than 0`, 'examples: 500ms, 30s, 2m');
};

const oneOf = (choices: string[]): Check => (v, flag) => {
  if (!choices.includes(String(v))) throw usage(`${flag} ${String(v)}: not one of ${choices.join(', ')}`, `use one of: ${choices.join(', ')}`);
};

const email: Check = (v, flag) => {
  const s = String(v).trim();
  if (!/^[^@\s]+@[^@\s]+$/.test(s) || s.length > 255) throw usage(`${flag} ${String(v)}: not an e-mail address`, `for example ${flag} ann@acme.example`);
};

const host: Check = (v, flag) => {
  const s = String(v);
  if (!isHost(s)) {
    throw usage(`${flag} ${s}: not a host name or address`, `for example ${flag} 127.0.0.1, ${flag} 0.0.0.0 (every interface) or ${flag} ::1`);
  }
};

const url: Check = (v, flag) => {
  try {
    validateUrl(String(v));
  } catch (err) {
    const e = err as RobbieverseError;
    throw usage(`${flag}: ${e.message}`, e.hint ?? '');
  }
};

const expiry: Check = (v) => {
  parseExpiry(String(v));
};

const notEmpty: Check = (v, flag) => {
  const values = Array.isArray(v) ? v : [v];
  if (values.some((x) => String(x).trim() === '')) throw usage(`${flag} must not be empty`, `give a value: ${flag} <value>`);
};

/** By option (attribute name); a `command` limits a check to one command's option of that name. */
const CHECKS: { attr: string; command?: string; check: Check }[] = [
  { attr: 'port', check: port },
  { attr: 'apiPort', check: port },
  { attr: 'sitePort', check: port },
  { attr: 'apiHost', check: host },
  { attr: 'host', check: host },
  { attr: 'url', check: url },
  { attr: 'lockTimeout', check: duration(false) },
  { attr: 'quiet', check: duration(true) },
  { attr: 'poll', check: duration(false) },
  { attr: 'lease', check: duration(false) },
  { attr: 'timeout', check: duration(false) },
  { attr: 'expires', check: expiry },
  { attr: 'keep', check: count(1, 1000) },
  { attr: 'limit', check: count(1, 10_000) },
  { attr: 'batchSize', check: count(1, 1_000_000) },
  { attr: 'status', command: 'deploys', check: oneOf(['pending', 'building', 'deploying', 'success', 'failed', 'skipped']) },
  { attr: 'status', command: 'pages', check: oneOf(['draft', 'published', 'archived']) },
  { attr: 'adminEmail', check: email },
  { attr: 'email', check: email },
  { attr: 'user', command: 'create', check: email },
  { attr: 'home', check: notEmpty },
  { attr: 'node', check: notEmpty },
  { attr: 'app', check: notEmpty },
  { attr: 'name', check: notEmpty },
  { attr: 'org', check: notEmpty },
  { attr: 'deployRoot', check: notEmpty },
  { attr: 'backupDir', check: notEmpty },
];

/** Throws an E_USAGE error for the first option of `cmd` with a value it cannot use. */
export function checkOptionValues(cmd: Command): void {
  const values = cmd.opts();
  for (const opt of cmd.options) {
    const attr = opt.attributeName();
    const v = values[attr];
    if (v === undefined || typeof v === 'boolean') continue;
    // a value left at its default was chosen by the command, not typed by the user
    if (cmd.getOptionValueSource(attr) === 'default') continue;
    for (const c of CHECKS) {
      if (c.attr === attr && (!c.command || c.command === cmd.name())) c.check(v, opt.long ?? opt.flags);
    }
  }
}
