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

/**
 * Runs Vite in production mode on a generated project, in a child process. Its environment holds
 * only what node needs: no DATABASE_URL, no credentials (BLOCKS.md §3.8).
 */
export function runViteBuild(projectDir: string, outDir: string, opts: { timeoutMs?: number } = {}): Promise<ViteResult> {
  const runner = path.join(libraryDir(), 'toolchain', 'vite-runner.mjs');
  const t0 = Date.now();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', NO_COLOR: '1', HOME: projectDir, TMPDIR: projectDir };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runner, projectDir, outDir], { cwd: projectDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {});
    let log = '';
    const add = (d: Buffer) => {
      log += d.toString();
      if (log.length > LOG_TAIL * 2) log = log.slice(-LOG_TAIL);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => {
      log += `\nbuild timed out after ${opts.timeoutMs} ms; stopped\n`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      log += `\ncannot start the build: ${err.message}\n`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ok = code === 0 && fs.existsSync(path.join(outDir, 'index.html'));
      if (!ok && signal) log += `\nbuild process ended by ${signal}\n`;
      resolve({ ok, ms: Date.now() - t0, log: log.slice(-LOG_TAIL) });
    });
  });
}
