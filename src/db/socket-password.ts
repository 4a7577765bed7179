import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The embedded socket's password, made when a home is first opened and kept in the home as a
 * libpq password file (owner-only), so `PGPASSFILE=<home>/pgpass psql …` and the CLI use it
 * without it ever appearing in a URL or on a command line.
 */
export function socketPasswordFile(home: string): string {
  return path.join(home, 'pgpass');
}

export function readSocketPassword(home: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(socketPasswordFile(home), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const m = /^\*:\*:\*:postgres:(.+)$/.exec(line.trim());
    if (m) return m[1];
  }
  return undefined;
}

/** The home's socket password, made (0600) if it has none yet. */
export function ensureSocketPassword(home: string): string {
  const existing = readSocketPassword(home);
  if (existing) {
    fs.chmodSync(socketPasswordFile(home), 0o600);
    return existing;
  }
  const password = crypto.randomBytes(24).toString('base64url');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const tmp = `${socketPasswordFile(home)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `# the embedded database's socket password (user postgres); keep this file private\n*:*:*:postgres:${password}\n`, { mode: 0o600 });
  fs.renameSync(tmp, socketPasswordFile(home));
  return password;
}

export function generatedPassword(): string {
  return crypto.randomBytes(24).toString('base64url');
}
