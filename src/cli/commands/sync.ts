import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, RobbieverseError } from '../../errors.js';
import { requireCurrentSchema } from '../../migrate/require-current.js';
import { embeddedMigrations } from '../../migrate/embedded.js';
import { SyncDaemon } from '../../sync/daemon.js';
import { DEFAULT_BATCH_SIZE, type ExchangeResult } from '../../sync/exchange.js';
import { joinMaster, type JoinEvent } from '../../sync/join.js';
import { purgeSyncLog } from '../../sync/purge.js';
import { assertJoined, syncOnce } from '../../sync/once.js';
import { redactMasterUrl, requireSyncSettings } from '../../sync/settings.js';
import { listConflicts, syncStatus } from '../../sync/status.js';
import { action, dbOptions, describeTarget, makeLogger, configFrom, withCommandDatabase, withDatabase, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';
import { overviewCmd } from './sync-overview.js';

export function syncCommand(): Command {
  const sync = new Command('sync')
    .summary('node sync: join a master, exchange changes, status, overview, conflicts')
    .description(
      'A master database and local nodes, each with its own database. Local writes reach the master right ' +
        'after they commit; master changes reach a node at every pull (default every 5 minutes). Conflicts ' +
        'resolve per row to the latest version (hybrid logical clock, then node id); every overwritten version ' +
        'is kept in sync_conflicts. See docs/sync.md.',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse sync join --master postgres://admin:…@hub.example/robbieverse --node vengeance-local
  $ robbieverse sync once            # push and pull now, then exit
  $ robbieverse sync run             # the daemon (robbieverse up runs it too once joined)
  $ robbieverse sync status
  $ robbieverse sync overview --url "$MASTER_URL"   # every node: health, lag, backlog, last deploy per app
  $ robbieverse sync conflicts --table tasks --since 24h
  $ robbieverse sync purge --url "$MASTER_URL"   # drop log rows every node has (older than 30 days)

Exit codes: 0 done · 1 (overview) a node needs attention · 2 usage · 3 schema mismatch (upgrade the master first, then the node) · 5 master unreachable`);
  sync.addCommand(joinCmd()).addCommand(onceCmd()).addCommand(runCmd()).addCommand(statusCmd()).addCommand(overviewCmd()).addCommand(conflictsCmd()).addCommand(purgeCmd());
  return sync;
}

function joinCmd(): Command {
  const cmd = new Command('join')
    .summary('register this database as a node of a master and seed it')
    .description(
      'Connects to the master (which becomes the hub on the first join), registers this database as node KEY, ' +
        'gives it a database role of its own that may only call the sync functions (on a PostgreSQL master; the ' +
        'URL\'s role needs CREATEROLE), and replaces the synced tables here with one consistent snapshot of the ' +
        'master. The master URL with the node\'s credentials is kept in <home>/sync.json (owner-only). Joining ' +
        'again under the same key is safe: it keeps the data and updates the scope.',
    )
    .requiredOption('--master <url>', 'the master database, postgres://user:password@host:port/db')
    .requiredOption('--node <key>', 'this node\'s key on the master, e.g. vengeance-local')
    .addOption(new Option('--org <id|name...>', 'receive only these organizations (default: all)'))
    .option('--reseed', 'push pending local changes, then replace the synced tables with a fresh master snapshot (also when behind the master\'s purge horizon)')
    .addHelpText('after', `
Examples:
  $ robbieverse sync join --master postgres://admin:secret@hub.example:5432/robbieverse --node aurora-town-local
  $ robbieverse sync join --master "$MASTER_URL" --node fluenti-local --org "Fluenti Inc" --json
  $ robbieverse sync join --master "$MASTER_URL" --node fluenti-local --reseed`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { master: string; node: string; org?: string[]; reseed?: boolean }) => {
      return withCommandDatabase(o, { command: 'robbieverse sync join' }, async (opened, cfg) => {
        await requireCurrentSchema(opened.db, embeddedMigrations());
        if (!o.json) process.stderr.write(`joining ${color.bold(o.node)} to ${redactMasterUrl(o.master)} (this database: ${describeTarget(opened)})\n`);
        const r = await joinMaster(opened.db, {
          masterUrl: o.master,
          nodeKey: o.node,
          orgs: o.org,
          home: cfg.home,
          reseed: o.reseed,
          onEvent: o.json ? undefined : joinProgress,
        });
        if (o.json) printJson(r);
        else
          process.stdout.write(
            `${color.green('✓')} ${r.alreadyJoined ? 'already joined' : 'joined'} as ${r.nodeKey} (hub ${r.hubNodeKey})${r.orgScope ? `, organizations: ${r.orgScope.join(', ')}` : ', all organizations'}\n` +
              color.dim(`  next: robbieverse sync once   or   robbieverse up (syncs in the background)\n`),
          );
      });
    }),
  );
}

/** Progress of a join on stderr (also used by `up --master`). */
export function joinProgress(e: JoinEvent): void {
  if (e.type === 'registered') process.stderr.write(`  registered${e.role ? ` (role ${e.role})` : ''}\n`);
  if (e.type === 'pushed') process.stderr.write(`  pushed ${e.changes} pending local change${e.changes === 1 ? '' : 's'} to the master first\n`);
  if (e.type === 'seed-table' && e.rows) process.stderr.write(color.dim(`  seeded ${e.table}: ${e.rows} rows\n`));
  if (e.type === 'seeded') {
    const removed = Object.keys(e.removed).length ? `; removed local rows not on the master: ${JSON.stringify(e.removed)}` : '';
    process.stderr.write(`  seeded ${e.rows} rows in ${e.ms} ms${removed}\n`);
  }
}

function summary(r: ExchangeResult): string {
  const p = r.push;
  const q = r.pull;
  return (
    `pushed ${p.sent} change${p.sent === 1 ? '' : 's'} (${p.applied} applied on the master, ${p.discarded} lost to newer versions, ${p.parked} parked)` +
    ` · pulled ${q.received} (${q.applied} applied, ${q.discarded} lost to newer local versions, ${q.parked} parked)` +
    color.dim(` · ${r.ms} ms, clock offset ${r.hello.clockOffsetMs} ms`)
  );
}

function onceCmd(): Command {
  const cmd = new Command('once')
    .summary('push and pull once, then exit')
    .description('Pushes every local change the master has not applied and pulls every master change after this node\'s cursor, then exits 0.')
    .addOption(batchOption());
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { batchSize: number }) => {
      return withCommandDatabase(o, { command: 'robbieverse sync once' }, async (opened, cfg) => {
        const r = await syncOnce(opened.db, cfg.home, { logger: await makeLogger(cfg), batchSize: o.batchSize });
        if (o.json) printJson(r);
        else process.stdout.write(`${color.green('✓')} ${summary(r)}\n`);
        return EXIT.ok;
      });
    }),
  );
}

function runCmd(): Command {
  const cmd = new Command('run')
    .summary('run the sync daemon in the foreground')
    .description('Pushes right after local commits, pulls every --pull-interval and after reconnecting; Ctrl-C stops it.')
    .option('--pull-interval <duration>', 'how often to pull (e.g. 30s, 5m)', '5m')
    .addOption(batchOption());
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { pullInterval: string; batchSize: number }) => {
      const pullIntervalMs = parseInterval(o.pullInterval);
      const cfg = await configFrom(o);
      const logger = await makeLogger(cfg);
      return withDatabase(cfg, { command: 'robbieverse sync run', logger }, async (opened) => {
        const settings = requireSyncSettings(cfg.home);
        await assertJoined(opened.db, settings);
        await opened.db.query('UPDATE sync.local SET pull_interval_ms = $1', [pullIntervalMs]);
        const daemon = new SyncDaemon({
          local: opened.db,
          settings,
          pullIntervalMs,
          batchSize: o.batchSize,
          logger,
          onEvent: (e) => {
            if (o.json) {
              process.stdout.write(JSON.stringify(e.type === 'error' ? { type: 'error', error: e.error.message, code: (e.error as { code?: string }).code, retryInMs: e.retryInMs } : e.type === 'exchange' ? { type: 'exchange', kind: e.kind, push: e.result.push, pull: e.result.pull, ms: e.result.ms } : e) + '\n');
              return;
            }
            const t = new Date().toISOString().slice(11, 19);
            if (e.type === 'exchange' && (e.result.push.sent || e.result.pull.received || e.kind === 'full')) process.stdout.write(`${color.dim(t)} ${summary(e.result)}\n`);
            if (e.type === 'error') process.stdout.write(`${color.dim(t)} ${color.red('✗')} ${e.error.message} ${color.dim(`(retry in ${Math.round(e.retryInMs / 1000)} s)`)}\n`);
            if (e.type === 'recovered') process.stdout.write(`${color.dim(t)} ${color.green('✓')} master reachable again after ${Math.round(e.afterMs / 1000)} s\n`);
          },
        });
        await daemon.start();
        if (!o.json) process.stderr.write(`sync daemon for ${settings.nodeKey} → ${redactMasterUrl(settings.masterUrl)}; pull every ${o.pullInterval}; Ctrl-C to stop\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await daemon.stop();
        return EXIT.ok;
      });
    }),
  );
}

function batchOption(): Option {
  return new Option('--batch-size <n>', 'changes per batch (each batch is one transaction on the receiver)')
    .default(DEFAULT_BATCH_SIZE)
    .argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError(`${v} is not a batch size: use a whole number from 1 to 10000.`);
      return n;
    });
}

export function parseInterval(s: string, minMs = 100): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  const n = m ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms'] ?? 1000) : NaN;
  if (!m || !(n >= minMs)) {
    throw new RobbieverseError('E_USAGE', `"${s}" is not a duration${minMs > 0 ? ` of at least ${minMs} ms` : ''}`, { hint: 'examples: 500ms, 30s, 5m, 1h, 30d' });
  }
  return Math.round(n);
}

function statusCmd(): Command {
  const cmd = new Command('status')
    .summary('sync health per node')
    .description('On the master: every node it knows. On a node: this node. Health: never_synced, error, offline, degraded, healthy.');
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse sync status' }, async (opened) => {
        const s = await syncStatus(opened.db);
        if (o.json) {
          printJson(s);
          return;
        }
        if (!s.role) {
          process.stdout.write('this database does not sync (not a master, not joined)\n' + color.dim('  join a master: robbieverse sync join --master URL --node KEY\n'));
          return;
        }
        const paint = (h: string) => (h === 'healthy' ? color.green(h) : h === 'degraded' || h === 'never_synced' ? color.yellow(h) : color.red(h));
        process.stdout.write(`${s.role === 'hub' ? 'master' : 'node'} ${s.nodeKey}\n`);
        process.stdout.write(
          renderTable(
            ['node', 'health', 'last contact', 'last pull', 'out', 'in', 'parked', 'conflicts 24h', 'clock', 'schema', 'last error'],
            s.nodes.map((n) => Object.fromEntries(['node', 'health', 'last contact', 'last pull', 'out', 'in', 'parked', 'conflicts 24h', 'clock', 'schema', 'last error'].map((k, i) => [k, [
              n.node_key,
              paint(n.health),
              n.last_contact_at ?? '—',
              n.last_pull_at ?? '—',
              n.outbound_backlog ?? '—',
              n.inbound_backlog ?? '—',
              n.parked,
              n.conflicts_24h,
              n.clock_offset_ms === null ? '—' : `${n.clock_offset_ms} ms`,
              n.schema_match === null ? '—' : n.schema_match ? 'match' : color.red('mismatch'),
              n.last_error ?? '',
            ].map(String)[i]]))),
          ) + '\n',
        );
      });
    }),
  );
}

function conflictsCmd(): Command {
  const cmd = new Command('conflicts')
    .summary('the audit trail: both versions of every conflict')
    .option('--table <name>', 'only this table')
    .option('--since <duration>', 'only the last … (e.g. 30m, 24h)')
    .option('--limit <n>', 'at most this many (default 100)', '100');
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { table?: string; since?: string; limit: string }) => {
      const sinceMs = o.since ? parseInterval(o.since) : undefined;
      const limit = Number(o.limit);
      return withCommandDatabase(o, { command: 'robbieverse sync conflicts' }, async (opened) => {
        const rows = await listConflicts(opened.db, { table: o.table, sinceMs, limit });
        if (o.json) {
          printJson(rows);
          return;
        }
        if (!rows.length) {
          process.stdout.write('no conflicts\n');
          return;
        }
        for (const c of rows) {
          process.stdout.write(
            `${color.bold(c.conflict_type)} ${c.table_name} ${c.record_id} ${color.dim(c.detected_at)}\n` +
              `  winner ${c.winner_node ?? '?'} @${c.winner_hlc ?? '?'}\n  loser  ${c.loser_node ?? '?'} @${c.loser_hlc ?? '?'}\n` +
              `  master:  ${JSON.stringify(c.master_data)}\n  replica: ${JSON.stringify(c.replica_data)}\n`,
          );
        }
      });
    }),
  );
}

function purgeCmd(): Command {
  const cmd = new Command('purge')
    .summary('delete sync log rows and tombstones no node needs any more')
    .description(
      'On the master: deletes change-log rows every registered node has pulled past (a node that never pulled ' +
        'holds all of them) and that are older than --retention, and tombstones older than it whose log rows are ' +
        'gone; the highest key deleted becomes the purge horizon. A node whose cursor lies before it must re-seed ' +
        '(`sync join --reseed`). On a node: deletes its own changes the master has acknowledged, older than --retention.',
    )
    .option('--retention <duration>', 'keep everything younger than this (e.g. 7d, 12h, 0s)', '30d')
    .option('--release-after <duration>', 'master: a node that has not pulled for this long stops holding the log back (it will have to re-seed)')
    .addHelpText('after', `
Examples:
  $ robbieverse sync purge --url "$MASTER_ADMIN_URL"
  $ robbieverse sync purge --url "$MASTER_ADMIN_URL" --retention 7d --release-after 90d --json
  $ robbieverse sync purge               # on a node: its acknowledged changes`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { retention: string; releaseAfter?: string }) => {
      const retentionMs = parseInterval(o.retention, 0);
      const nodeGraceMs = o.releaseAfter === undefined ? undefined : parseInterval(o.releaseAfter, 0);
      return withCommandDatabase(o, { command: 'robbieverse sync purge' }, async (opened) => {
        const r = await purgeSyncLog(opened.db, { retentionMs, nodeGraceMs });
        if (o.json) {
          printJson(r);
          return;
        }
        process.stdout.write(
          `${color.green('✓')} purged ${r.log_rows} log row${r.log_rows === 1 ? '' : 's'} and ${r.tombstones} tombstone${r.tombstones === 1 ? '' : 's'} older than ${o.retention}` +
            (r.horizon ? color.dim(` · horizon (${r.horizon.xid}, ${r.horizon.position})`) : '') +
            '\n' +
            (r.role === 'hub' && r.held_by.length ? color.dim(`  held back by: ${r.held_by.join(', ')}\n`) : '') +
            (r.released.length ? color.yellow(`  no longer held back by (not pulled within --release-after; they must re-seed): ${r.released.join(', ')}\n`) : ''),
        );
      });
    }),
  );
}
