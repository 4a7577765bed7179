import fs from 'node:fs';
import path from 'node:path';
import type { z as Z } from 'zod';
import { RobbieverseError } from './errors.js';

/** Where settings come from, strongest first: flags > environment > config file > defaults. */
export const DEFAULT_SOCKET_PORT = 54329;
export const DEFAULT_API_PORT = 8787;
export const DEFAULT_SITE_PORT = 8801;
const EMBED_PROVIDERS = ['builtin', 'ollama', 'openai'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
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
      logLevel: z.enum(LOG_LEVELS).optional(),
      apiHost: z.string().min(1).optional(),
      apiPort: z.number().int().min(0).max(65535).optional(),
      sitePort: z.number().int().min(0).max(65535).optional(),
      corsOrigins: z.array(z.string().min(1)).optional(),
      statementTimeoutMs: z.number().int().min(0).optional(),
      idleInTransactionTimeoutMs: z.number().int().min(0).optional(),
      embedProvider: z.enum(EMBED_PROVIDERS).optional(),
      embedModel: z.string().min(1).optional(),
      embedUrl: z.string().min(1).optional(),
      embedTimeoutMs: z.number().int().positive().optional(),
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
  /** First port of the node sites (`up`), one per (node, app); 0 = any free ports. */
  sitePort: number;
  /** The memory embedder; the API key only from the environment (ROBBIEVERSE_EMBED_API_KEY). */
  embed: { provider: (typeof EMBED_PROVIDERS)[number]; model?: string; url?: string; apiKey?: string; timeoutMs: number };
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
  embedProvider?: string;
  embedModel?: string;
  embedUrl?: string;
}

function embedProvider(v: string | undefined, from: string): (typeof EMBED_PROVIDERS)[number] | undefined {
  if (v === undefined || v === '') return undefined;
  if (!(EMBED_PROVIDERS as readonly string[]).includes(v)) {
    throw new RobbieverseError('E_CONFIG', `${from}: "${v}" is not an embedding provider`, { hint: `use one of ${EMBED_PROVIDERS.join(', ')} (builtin needs nothing installed)` });
  }
  return v as (typeof EMBED_PROVIDERS)[number];
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

function envInt(env: NodeJS.ProcessEnv, name: string, what: { min: number; max: number; hint: string }): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < what.min || n > what.max) {
    throw new RobbieverseError('E_CONFIG', `${name}=${v} is not a whole number from ${what.min} to ${what.max}`, { hint: `${what.hint}, or unset ${name}` });
  }
  return n;
}

const envPort = (env: NodeJS.ProcessEnv, name: string) => envInt(env, name, { min: 0, max: 65535, hint: 'set a port from 0 to 65535 (0 = any free port)' });

/** A host name, an IPv4 address or an IPv6 address (bracketed or not). */
export function isHost(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(s) || /^\[?[0-9A-Fa-f:.]+\]?$/.test(s);
}

function envHost(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!isHost(v)) throw new RobbieverseError('E_CONFIG', `${name}=${v} is not a host name or address`, { hint: `for example 127.0.0.1, 0.0.0.0 (every interface) or ::1, or unset ${name}` });
  return v;
}

function envLogLevel(env: NodeJS.ProcessEnv): Config['logLevel'] | undefined {
  const v = env.ROBBIEVERSE_LOG_LEVEL;
  if (v === undefined || v === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(v)) {
    throw new RobbieverseError('E_CONFIG', `ROBBIEVERSE_LOG_LEVEL=${v} is not a log level`, { hint: `use one of ${LOG_LEVELS.join(', ')}` });
  }
  return v as Config['logLevel'];
}

/** Browser origins are scheme://host[:port] with nothing after it (what browsers send). */
function checkOrigins(origins: string[], from: string): string[] {
  for (const o of origins) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok) throw new RobbieverseError('E_CONFIG', `${from}: "${o}" is not a browser origin`, { hint: 'write origins as scheme://host[:port], comma-separated, e.g. https://app.example.com,http://localhost:5173' });
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

export function validateUrl(url: string): string {
  let ok = url === 'memory://';
  if (!ok && /^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url); // refuses a port above 65535, a space in the host and the like
      ok = true;
    } catch {
      ok = false;
    }
  }
  if (ok) return url;
  throw new RobbieverseError('E_CONFIG', `unsupported database URL "${url}"`, {
    hint: 'use postgres://user:password@host:5432/dbname for a server (percent-encode special characters of the password), memory:// for a throwaway embedded database, or no URL for the embedded database in ./.robbieverse',
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
  const envOrigins = envList(env, 'ROBBIEVERSE_CORS_ORIGINS');
  return {
    url: url === undefined ? undefined : validateUrl(url),
    home: path.resolve(cwd, home),
    socketHost: envHost(env, 'ROBBIEVERSE_SOCKET_HOST') ?? file.socketHost ?? '127.0.0.1',
    socketPort: checkPort(flags.socketPort ?? envPort(env, 'ROBBIEVERSE_SOCKET_PORT') ?? file.socketPort ?? DEFAULT_SOCKET_PORT, 'socket port'),
    lockTimeoutMs: flags.lockTimeoutMs ?? envInt(env, 'ROBBIEVERSE_LOCK_TIMEOUT_MS', { min: 1, max: 86_400_000, hint: 'set milliseconds, e.g. 60000' }) ?? file.lockTimeoutMs ?? 60_000,
    logLevel: envLogLevel(env) ?? file.logLevel ?? 'warn',
    apiHost: flags.apiHost ?? envHost(env, 'ROBBIEVERSE_API_HOST') ?? file.apiHost ?? '127.0.0.1',
    apiPort: checkPort(flags.apiPort ?? envPort(env, 'ROBBIEVERSE_API_PORT') ?? file.apiPort ?? DEFAULT_API_PORT, 'API port'),
    corsOrigins: envOrigins ? checkOrigins(envOrigins, 'ROBBIEVERSE_CORS_ORIGINS') : checkOrigins(file.corsOrigins ?? [], CONFIG_FILE),
    sitePort: envPort(env, 'ROBBIEVERSE_SITE_PORT') ?? file.sitePort ?? DEFAULT_SITE_PORT,
    statementTimeoutMs: flags.statementTimeoutMs ?? envInt(env, 'ROBBIEVERSE_STATEMENT_TIMEOUT_MS', { min: 0, max: 86_400_000, hint: 'set milliseconds, e.g. 30000 (0 = no limit)' }) ?? file.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs:
      flags.idleInTransactionTimeoutMs ??
      envInt(env, 'ROBBIEVERSE_IDLE_IN_TRANSACTION_TIMEOUT_MS', { min: 0, max: 86_400_000, hint: 'set milliseconds, e.g. 10000 (0 = no limit)' }) ??
      file.idleInTransactionTimeoutMs ??
      DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    embed: {
      provider: embedProvider(flags.embedProvider, '--provider') ?? embedProvider(env.ROBBIEVERSE_EMBED_PROVIDER, 'ROBBIEVERSE_EMBED_PROVIDER') ?? file.embedProvider ?? 'builtin',
      model: flags.embedModel ?? (env.ROBBIEVERSE_EMBED_MODEL || undefined) ?? file.embedModel,
      url: flags.embedUrl ?? (env.ROBBIEVERSE_EMBED_URL || undefined) ?? file.embedUrl,
      apiKey: env.ROBBIEVERSE_EMBED_API_KEY || undefined,
      timeoutMs: envInt(env, 'ROBBIEVERSE_EMBED_TIMEOUT_MS', { min: 1, max: 3_600_000, hint: 'set milliseconds, e.g. 30000' }) ?? file.embedTimeoutMs ?? 30_000,
    },
  };
}
