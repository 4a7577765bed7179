import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { socketPasswordFile } from '../../db/socket-password.js';
import { Command, Option } from 'commander';
import { serveSocket, type ServedSocket } from '../../db/socket.js';
import { startControlChannel, type ControlChannel } from '../../db/control-server.js';
import { migrateOrUpgrade } from '../../migrate/legacy/migrate-or-upgrade.js';
import { legacyUpgradeOptions, upgradeFlags, type LegacyUpgradeFlags } from './migrate.js';
import { openDatabase, type OpenedDb } from '../../db/open.js';
import { RobbieverseError } from '../../errors.js';
import { action, configFrom, dbOptions, describeTarget, makeLogger, migrationsFrom, type DbCommandOptions } from '../context.js';
import { portArg } from '../usage.js';
import { configuredApiOrigin, publishApiAddress, reachableOrigin } from '../api-address.js';
import { color, ms } from '../output.js';
import { ensureFirstAdmin, type FirstAdmin } from '../../api/bootstrap.js';
import { listenApi, type ListeningApi } from '../../api/listen.js';
import { loginCurl } from '../admin.js';
import { apiReadyLine, untilStopSignal } from './serve.js';
import { deployRootFrom } from './blocks.js';
import { seedDemoContent, startBlocksWorker, type BlocksWorker } from '../../blocks/index.js';
import { syncRole } from '../../sync/role.js';
import { startNodeSites, type NodeSites } from '../../sites/node-sites.js';
import type { Db } from '../../db/types.js';
import { SyncDaemon } from '../../sync/daemon.js';
import { assertJoined } from '../../sync/once.js';
import { readSyncSettings, redactMasterUrl } from '../../sync/settings.js';
import { joinProgress, parseInterval } from './sync.js';
import { assertNodeKey, joinMaster } from '../../sync/join.js';
import type { Logger } from 'pino';
import { migrationProgress, upgradeProgress, upgradeSummary } from '../progress.js';
import { createEmbedder } from '../../memory/embedders.js';
import { startMemoryWorker, type MemoryWorker } from '../../memory/indexer.js';

export function upCommand(): Command {
  const cmd = new Command('up')
    .summary('create or open the database, migrate it, and keep it running')
    .description(
      'Creates or opens the embedded database (or the server in DATABASE_URL / --url), applies pending ' +
        'migrations, and keeps running until Ctrl-C. The embedded database is served on a local ' +
        'Postgres-protocol socket, so `robbieverse db …` commands, psql and programs can use it meanwhile, ' +
        'and the HTTP API is served on http://127.0.0.1:8787/api. On a database where nobody can sign in yet, ' +
        'it creates a first admin (owner of the Default Organization) and prints its password once.',
    )
    .addOption(new Option('--port <n>', 'socket port for the embedded database (0 = any free port; default 54329 or $ROBBIEVERSE_SOCKET_PORT)').argParser(portArg))
    .addOption(new Option('--no-socket', 'do not serve the embedded database on a socket'))
    .addOption(new Option('--api-host <host>', 'address for the HTTP API (default 127.0.0.1 or $ROBBIEVERSE_API_HOST)'))
    .addOption(new Option('--api-port <n>', 'port for the HTTP API (0 = any free port; default 8787 or $ROBBIEVERSE_API_PORT)').argParser(portArg))
    .addOption(new Option('--no-api', 'do not start the HTTP API'))
    .addOption(new Option('--no-sites', 'do not build or serve the RobbieBlocks node sites'))
    .addOption(new Option('--site-port <n>', 'first port of the node sites, one per (node, app) (0 = any free ports; default 8801 or $ROBBIEVERSE_SITE_PORT)').argParser(portArg))
    .addOption(new Option('--node <key...>', 'node keys this process acts as (default: every node with a branding row); with --master, the one node this process is'))
    .addOption(new Option('--master <url>', 'run as node --node KEY of the master at URL: join it on the first run (a snapshot), then sync, build and serve that node\'s apps only'))
    .addOption(new Option('--org <id-or-name...>', 'with --master, on the first run: the organizations this node receives (default: all)'))
    .addOption(new Option('--deploy-root <dir>', 'where node sites are built (default: $ROBBIEVERSE_DEPLOY_ROOT, else <home>/sites)'))
    .addOption(new Option('--no-memory', 'do not run the memory indexer (embeddings for search)'))
    .addOption(new Option('--no-sync', 'do not run the sync daemon even though this node has joined a master'))
    .addOption(new Option('--pull-interval <duration>', 'sync: how often to pull from the master (default 5m)'))
    .addOption(new Option('--admin-email <email>', 'e-mail of the first admin, created when nobody can sign in yet (default admin@localhost or $ROBBIEVERSE_ADMIN_EMAIL)'))
    .addHelpText(
      'after',
      `
Examples:
  $ npx robbieverse up                                  # embedded database in ./.robbieverse
  $ robbieverse up --home /var/lib/robbieverse --port 5500
  $ DATABASE_URL=postgres://app@localhost/robbie robbieverse up
  $ robbieverse up --api-port 0 --admin-email me@example.com   # API on any free port
  $ robbieverse up --no-api                             # database only

One master and a process per node (each node its own home, database and apps):
  $ robbieverse up --home ./master
  $ robbieverse up --home ./vengeance --node vengeance-local --master "$MASTER_URL" \
      --port 54330 --api-port 8790 --site-port 8811
  $ robbieverse up --home ./aurora --node aurora-town-local --master "$MASTER_URL" --org Aurora \
      --port 54331 --api-port 8791 --site-port 8821
  (MASTER_URL: a PostgreSQL URL whose role may create roles, or the master's socket:
   postgres://postgres:$(cut -s -d: -f5 master/pgpass)@127.0.0.1:54329/postgres)

Meanwhile, in another terminal:
  $ robbieverse db query "SELECT * FROM robbieverse_meta.schema_migrations"
  $ PGPASSFILE=.robbieverse/pgpass psql "host=127.0.0.1 port=54329 user=postgres dbname=postgres"
  $ curl -s http://127.0.0.1:8787/api/me -H "Authorization: Bearer $TOKEN"   # after signing in`,
    );
  dbOptions(cmd, { migrations: true });
  legacyUpgradeOptions(cmd);
  return cmd.action(
    action(async (o: DbCommandOptions & LegacyUpgradeFlags & { port?: number; socket: boolean; apiHost?: string; apiPort?: number; api: boolean; adminEmail?: string; sites: boolean; sitePort?: number; node?: string[]; deployRoot?: string; sync: boolean; memory: boolean; pullInterval?: string; master?: string; org?: string[] }) => {
      const t0 = Date.now();
      const asNode = nodeOfMaster(o);
      const cfg = await configFrom(o, { socketPort: o.port, apiHost: o.apiHost, apiPort: o.apiPort });
      const logger = await makeLogger(cfg);
      const files = migrationsFrom(o);
      const err = (s: string) => process.stderr.write(s);
      err(`${color.bold('robbieverse up')}\n`);
      const opened = await openDatabase(cfg, { command: 'robbieverse up', exclusive: true, logger });
      if (opened.recovered) err(`note: ${opened.recovered}\n`);
      let socket: ServedSocket | undefined;
      let api: ListeningApi | undefined;
      let worker: BlocksWorker | undefined;
      let sites: NodeSites | undefined;
      let syncDaemon: SyncDaemon | undefined;
      let memory: MemoryWorker | undefined;
      let unpublish: (() => void) | undefined;
      let control: ControlChannel | undefined;
      // Set once the builder runs: wakes it when a socket client may have changed pages.
      let socketActivity: (() => void) | undefined;
      try {
        err(`database: ${describeTarget(opened)}${!opened.db.capabilities.serverProcess ? color.dim(` (opened in ${ms(Date.now() - t0)})`) : ''}\n`);
        const outcome = await migrateOrUpgrade(opened.db, {
          files,
          lockTimeoutMs: cfg.lockTimeoutMs,
          ...upgradeFlags(o),
          onMigrate: migrationProgress(),
          onUpgrade: upgradeProgress(),
        });
        if (outcome.kind === 'upgraded') {
          err(upgradeSummary(outcome.report));
          if (!outcome.report.ok) throw new RobbieverseError('E_MIGRATION_FAILED', 'the legacy upgrade did not verify; the database was left as it is', { hint: 'see the report above; restore the backup with robbieverse db restore' });
        }
        const result = outcome.kind === 'upgraded' ? outcome.then : outcome.result;
        // `--master`: this process is one node of that master; it joins on the first run.
        if (asNode) await joinOnFirstRun(opened.db, cfg.home, asNode, logger);
        if (opened.db.capabilities.socket && o.socket) {
          socket = await serveSocket(opened.db, cfg.socketHost, cfg.socketPort, {
            password: opened.socketPassword!,
            statementTimeoutMs: cfg.statementTimeoutMs,
            idleInTransactionTimeoutMs: cfg.idleInTransactionTimeoutMs,
            onActivity: () => socketActivity?.(),
            logger,
          });
          opened.lock?.setSocket({ host: socket.host, port: socket.port });
        }
        control = await startControlChannel(opened, { note: err });
        // A custom --migrations directory is not the Robbieverse schema: no accounts, no API.
        const builtIn = !o.migrations;
        let admin: FirstAdmin = { created: false };
        // On a node that joined a master, accounts come from the master (its identity tables are read-only here).
        const joined = builtIn ? readSyncSettings(cfg.home) : undefined;
        // A joined node builds and serves its own apps only.
        const nodeKeys = joined ? [joined.nodeKey] : o.node;
        if (builtIn && !joined) admin = await ensureFirstAdmin(opened.db, { email: o.adminEmail ?? (process.env.ROBBIEVERSE_ADMIN_EMAIL || undefined) });
        if (builtIn && o.api) api = await listenApi({ db: opened.db, host: cfg.apiHost, port: cfg.apiPort, logger, corsOrigins: cfg.corsOrigins, blocks: o.sites ? { deployRoot: deployRootFrom({ deployRoot: o.deployRoot }, cfg) } : undefined, embed: cfg.embed });
        if (api) unpublish = publishApiAddress(cfg, api.origin);
        if (builtIn && o.sites) {
          const deployRoot = deployRootFrom({ deployRoot: o.deployRoot }, cfg);
          // A fresh install gets a small demo site per app, once: pages a user deleted are not
          // brought back on the next start. (The component library was registered by the
          // migration run.) A sync node writes no content: pages and components come from the master.
          const { rows } = await opened.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_pages');
          if (rows[0]!.n === 0 && (await syncRole(opened.db)) !== 'node') {
            const demo = await seedDemoContent(opened.db);
            err(color.dim(`  first start: demo pages ${demo.pagesCreated.join(', ')}\n`));
          }
          fs.mkdirSync(deployRoot, { recursive: true });
          // Sites first, so they answer at once; the builder fills them in the background.
          const sitePort = o.sitePort ?? cfg.sitePort;
          sites = await startNodeSites({ db: opened.db, deployRoot, nodeKeys, host: cfg.apiHost, basePort: sitePort, logger, corsOrigins: cfg.corsOrigins, embed: cfg.embed });
          worker = await startBlocksWorker({
            db: opened.db, deployRoot, nodeKeys, logger, syncComponents: !joined,
            // Synced content arrives in whole batches (one apply transaction per pull), so a joined
            // node needs no long quiet period to coalesce a burst of edits.
            quietMs: joined ? 200 : undefined,
            onDeploy: (d) => err(`  ${d.status === 'failed' ? color.red('✗') : color.green('✓')} ${d.nodeKey}/${d.app}: ${d.status} in ${ms(d.ms)}${d.error ? ` — ${d.error}` : ''}\n`),
          });
          if (socket) socketActivity = wakeOnChanges(opened.db, worker);
        }
        if (builtIn && o.memory) {
          memory = await startMemoryWorker(opened.db, {
            embedder: createEmbedder(cfg.embed), apiKey: cfg.embed.apiKey, timeoutMs: cfg.embed.timeoutMs, logger,
            onError: (m) => err(`  ${color.red('✗')} memory: ${m} ${color.dim('(retrying)')}\n`),
          });
          // Writes through the socket notify no listener here: look at the queue after them.
          const wakeBuilder = socketActivity;
          if (socket) socketActivity = () => {
            wakeBuilder?.();
            memory?.kick();
          };
        }
        // A node that joined a master syncs in the background (sync.json in the home).
        const syncSettings = o.sync ? joined : undefined;
        if (syncSettings) {
          await assertJoined(opened.db, syncSettings);
          const pullIntervalMs = o.pullInterval ? parseInterval(o.pullInterval) : undefined;
          if (pullIntervalMs) await opened.db.query('UPDATE sync.local SET pull_interval_ms = $1', [pullIntervalMs]);
          syncDaemon = new SyncDaemon({
            local: opened.db,
            settings: syncSettings,
            pullIntervalMs,
            logger,
            onEvent: (e) => {
              if (e.type === 'error') err(`  ${color.red('✗')} sync: ${e.error.message} ${color.dim(`(retry in ${Math.round(e.retryInMs / 1000)} s)`)}\n`);
              if (e.type === 'recovered') err(`  ${color.green('✓')} sync: master reachable again\n`);
            },
          });
          await syncDaemon.start();
        }
        const lines = [
          `${color.green('✓')} ready in ${ms(Date.now() - t0)}: ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} applied now, ${result.alreadyApplied} before`,
        ];
        if (opened.dataDir) lines.push(`  data:    ${opened.dataDir}`);
        if (socket) {
          lines.push(`  socket:  ${socket.host}:${socket.port}  (user postgres; sign-in file ${passwordNote(opened)})`);
          lines.push(`  psql:    ${psqlLine(opened, socket)}`);
          lines.push(`  try:     robbieverse db query "SELECT * FROM robbieverse_meta.schema_migrations"${o.home ? ` --home ${o.home}` : ''}`);
        }
        if (api) lines.push(`  ${apiReadyLine(api)}`);
        if (memory) lines.push(`  memory:  indexing with ${cfg.embed.provider}${cfg.embed.model ? ` ${cfg.embed.model}` : ''} in the background; robbieverse memory search "…"`);
        if (syncSettings) lines.push(`  sync:    node ${syncSettings.nodeKey} → ${redactMasterUrl(syncSettings.masterUrl)} (push on commit, pull on the master's hint and every ${Math.round(syncDaemon!.pullIntervalMs / 1000)} s)`);
        if (sites?.sites.length) {
          lines.push('  sites (each node\'s app, its API at /api on the same origin; built in the background):');
          for (const s of sites.sites) lines.push(`    ${s.node.padEnd(22)} ${s.app.padEnd(6)} ${reachableOrigin(s.url)}  ${color.dim(`${s.display_name}, ${s.theme}`)}`);
        }
        else if (!builtIn) lines.push(color.dim('  API:     not started (--migrations is a custom schema)'));
        if (admin.created) {
          // the API this process serves, else where `robbieverse serve` would listen by the same settings
          const origin = api ? reachableOrigin(api.origin) : configuredApiOrigin(cfg);
          lines.push(
            '',
            color.bold('  First admin (nobody could sign in yet), owner of the Default Organization:'),
            `    email:     ${admin.email}`,
            `    password:  ${admin.password}`,
            color.yellow('    shown once and never again: store it now'),
            `    sign in:   ${loginCurl(origin, admin.email, admin.password)}${api ? '' : color.dim('  (once the API runs: robbieverse serve)')}`,
            `    change it with robbieverse users passwd --email ${admin.email}${o.home ? ` --home ${o.home}` : ''}`,
            '',
          );
        }
        lines.push(color.dim('  press Ctrl-C to stop'));
        err(lines.join('\n') + '\n');
        const signal = await untilStopSignal();
        err(`\n${signal}: stopping…\n`);
      } finally {
        unpublish?.();
        await syncDaemon?.stop().catch(() => {});
        await memory?.stop().catch(() => {});
        await worker?.stop().catch(() => {});
        await sites?.close().catch(() => {});
        await api?.close().catch(() => {});
        await socket?.stop().catch(() => {});
        await control?.close().catch(() => {});
        await opened.close();
      }
      err(`${color.green('✓')} stopped; the database is closed${opened.lock ? ' and unlocked' : ''}\n`);
      return 0;
    }),
  );
}

/** Where the socket's password is: the home's password file, or a temporary one for memory://. */
function passwordNote(opened: OpenedDb): string {
  return opened.dataDir ? socketPasswordFile(path.dirname(opened.dataDir)) : memoryPasswordFile(opened);
}

/** A psql command that reads the password from the file, so it never shows in a URL or in `ps`. */
function psqlLine(opened: OpenedDb, socket: ServedSocket): string {
  return `PGPASSFILE=${shellQuote(passwordNote(opened))} psql "host=${socket.host} port=${socket.port} user=postgres dbname=postgres"`;
}

const shellQuote = (s: string) => (/^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** memory:// has no home: its password goes to an owner-only file of its own, removed at exit. */
function memoryPasswordFile(opened: OpenedDb): string {
  const file = path.join(os.tmpdir(), `robbieverse-memory-${process.pid}.pgpass`);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, `*:*:*:postgres:${opened.socketPassword}\n`, { mode: 0o600 });
    process.once('exit', () => fs.rmSync(file, { force: true }));
  }
  return file;
}

/**
 * On the embedded database, edits made through the socket (db query, db shell, psql) raise no
 * notification in this process: after socket activity settles, look for unprocessed change rows
 * and wake the builder if there are any.
 */
function wakeOnChanges(db: Db, worker: BlocksWorker): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM robbieblocks_change_triggers WHERE processed_at IS NULL) AS any')
        .then((r) => { if (r.rows[0]?.any) worker.wake(); })
        .catch(() => {});
    }, 200);
  };
}

interface NodeOfMaster {
  masterUrl: string;
  nodeKey: string;
  orgs?: string[];
}

/** `--master URL --node KEY [--org …]`, checked before anything is opened. */
function nodeOfMaster(o: { master?: string; node?: string[]; org?: string[]; sync: boolean }): NodeOfMaster | undefined {
  if (!o.master) {
    if (o.org?.length) throw new RobbieverseError('E_USAGE', '--org needs --master', { hint: 'e.g. robbieverse up --master "$MASTER_URL" --node aurora-town-local --org Aurora' });
    return undefined;
  }
  if (o.node?.length !== 1) {
    throw new RobbieverseError('E_USAGE', `--master needs exactly one --node (got ${o.node?.length ?? 0})`, {
      hint: 'e.g. robbieverse up --master "$MASTER_URL" --node vengeance-local',
    });
  }
  if (!o.sync) throw new RobbieverseError('E_USAGE', '--master and --no-sync contradict each other', { hint: 'a node of a master syncs with it; drop one of them' });
  assertNodeKey(o.node[0]!);
  try {
    const u = new URL(o.master);
    if (!/^postgres(ql)?:$/.test(u.protocol)) throw new Error('not postgres');
  } catch {
    throw new RobbieverseError('E_USAGE', `--master must be a PostgreSQL URL, got "${redactMasterUrl(o.master)}"`, { hint: 'e.g. postgres://admin:secret@hub.example:5432/robbieverse' });
  }
  return { masterUrl: o.master, nodeKey: o.node[0]!, orgs: o.org };
}

/**
 * Joins the master on the first run (registration and a snapshot of the master's data). Later
 * runs find the home's sync.json: the same node key goes on syncing; another key or another
 * master is refused, since one home is one node of one network.
 */
async function joinOnFirstRun(db: Db, home: string, n: NodeOfMaster, logger: Logger): Promise<void> {
  const err = (s: string) => process.stderr.write(s);
  const have = readSyncSettings(home);
  if (have) {
    if (have.nodeKey !== n.nodeKey) {
      throw new RobbieverseError('E_USAGE', `this home is node ${have.nodeKey}, not ${n.nodeKey}`, { hint: `use --node ${have.nodeKey}, or another --home for ${n.nodeKey}` });
    }
    if (sameServer(have.masterUrl) !== sameServer(n.masterUrl)) {
      throw new RobbieverseError('E_USAGE', `this home joined ${redactMasterUrl(have.masterUrl)}, not ${redactMasterUrl(n.masterUrl)}`, {
        hint: 'a home is a node of one master: use another --home for another master',
      });
    }
    return;
  }
  err(`joining ${color.bold(n.nodeKey)} to ${redactMasterUrl(n.masterUrl)} (first run)\n`);
  const t0 = Date.now();
  const r = await joinMaster(db, { masterUrl: n.masterUrl, nodeKey: n.nodeKey, orgs: n.orgs, home, logger, onEvent: joinProgress });
  err(`${color.green('✓')} joined as ${r.nodeKey} (hub ${r.hubNodeKey})${r.orgScope ? `, organizations: ${r.orgScope.join(', ')}` : ', all organizations'} in ${ms(Date.now() - t0)}\n`);
}

/** Host, port and database of a URL: credentials differ between the URL given and the node's own. */
function sameServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return url;
  }
}
