import { execFileSync } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.join(import.meta.dirname, '..', '..', 'scripts', 'throwaway-postgres.sh');

/** A PostgreSQL 15 cluster of the caller's own (tests that restart the server, benchmarks). */
export interface OwnServer {
  url: string;
  /** The cluster's directory (data/, server.log). */
  dir: string;
  restart(): void;
  stop(): void;
}

function asOwner(args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
}

export function startOwnServer(): OwnServer {
  const out = execFileSync('bash', [SCRIPT, 'start'], { encoding: 'utf8' });
  const env = Object.fromEntries([...out.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  const { PG_TMP, PG_BIN, TEST_DATABASE_URL } = env as Record<string, string>;
  const pgCtl = (...a: string[]) => {
    const [cmd, ...rest] = asOwner([path.join(PG_BIN!, 'pg_ctl'), '-D', path.join(PG_TMP!, 'data'), ...a]);
    execFileSync(cmd!, rest, { stdio: 'ignore' });
  };
  return {
    url: TEST_DATABASE_URL!,
    dir: PG_TMP!,
    restart: () => pgCtl('restart', '-m', 'fast', '-w', '-t', '60', '-l', path.join(PG_TMP!, 'server.log')),
    stop: () => execFileSync('bash', [SCRIPT, 'stop', PG_TMP!], { stdio: 'ignore' }),
  };
}
