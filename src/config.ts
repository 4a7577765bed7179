import fs from 'node:fs';
import path from 'node:path';
import type { z as Z } from 'zod';
import { RobbieverseError } from './errors.js';

/** Where settings come from, strongest first: flags > environment > config file > defaults. */
export const DEFAULT_SOCKET_PORT = 54329;
export const DEFAULT_API_PORT = 8787;
export const CONFIG_FILE = 'robbieverse.config.json';
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/** The config file's shape; zod is loaded only when there is a file to check. */
async function fileSchema() {
  const { z } = await import('zod');
  return z
    .object({
      url: z.string().min(1).optional(),
      home: z.string().min(1).optional(),
      socketHost: z.string().min(1).optional(),
      socketPort: z.number().int().min(0).max(65535).optional(),
      lockTimeoutMs: z.number().int().positive().optional(),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
      apiHost: z.string().min(1).optional(),
      apiPort: z.number().int().min(0).max(65535).optional(),
      corsOrigins: z.array(z.string().min(1)).optional(),
      statementTimeoutMs: z.number().int().min(0).optional(),
      idleInTransactionTimeoutMs: z.number().int().min(0).optional(),
    })
    .strict();
}

export type ConfigFile = Z.infer<Awaited<ReturnType<typeof fileSchema>>>;

export interface Config {
  /** A postgres:// URL or memory://; undefined = the embedded database in `home`. */
  url: string | undefined;
  home: string;
  socketHost: string;
  socketPort: number;
  lockTimeoutMs: number;
  logLevel: NonNullable<ConfigFile['logLevel']>;
  /** Where the HTTP API listens (`serve`, `up`); port 0 = any free port. */
  apiHost: string;
  apiPort: number;
  /** Browser origins allowed to call the API besides its own. */
  corsOrigins: string[];
  /** Embedded socket: a client's statement running longer is ended (57014); 0 = never. */
  statementTimeoutMs: number;
  /** Embedded socket: a client idle inside a transaction longer is disconnected (25P03); 0 = never. */
  idleInTransactionTimeoutMs: number;
}

export interface ConfigFlags {
  url?: string;
  home?: string;
  socketPort?: number;
  lockTimeoutMs?: number;
  apiHost?: string;
  apiPort?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

async function readConfigFile(cwd: string): Promise<ConfigFile> {
  const file = path.join(cwd, CONFIG_FILE);
  if (!fs.existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RobbieverseError('E_CONFIG', `${file} is not valid JSON: ${(err as Error).message}`, {
      hint: 'fix the file or remove it',
    });
  }
  const schema = await fileSchema();
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new RobbieverseError('E_CONFIG', `${file}: ${problems}`, {
      hint: `allowed keys: ${Object.keys(schema.shape).join(', ')}`,
    });
  }
  return parsed.data;
}

function envList(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === '') return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function checkPort(port: number, from: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RobbieverseError('E_CONFIG', `${from}: ${port} is not a port number`, { hint: 'use 0 to 65535 (0 = any free port)' });
  }
  return port;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new RobbieverseError('E_CONFIG', `${name}=${v} is not a non-negative integer`);
  }
  return n;
}

export function validateUrl(url: string): string {
  if (url === 'memory://' || /^postgres(ql)?:\/\//.test(url)) return url;
  throw new RobbieverseError('E_CONFIG', `unsupported database URL "${url}"`, {
    hint: 'use postgres://user:password@host:5432/dbname for a server, memory:// for a throwaway embedded database, or no URL for the embedded database in ./.robbieverse',
  });
}

export async function resolveConfig(
  flags: ConfigFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<Config> {
  const file = await readConfigFile(cwd);
  const url = flags.url ?? (env.DATABASE_URL || undefined) ?? file.url;
  const home = flags.home ?? (env.ROBBIEVERSE_HOME || undefined) ?? file.home ?? '.robbieverse';
  return {
    url: url === undefined ? undefined : validateUrl(url),
    home: path.resolve(cwd, home),
    socketHost: env.ROBBIEVERSE_SOCKET_HOST || file.socketHost || '127.0.0.1',
    socketPort: flags.socketPort ?? envInt(env, 'ROBBIEVERSE_SOCKET_PORT') ?? file.socketPort ?? DEFAULT_SOCKET_PORT,
    lockTimeoutMs: flags.lockTimeoutMs ?? envInt(env, 'ROBBIEVERSE_LOCK_TIMEOUT_MS') ?? file.lockTimeoutMs ?? 60_000,
    logLevel: (env.ROBBIEVERSE_LOG_LEVEL as Config['logLevel']) || file.logLevel || 'warn',
    apiHost: flags.apiHost ?? (env.ROBBIEVERSE_API_HOST || undefined) ?? file.apiHost ?? '127.0.0.1',
    apiPort: checkPort(flags.apiPort ?? envInt(env, 'ROBBIEVERSE_API_PORT') ?? file.apiPort ?? DEFAULT_API_PORT, 'API port'),
    corsOrigins: envList(env, 'ROBBIEVERSE_CORS_ORIGINS') ?? file.corsOrigins ?? [],
    statementTimeoutMs: flags.statementTimeoutMs ?? envInt(env, 'ROBBIEVERSE_STATEMENT_TIMEOUT_MS') ?? file.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs:
      flags.idleInTransactionTimeoutMs ?? envInt(env, 'ROBBIEVERSE_IDLE_IN_TRANSACTION_TIMEOUT_MS') ?? file.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}
