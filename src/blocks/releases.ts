import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST, sitePaths, type SitePaths } from './paths.js';

export interface ReleaseManifest {
  release_id: string;
  deploy_id: string;
  node_id: string;
  node_key: string;
  app: string;
  build_hash: string;
  pages_count: number;
  components_count: number;
  builder_version: string;
  /** Hash of the toolchain (builder, pinned packages, runtime) it was built with. */
  toolchain_hash?: string;
  created_at: string;
  /** The release that was live when this one went live (kept by retention). */
  previous_release_id: string | null;
}

/** Sortable by time: `20250101T120000123Z-1a2b3c4d`. */
export function newReleaseId(deployId: string): string {
  const t = new Date().toISOString().replace(/[-:.]/g, '');
  return `${t}-${deployId.replace(/-/g, '').slice(0, 8)}`;
}

function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* directories cannot be fsynced on every platform; the rename is still atomic */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The release `current` points at, with its manifest; null when the site is withdrawn or new. */
export function readCurrent(p: SitePaths): { releaseId: string; dir: string; manifest: ReleaseManifest } | null {
  let target: string;
  try {
    target = fs.readlinkSync(p.current);
  } catch {
    return null;
  }
  const dir = path.resolve(p.site, target);
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as ReleaseManifest;
    return { releaseId: path.basename(dir), dir, manifest };
  } catch {
    return null;
  }
}

export function readManifest(p: SitePaths, releaseId: string): ReleaseManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(p.releases, releaseId, MANIFEST), 'utf8')) as ReleaseManifest;
  } catch {
    return null;
  }
}

/** Kept releases (complete, with a manifest), newest first. */
export function listReleases(p: SitePaths): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(p.releases);
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.') && fs.existsSync(path.join(p.releases, n, MANIFEST))).sort().reverse();
}

/** A fresh directory inside releases/ to build into; invisible to the server until published. */
export function stagingDir(p: SitePaths, releaseId: string): string {
  fs.mkdirSync(p.releases, { recursive: true });
  return path.join(p.releases, `.staging-${releaseId}`);
}

/** Points `current` at `releases/<id>` with one rename of a fresh symlink: old or new, never a mix. */
export function switchCurrent(p: SitePaths, releaseId: string): void {
  const tmp = path.join(p.site, `.current-${crypto.randomBytes(6).toString('hex')}`);
  fs.symlinkSync(path.join('releases', releaseId), tmp);
  try {
    fs.renameSync(tmp, p.current);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(p.site);
}

/**
 * Publishes a finished build: manifest written and flushed, staging directory renamed to its
 * release name, then `current` switched. The live directory is never written into.
 */
export function publishRelease(p: SitePaths, staging: string, manifest: Omit<ReleaseManifest, 'previous_release_id' | 'created_at'>): ReleaseManifest {
  const full: ReleaseManifest = { ...manifest, created_at: new Date().toISOString(), previous_release_id: readCurrent(p)?.releaseId ?? null };
  const mf = path.join(staging, MANIFEST);
  fs.writeFileSync(mf, JSON.stringify(full, null, 2) + '\n');
  fsyncPath(mf);
  fsyncPath(staging);
  const final = path.join(p.releases, manifest.release_id);
  fs.renameSync(staging, final);
  fsyncPath(p.releases);
  switchCurrent(p, manifest.release_id);
  return full;
}

/** Removes `current`: the site answers "app not enabled". Releases stay for a later rollback. */
export function withdrawCurrent(p: SitePaths): boolean {
  if (!fs.existsSync(p.current) && !isSymlink(p.current)) return false;
  fs.rmSync(p.current, { force: true });
  fsyncPath(p.site);
  return true;
}

function isSymlink(f: string): boolean {
  try {
    return fs.lstatSync(f).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Keeps the newest `keep` releases plus the live one and the one before it; removes older
 * releases, staging directories of failed or interrupted builds, and stray pointer temp files.
 */
export function pruneReleases(p: SitePaths, keep: number, opts: { activeStaging?: string } = {}): string[] {
  const removed: string[] = [];
  const cur = readCurrent(p);
  const protect = new Set([cur?.releaseId, cur?.manifest.previous_release_id].filter(Boolean) as string[]);
  const kept = listReleases(p);
  const keepSet = new Set([...kept.slice(0, Math.max(1, keep)), ...protect]);
  for (const r of kept) {
    if (keepSet.has(r)) continue;
    fs.rmSync(path.join(p.releases, r), { recursive: true, force: true });
    removed.push(r);
  }
  let all: string[] = [];
  try {
    all = fs.readdirSync(p.releases);
  } catch {
    /* no releases yet */
  }
  for (const name of all) {
    const full = path.join(p.releases, name);
    if (full === opts.activeStaging) continue;
    if (name.startsWith('.') || !fs.existsSync(path.join(full, MANIFEST))) {
      fs.rmSync(full, { recursive: true, force: true });
      removed.push(name);
    }
  }
  try {
    for (const name of fs.readdirSync(p.site)) if (name.startsWith('.current-')) fs.rmSync(path.join(p.site, name), { force: true });
  } catch {
    /* no site yet */
  }
  return removed;
}

/** Total size of the files under `dir`. */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    total += e.isDirectory() ? directoryBytes(f) : fs.statSync(f).size;
  }
  return total;
}

export { sitePaths };
