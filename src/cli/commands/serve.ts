import { Command, Option } from 'commander';
import { listenApi, type ListeningApi } from '../../api/listen.js';
import { openDatabase, type OpenedDb } from '../../db/open.js';
import { serveSocket, type ServedSocket } from '../../db/socket.js';
import type { Config } from '../../config.js';
import { embeddedMigrations } from '../../migrate/embedded.js';
import { requireCurrentSchema } from '../../migrate/require-current.js';
import { action, configFrom, dbOptions, describeTarget, makeLogger, type DbCommandOptions } from '../context.js';
import { portArg } from '../usage.js';
import { publishApiAddress, reachableOrigin } from '../api-address.js';
import { color } from '../output.js';

/** The API's URLs as this machine reaches them (a wildcard listen address is shown as loopback). */
export function apiReadyLine(api: Pick<ListeningApi, 'origin'>): string {
  const origin = reachableOrigin(api.origin);
  const everywhere = origin !== api.origin ? ' (listening on every interface)' : '';
  return `API: ${origin}/api  ·  reference: ${origin}/docs  ·  OpenAPI: /openapi.json${everywhere}`;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .summary('serve the HTTP API')
    .description(
      'Serves the HTTP API (JSON under /api, a reference at /docs, the OpenAPI document at /openapi.json) ' +
        'on a database whose schema is current, until Ctrl-C. `robbieverse up` also starts it; use `serve` ' +
        'for a server database, or next to a running `up` started with --no-api. When `serve` opens the ' +
        'embedded database itself, it also serves it on the local socket (like `up`), so `robbieverse users …` ' +
        'and `keys …` keep working meanwhile.',
    )
    .addOption(new Option('--host <host>', 'address to listen on (default 127.0.0.1 or $ROBBIEVERSE_API_HOST; 0.0.0.0 for every interface)'))
    .addOption(new Option('--port <n>', 'port to listen on (0 = any free port; default 8787 or $ROBBIEVERSE_API_PORT)').argParser(portArg))
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse serve                                   # http://127.0.0.1:8787/api
  $ DATABASE_URL=postgres://app@db/robbie robbieverse serve --host 0.0.0.0 --port 8080
  $ ROBBIEVERSE_LOG_LEVEL=info robbieverse serve        # one log line per request on stderr
  $ robbieverse serve --port 0                          # any free port; keys create / users create print the one in use
  $ curl -s -X POST http://127.0.0.1:8787/api/auth/login -H 'content-type: application/json' \\
      -d '{"email":"admin@localhost","password":"…"}'

Browsers on other origins: ROBBIEVERSE_CORS_ORIGINS=https://app.example.com,http://localhost:5173
The schema must be current: run robbieverse db migrate first (serve never migrates).`,
    );
  dbOptions(cmd);
  return cmd.action(
    action(async (o: DbCommandOptions & { host?: string; port?: number }) => {
      const cfg = await configFrom(o, { apiHost: o.host, apiPort: o.port });
      const logger = await makeLogger(cfg);
      const err = (s: string) => process.stderr.write(s);
      const opened = await openDatabase(cfg, { command: 'robbieverse serve', logger });
      let api: ListeningApi | undefined;
      let socket: ServedSocket | undefined;
      let unpublish: (() => void) | undefined;
      try {
        err(`database: ${describeTarget(opened)}\n`);
        await requireCurrentSchema(opened.db, embeddedMigrations());
        socket = await shareEmbedded(opened, cfg, err);
        api = await listenApi({ db: opened.db, host: cfg.apiHost, port: cfg.apiPort, logger, corsOrigins: cfg.corsOrigins, embed: cfg.embed });
        // users create, keys create … print this address in their curl lines
        unpublish = publishApiAddress(cfg, api.origin);
        err(`${color.green('✓')} ${apiReadyLine(api)}\n${color.dim('  press Ctrl-C to stop')}\n`);
        const signal = await untilStopSignal();
        err(`\n${signal}: stopping…\n`);
      } finally {
        unpublish?.();
        await api?.close().catch(() => {});
        await socket?.stop().catch(() => {});
        await opened.close();
      }
      err(`${color.green('✓')} stopped\n`);
      return 0;
    }),
  );
}

/** Serves an embedded home this process owns on its socket, so other commands can reach it; a busy port only warns. */
async function shareEmbedded(opened: OpenedDb, cfg: Config, err: (s: string) => void): Promise<ServedSocket | undefined> {
  if (opened.via !== 'embedded' || !opened.db.capabilities.socket) return undefined;
  try {
    const socket = await serveSocket(opened.db, cfg.socketHost, cfg.socketPort, {
      password: opened.socketPassword!,
      statementTimeoutMs: cfg.statementTimeoutMs,
      idleInTransactionTimeoutMs: cfg.idleInTransactionTimeoutMs,
    });
    opened.lock?.setSocket({ host: socket.host, port: socket.port });
    err(`socket: ${socket.host}:${socket.port} (other robbieverse commands reach the database through it)\n`);
    return socket;
  } catch (e) {
    err(color.yellow(`warning: the database socket could not listen on ${cfg.socketHost}:${cfg.socketPort} (${(e as Error).message}); other commands cannot reach this database while serve runs (set ROBBIEVERSE_SOCKET_PORT)\n`));
    return undefined;
  }
}
