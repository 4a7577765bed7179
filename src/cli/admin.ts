import type { Config } from '../config.js';
import type { OpenedDb } from '../db/open.js';
import { RobbieverseError } from '../errors.js';
import { embeddedMigrations } from '../migrate/embedded.js';
import { requireCurrentSchema } from '../migrate/require-current.js';
import { withCommandDatabase, type DbCommandOptions } from './context.js';

/** Account administration (orgs, users, keys): the database opened, its schema required to be current. */
export function withAccountsDatabase<T>(o: DbCommandOptions, command: string, fn: (opened: OpenedDb, cfg: Config) => Promise<T>): Promise<T> {
  return withCommandDatabase(o, { command }, async (opened, cfg) => {
    await requireCurrentSchema(opened.db, embeddedMigrations());
    return fn(opened, cfg);
  });
}

/** Reads a secret piped on stdin (one trailing newline removed), so it never appears in argv or shell history. */
export async function readSecretFromStdin(what = 'password'): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`${what} (then Enter and Ctrl-D): `);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!secret) throw new RobbieverseError('E_USAGE', `no ${what} on stdin`, { hint: `pipe it in: printf '%s' "$NEW_PASSWORD" | robbieverse … --password-stdin` });
  return secret;
}

/** "30d", "12h", "90m", "2w", or an ISO date → the moment it expires. */
export function parseExpiry(s: string, now = new Date()): Date {
  const m = /^(\d+)\s*(m|h|d|w|y)$/.exec(s.trim());
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 }[m[2] as 'm' | 'h' | 'd' | 'w' | 'y'];
    const n = Number(m[1]);
    if (n > 0) return new Date(now.getTime() + n * unit);
  }
  const d = /^\d{4}-\d{2}-\d{2}/.test(s) ? new Date(s) : undefined;
  if (d && !Number.isNaN(d.getTime()) && d > now) return d;
  throw new RobbieverseError('E_USAGE', `--expires ${s}: not a lifetime or a future date`, { hint: 'examples: 90m, 12h, 30d, 2w, 1y, 2030-01-01' });
}

/** A shell-safe single-quoted string. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function loginCurl(origin: string, email: string, password: string): string {
  return `curl -s -X POST ${origin}/api/auth/login -H 'content-type: application/json' -d ${shellQuote(JSON.stringify({ email, password }))}`;
}
