import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';
import { isAlive as alive } from '../db/home-lock.js';

/**
 * Where the HTTP API really is. `up` and `serve` record the address they listen on (next to the
 * embedded home: `<home>/api.json`; for a server, in the temp directory under a hash of its URL),
 * so the curl lines printed by `users create`, `keys create` and the like name that address, not
 * the default or a port 0.
 */
interface ApiAddressFile {
  pid: number;
  hostname: string;
  origin: string;
}

export type DatabaseTarget = Pick<Config, 'home' | 'url'>;

function addressFile(t: DatabaseTarget): string | undefined {
  if (t.url === undefined) return path.join(t.home, 'api.json');
  if (t.url.startsWith('memory:')) return undefined; // nobody else can reach it
  const u = new URL(t.url);
  u.password = '';
  return path.join(os.tmpdir(), `robbieverse-api-${createHash('sha256').update(u.toString()).digest('hex').slice(0, 16)}.json`);
}

/** An origin a browser or curl on this machine can use: a wildcard address becomes loopback. */
export function reachableOrigin(origin: string): string {
  return origin.replace(/^(https?:\/\/)(0\.0\.0\.0|\[::\]|::)(?=[:/]|$)/, (_m, scheme: string, h: string) => `${scheme}${h === '0.0.0.0' ? '127.0.0.1' : '[::1]'}`);
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Records the API's address for other commands; returns how to take it back (also done at exit). */
export function publishApiAddress(target: DatabaseTarget, origin: string): () => void {
  const file = addressFile(target);
  if (!file) return () => {};
  const info: ApiAddressFile = { pid: process.pid, hostname: os.hostname(), origin: reachableOrigin(origin) };
  try {
    fs.writeFileSync(file, JSON.stringify(info, null, 2) + '\n');
  } catch {
    return () => {}; // a read-only home: the printed URLs fall back to the configured address
  }
  const remove = () => {
    process.off('exit', remove);
    try {
      const now = JSON.parse(fs.readFileSync(file, 'utf8')) as ApiAddressFile;
      if (now.pid === process.pid) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', remove);
  return remove;
}

/** The origin of an API that `up` or `serve` is running on this database right now, if any. */
export function runningApiOrigin(target: DatabaseTarget): string | undefined {
  const file = addressFile(target);
  if (!file) return undefined;
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as ApiAddressFile;
    if (typeof info.origin !== 'string' || typeof info.pid !== 'number') return undefined;
    if (info.hostname === os.hostname() && !alive(info.pid)) return undefined;
    return info.origin;
  } catch {
    return undefined;
  }
}

/**
 * The API origin to print in examples: the running API's on this home, else the configured one
 * (with "PORT" when the configuration says "any free port", since no port is known yet).
 */
export function apiOriginInUse(cfg: Pick<Config, 'home' | 'url' | 'apiHost' | 'apiPort'>): string {
  return runningApiOrigin(cfg) ?? configuredApiOrigin(cfg);
}

/** Where the settings say the API listens (`up`, `serve`), as a URL for this machine. */
export function configuredApiOrigin(cfg: Pick<Config, 'apiHost' | 'apiPort'>): string {
  return `http://${hostForUrl(cfg.apiHost)}:${cfg.apiPort === 0 ? 'PORT' : cfg.apiPort}`;
}
