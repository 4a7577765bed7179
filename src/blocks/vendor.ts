/**
 * The shared vendor modules (React, ReactDOM, React Router): built once per toolchain into
 * `<deploy_root>/.vendor/<toolchain hash>/` by blocks/toolchain/vendor-runner.mjs, imported by
 * every app build as externals and copied into each release's assets (a release stays complete
 * on its own, so rollback needs nothing else).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VENDOR_MODULES } from './model.js';
import { toolchainHash, toolchainNodeModules } from './version.js';
import { runToolchain, type VendorImports } from './vite-build.js';

export const VENDOR_DIR = '.vendor';
const MANIFEST = 'robbieblocks-vendor.json';
/** Written by vendor-runner.mjs: each specifier's export names. */
const EXPORTS = 'exports.json';
/** A temporary build directory older than this was left by a build that died. */
const STALE_TMP_MS = 60 * 60_000;

export interface VendorBundle {
  /** `<deploy_root>/.vendor/<toolchain hash>` */
  dir: string;
  /** SHA-256 of the built files (names and bytes). */
  hash: string;
  /** Specifier → file in `dir` (entry modules). */
  modules: Record<string, string>;
  /** Every module file in `dir`: the entries and the chunks they share. */
  files: string[];
  /** Specifier → the names its module exports. */
  exports: Record<string, string[]>;
  toolchain_hash: string;
  created_at: string;
}

/** `react-dom/client` → `react-dom-client` (the entry's file name, without .js). */
export function vendorName(spec: string): string {
  return spec.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** Where a release serves the vendor files: a path named by their content, cacheable forever. */
export function vendorUrlDir(v: VendorBundle): string {
  return `assets/vendor-${v.hash.slice(0, 8)}`;
}

/** What the app build is told: import each specifier from its URL, check names, preload the files. */
export function vendorImports(v: VendorBundle): VendorImports {
  // Sites are served at / (releaseSite; vite-runner.mjs builds with base '/').
  const base = '/' + vendorUrlDir(v) + '/';
  return {
    paths: Object.fromEntries(Object.entries(v.modules).map(([spec, file]) => [spec, base + file])),
    exports: v.exports,
    preload: v.files.map((f) => base + f),
  };
}

/** Copies the vendor files into a release being built (`<staging>/assets/vendor-<hash8>/`). */
export function copyVendor(v: VendorBundle, staging: string): void {
  const dest = path.join(staging, vendorUrlDir(v));
  fs.mkdirSync(dest, { recursive: true });
  for (const f of v.files) fs.copyFileSync(path.join(v.dir, f), path.join(dest, f), fs.constants.COPYFILE_FICLONE);
}

export class VendorBuildError extends Error {
  constructor(
    message: string,
    readonly buildLog: string,
  ) {
    super(message);
    this.name = 'VendorBuildError';
  }
}

/** The bundle in `dir` when it is complete (manifest and every file present); null otherwise. */
export function readVendor(dir: string): VendorBundle | null {
  let m: Omit<VendorBundle, 'dir'>;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8'));
  } catch {
    return null;
  }
  if (!m.hash || !m.modules || !Array.isArray(m.files) || !m.exports) return null;
  if (!m.files.every((f) => fs.existsSync(path.join(dir, f)))) return null;
  return { ...m, dir };
}

function contentHash(dir: string, files: string[]): string {
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(`${f}\n`).update(fs.readFileSync(path.join(dir, f)));
  return h.digest('hex');
}

/**
 * Moves a finished build (`tmp`, manifest included) to `dir` with one rename. When another
 * process got there first, its bundle is used and this one removed.
 */
export function publishVendor(tmp: string, dir: string): VendorBundle {
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const v = readVendor(dir);
  if (!v) throw new Error(`the vendor bundle in ${dir} is incomplete`);
  return v;
}

function removeStaleTemps(root: string): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith('.tmp-')) continue;
    const f = path.join(root, n);
    try {
      if (Date.now() - fs.statSync(f).mtimeMs > STALE_TMP_MS) fs.rmSync(f, { recursive: true, force: true });
    } catch {
      /* removed by another builder meanwhile */
    }
  }
}

async function buildVendor(dir: string, modules: readonly string[], o: VendorOptions): Promise<VendorBundle> {
  const root = path.dirname(dir);
  fs.mkdirSync(root, { recursive: true });
  removeStaleTemps(root);
  const names = Object.fromEntries(modules.map((m) => [m, vendorName(m)]));
  const work = fs.mkdtempSync(path.join(o.scratchRoot ?? os.tmpdir(), 'robbieblocks-vendor-'));
  const tmp = path.join(root, `.tmp-${path.basename(dir).slice(0, 16)}-${crypto.randomBytes(6).toString('hex')}`);
  try {
    fs.symlinkSync(toolchainNodeModules(), path.join(work, 'node_modules'), 'dir');
    const expect = [...Object.values(names).map((n) => `${n}.js`), EXPORTS].map((f) => path.join(tmp, f));
    const r = await runToolchain('vendor-runner.mjs', [work, tmp, JSON.stringify(names)], { workDir: work, expect, timeoutMs: o.timeoutMs });
    if (!r.ok) {
      const why = r.log.split('\n').filter((l) => /error/i.test(l)).slice(0, 3).join(' | ') || r.log.trim().split('\n').slice(-3).join(' | ');
      throw new VendorBuildError(`vendor build failed: ${why.slice(0, 500)}`, r.log);
    }
    const exports = JSON.parse(fs.readFileSync(path.join(tmp, EXPORTS), 'utf8')) as Record<string, string[]>;
    const files = fs.readdirSync(tmp).filter((f) => f.endsWith('.js')).sort();
    const manifest: Omit<VendorBundle, 'dir'> = {
      hash: contentHash(tmp, files),
      modules: Object.fromEntries(Object.entries(names).map(([m, n]) => [m, `${n}.js`])),
      files,
      exports,
      toolchain_hash: path.basename(dir),
      created_at: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    return publishVendor(tmp, dir);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface VendorOptions {
  /** Where the build's scratch directory goes (default: the OS temp directory). */
  scratchRoot?: string;
  timeoutMs?: number;
  /** The specifiers to build (default VENDOR_MODULES). */
  modules?: readonly string[];
}

const inFlight = new Map<string, Promise<VendorBundle>>();

/**
 * The vendor bundle of this toolchain under `deployRoot`, built first when missing. Builds in this
 * process for the same directory wait for one vendor build; a failed one is not remembered (the
 * next call builds again). `built` says whether this call's bundle was built now.
 */
export async function ensureVendor(deployRoot: string, o: VendorOptions = {}): Promise<{ vendor: VendorBundle; built: boolean }> {
  const modules = o.modules ?? VENDOR_MODULES;
  const key = modules === VENDOR_MODULES ? toolchainHash() : crypto.createHash('sha256').update(toolchainHash() + '\n' + modules.join('\n')).digest('hex');
  const dir = path.join(path.resolve(deployRoot), VENDOR_DIR, key);
  const ready = readVendor(dir);
  if (ready) return { vendor: ready, built: false };
  let p = inFlight.get(dir);
  if (!p) {
    // A directory without a complete manifest was damaged by hand: build it anew.
    if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
    p = buildVendor(dir, modules, o).finally(() => inFlight.delete(dir));
    inFlight.set(dir, p);
  }
  return { vendor: await p, built: true };
}
