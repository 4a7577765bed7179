import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { libraryDir } from './paths.js';

export interface ViteResult {
  ok: boolean;
  ms: number;
  /** Combined stdout and stderr, at most the last `LOG_TAIL` characters. */
  log: string;
}

export const LOG_TAIL = 8_000;

/** The build runners in blocks/toolchain/. */
export type ToolchainRunner = 'vite-runner.mjs' | 'vendor-runner.mjs';

export interface RunnerOptions {
  /** The child's working directory, HOME and TMPDIR (a scratch directory of this build). */
  workDir: string;
  /** Files the runner must have written for the build to count (absolute paths). */
  expect: string[];
  timeoutMs?: number;
}

/**
 * Runs one of the toolchain's build runners in a child process. Its environment holds only what
 * node needs: no DATABASE_URL, no credentials (BLOCKS.md §3.8). Ok = exit 0 and every expected
 * file written.
 */
export function runToolchain(runner: ToolchainRunner, args: string[], o: RunnerOptions): Promise<ViteResult> {
  const script = path.join(libraryDir(), 'toolchain', runner);
  const t0 = Date.now();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', NO_COLOR: '1', HOME: o.workDir, TMPDIR: o.workDir };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: o.workDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {});
    let log = '';
    const add = (d: Buffer) => {
      log += d.toString();
      if (log.length > LOG_TAIL * 2) log = log.slice(-LOG_TAIL);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => {
      log += `\nbuild timed out after ${o.timeoutMs} ms; stopped\n`;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      log += `\ncannot start the build: ${err.message}\n`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const missing = code === 0 ? o.expect.filter((f) => !fs.existsSync(f)) : [];
      if (missing.length) log += `\n${runner} exited 0 but did not write ${missing.map((f) => path.basename(f)).join(', ')}\n`;
      const ok = code === 0 && !missing.length;
      if (!ok && signal) log += `\nbuild process ended by ${signal}\n`;
      resolve({ ok, ms: Date.now() - t0, log: log.slice(-LOG_TAIL) });
    });
  });
}

/** What an app imports from the shared vendor build (vendor.ts) instead of bundling it. */
export interface VendorImports {
  /** Specifier → URL the built app imports it from. */
  paths: Record<string, string>;
  /** Specifier → the names its vendor module exports. */
  exports: Record<string, string[]>;
  /** URLs the page preloads. */
  preload: string[];
}

/** Runs Vite in production mode on a generated project, in a child process (vite-runner.mjs). */
export function runViteBuild(projectDir: string, outDir: string, vendor: VendorImports, opts: { timeoutMs?: number } = {}): Promise<ViteResult> {
  return runToolchain('vite-runner.mjs', [projectDir, outDir, JSON.stringify(vendor)], { workDir: projectDir, expect: [path.join(outDir, 'index.html')], timeoutMs: opts.timeoutMs });
}
