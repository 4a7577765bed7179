import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { resolveConfig, type Config } from '../config.js';
import { openDatabase, type OpenedDb, type OpenOptions } from '../db/open.js';
import { exitCodeFor, RobbieverseError } from '../errors.js';
import { embeddedMigrations } from '../migrate/embedded.js';
import { loadMigrationsFromDir, type MigrationFile } from '../migrate/files.js';
import { errorJson, formatError, printJson } from './output.js';

export interface DbCommandOptions {
  url?: string;
  home?: string;
  json?: boolean;
  migrations?: string;
  lockTimeout?: string;
}

/** The options every database command takes, in one place so they read the same everywhere. */
export function dbOptions(cmd: Command, opts: { migrations?: boolean; json?: boolean } = {}): Command {
  cmd
    .addOption(new Option('--url <url>', 'PostgreSQL server URL (postgres://…) or memory:// (default: $DATABASE_URL, else the embedded database)'))
    .addOption(new Option('--home <dir>', 'embedded database home (default: $ROBBIEVERSE_HOME or ./.robbieverse)'));
  if (opts.migrations) cmd.addOption(new Option('--migrations <dir>', 'use the .sql files in DIR instead of the built-in schema'));
  if (opts.json) cmd.addOption(new Option('--json', 'print the result as JSON on stdout'));
  return cmd;
}

export function configFrom(o: DbCommandOptions, extra: { socketPort?: number; apiHost?: string; apiPort?: number } = {}): Promise<Config> {
  return resolveConfig({
    url: o.url,
    home: o.home,
    socketPort: extra.socketPort,
    apiHost: extra.apiHost,
    apiPort: extra.apiPort,
    lockTimeoutMs: o.lockTimeout === undefined ? undefined : parseDuration(o.lockTimeout),
  });
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new RobbieverseError('E_USAGE', `"${s}" is not a duration`, { hint: 'examples: 500ms, 30s, 2m' });
  const n = Number(m[1]);
  return Math.round(m[2] === 'm' ? n * 60_000 : m[2] === 'ms' ? n : n * 1000);
}

export function migrationsFrom(o: DbCommandOptions): MigrationFile[] {
  return o.migrations ? loadMigrationsFromDir(o.migrations) : embeddedMigrations();
}

/** Logs go to stderr as JSON lines; pino is loaded on first use. */
export async function makeLogger(cfg: Config): Promise<Logger> {
  const { pino } = await import('pino');
  return pino({ level: cfg.logLevel, base: undefined }, pino.destination(2));
}

/**
 * The frame of every database command: settings from flags, environment and config file, a
 * logger, the database opened (or reached through a running `up`), and closed afterwards.
 */
export async function withCommandDatabase<T>(
  o: DbCommandOptions,
  open: Omit<OpenOptions, 'logger'> & { socketPort?: number },
  fn: (opened: OpenedDb, cfg: Config) => Promise<T>,
): Promise<T> {
  const cfg = await configFrom(o, { socketPort: open.socketPort });
  return withDatabase(cfg, { ...open, logger: await makeLogger(cfg) }, (opened) => fn(opened, cfg));
}

export async function withDatabase<T>(cfg: Config, open: OpenOptions, fn: (o: OpenedDb) => Promise<T>): Promise<T> {
  const opened = await openDatabase(cfg, open);
  if (opened.recovered) process.stderr.write(`note: ${opened.recovered}\n`);
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/** Wraps a command's action: errors become a message with a hint (or JSON) and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const json = Boolean(cmd?.opts?.().json);
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (err) {
      if (json) printJson(errorJson(err));
      else process.stderr.write(formatError(err) + '\n');
      if (process.env.ROBBIEVERSE_DEBUG && err instanceof Error) process.stderr.write((err.stack ?? '') + '\n');
      process.exitCode = exitCodeFor(err);
    }
  };
}

/** Describes where a command is working, for the first line of its output. */
export function describeTarget(o: OpenedDb): string {
  switch (o.via) {
    case 'embedded':
      return `embedded database in ${o.dataDir}`;
    case 'memory':
      return 'in-memory embedded database (discarded at exit)';
    case 'socket':
      return `embedded database in ${o.dataDir}, through the socket of the running \`robbieverse up\``;
    case 'postgres':
      return `PostgreSQL at ${o.db.location}`;
  }
}
