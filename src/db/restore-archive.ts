import zlib from 'node:zlib';
import { RobbieverseError } from '../errors.js';

/** One entry of an embedded backup: a data-directory tarball (ustar, gzip), as PGlite writes it. */
export interface ArchiveEntry {
  /** Relative to the data directory, without a leading slash; '' never occurs. */
  path: string;
  kind: 'file' | 'dir';
  data: Uint8Array;
}

export interface CheckedArchive {
  entries: ArchiveEntry[];
  /** Contents of PG_VERSION, e.g. "18". */
  pgVersion: string;
  bytes: number;
}

const BLOCK = 512;

function damaged(file: string, why: string, cause?: unknown): RobbieverseError {
  return new RobbieverseError('E_BACKUP', `${file} is not a usable embedded backup: ${why}`, {
    hint: 'use another backup file (db backup prints each one with its SHA-256); nothing was changed',
    cause,
  });
}

function field(h: Uint8Array, at: number, len: number): string {
  const raw = Buffer.from(h.subarray(at, at + len)).toString('latin1');
  const nul = raw.indexOf('\0');
  return nul < 0 ? raw : raw.slice(0, nul);
}

function octal(h: Uint8Array, at: number, len: number): number {
  const s = field(h, at, len).trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

function headerChecksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return octal(h, 148, 8) === sum;
}

function safeRelative(name: string): string | undefined {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

/**
 * Reads a whole embedded backup into memory and checks it before anything is touched: the gzip
 * stream complete, every tar header's checksum, sizes within the file, only files and
 * directories with paths inside the data directory, the end-of-archive marker, and the files
 * every PostgreSQL data directory has.
 */
export function checkDataDirArchive(gz: Uint8Array, file: string): CheckedArchive {
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(gz);
  } catch (err) {
    throw damaged(file, `the gzip stream is truncated or damaged (${(err as Error).message})`, err);
  }
  const entries: ArchiveEntry[] = [];
  let off = 0;
  let ended = false;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) {
      ended = true;
      break;
    }
    if (!headerChecksumOk(h)) throw damaged(file, `tar header at byte ${off} is damaged (bad checksum)`);
    if (!field(h, 257, 6).startsWith('ustar')) throw damaged(file, `tar header at byte ${off} is not ustar`);
    const size = octal(h, 124, 12);
    if (!Number.isFinite(size)) throw damaged(file, `tar header at byte ${off} has no valid size`);
    const prefix = field(h, 345, 155);
    const rawName = prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100);
    const type = String.fromCharCode(h[156]!);
    const rel = safeRelative(rawName);
    if (rel === undefined) throw damaged(file, `entry ${JSON.stringify(rawName)} points outside the data directory`);
    const dataStart = off + BLOCK;
    if (dataStart + size > tar.length) throw damaged(file, `entry ${rawName} is cut short`);
    if (type === '0' || type === '\0') {
      if (!rel) throw damaged(file, `a file entry has no name`);
      entries.push({ path: rel, kind: 'file', data: tar.subarray(dataStart, dataStart + size) });
    } else if (type === '5') {
      if (rel) entries.push({ path: rel, kind: 'dir', data: new Uint8Array() });
    } else {
      throw damaged(file, `entry ${rawName} has tar type ${JSON.stringify(type)} (only files and directories belong in a data directory)`);
    }
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (!ended) throw damaged(file, 'the tar archive has no end marker (truncated)');
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const required of ['PG_VERSION', 'global/pg_control']) {
    if (byPath.get(required)?.kind !== 'file') throw damaged(file, `it has no ${required}: not a PostgreSQL data directory`);
  }
  if (!entries.some((e) => e.path.startsWith('base/'))) throw damaged(file, 'it has no base/ directory: not a PostgreSQL data directory');
  const pgVersion = Buffer.from(byPath.get('PG_VERSION')!.data).toString('utf8').trim();
  if (!/^\d+$/.test(pgVersion)) throw damaged(file, `its PG_VERSION says ${JSON.stringify(pgVersion.slice(0, 20))}`);
  return { entries, pgVersion, bytes: tar.length };
}
