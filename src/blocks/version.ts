import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { libraryDir } from './paths.js';

/** Bumped when the generated project's shape changes, so every release is rebuilt once. */
export const BUILDER_VERSION = 'robbieblocks-builder/1.2.0';

/** The packages a generated app is built with; they come pre-installed with the toolkit. */
export const TOOLCHAIN_PACKAGES = ['vite', '@vitejs/plugin-react', 'react', 'react-dom', 'react-router-dom'] as const;

const require = createRequire(import.meta.url);

/** The directory holding the toolchain's packages (where `react` resolves from). */
export function toolchainNodeModules(): string {
  const reactPkg = require.resolve('react/package.json');
  return path.dirname(path.dirname(reactPkg));
}

export function installedVersion(pkg: string): string {
  const dir = toolchainNodeModules();
  const file = path.join(dir, ...pkg.split('/'), 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

let cached: string | undefined;

/**
 * Hash of everything in the toolchain that shapes the output: the builder version, the installed
 * versions of the pinned packages, and the runtime and build-runner sources copied into each app.
 */
export function toolchainHash(): string {
  if (cached) return cached;
  const h = crypto.createHash('sha256');
  h.update(BUILDER_VERSION + '\n');
  for (const p of TOOLCHAIN_PACKAGES) h.update(`${p}@${installedVersion(p)}\n`);
  const walk = (rel: string) => {
    const abs = path.join(libraryDir(), rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else h.update(`${rel}/${e.name}\n`).update(fs.readFileSync(path.join(abs, e.name)));
    }
  };
  walk('runtime');
  walk('toolchain');
  cached = h.digest('hex');
  return cached;
}
