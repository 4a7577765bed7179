/**
 * A node's sync settings: where its master is and who it is there. They hold the master's
 * credentials, so they live in an owner-only file in the node's home, never in a synced table
 * or a log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RobbieverseError } from '../errors.js';

export const SYNC_SETTINGS_FILE = 'sync.json';
export const DEFAULT_PULL_INTERVAL_MS = 300_000;

const schema = z
  .object({
    masterUrl: z.string().min(1),
    nodeKey: z.string().min(1),
    nodeId: z.string().uuid(),
    hubNodeId: z.string().uuid(),
    orgScope: z.array(z.string().uuid()).nullable(),
    pullIntervalMs: z.number().int().positive().optional(),
    joinedAt: z.string(),
  })
  .strict();

export type SyncSettings = z.infer<typeof schema>;

export function syncSettingsPath(home: string): string {
  return path.join(home, SYNC_SETTINGS_FILE);
}

export function readSyncSettings(home: string): SyncSettings | undefined {
  const file = syncSettingsPath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RobbieverseError('E_CONFIG', `${file} is not valid JSON`, { cause: err, hint: 'join again with `robbieverse sync join --master URL --node KEY`' });
  }
  const r = schema.safeParse(parsed);
  if (!r.success) {
    throw new RobbieverseError('E_CONFIG', `${file} is not a valid sync settings file: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: 'join again with `robbieverse sync join --master URL --node KEY`',
    });
  }
  return r.data;
}

/** Written to a temporary file (mode 0600), flushed, then renamed over the old one. */
export function writeSyncSettings(home: string, s: SyncSettings): void {
  fs.mkdirSync(home, { recursive: true });
  const file = syncSettingsPath(home);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(schema.parse(s), null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function requireSyncSettings(home: string): SyncSettings {
  const s = readSyncSettings(home);
  if (!s) {
    throw new RobbieverseError('E_USAGE', `this node has not joined a master (no ${syncSettingsPath(home)})`, {
      hint: 'run `robbieverse sync join --master URL --node KEY` first',
    });
  }
  return s;
}

/** The master URL without its password, for messages. */
export function redactMasterUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
