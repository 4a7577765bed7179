import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { embeddedMigrations } from '../../migrate/embedded.js';
import { requireCurrentSchema } from '../../migrate/require-current.js';
import { syncOverview, type OverviewApp, type OverviewNode, type SyncOverview } from '../../sync/overview.js';
import { action, dbOptions, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

export function overviewCmd(): Command {
  const cmd = new Command('overview')
    .summary('the master\'s view: every node\'s health, lag, backlog, conflicts and last deploy per app')
    .description(
      'One row per node and app. Sync columns (from sync status): health, lag, backlog, parked, conflicts in the last 24 h. ' +
        'Lag: the larger of the age of the oldest change still waiting to cross between this database and the node and the ' +
        'time since the node was last heard from (on a node: its last successful exchange). Deploy columns, per app enabled ' +
        'in the node\'s branding (or with deploy history): the last finished deploy — status, when it finished, how long it ' +
        'took, release (or build hash), first line of its error — and a deploy in progress. On the master: every node that ' +
        'joined it, plus nodes with branding or deploys that did not join (the master builds for them). On a node: itself. ' +
        'On a database that does not sync: every node with branding or deploys, health "standalone". See docs/sync.md.',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse sync overview --url "$MASTER_ADMIN_URL"
  $ robbieverse sync overview --url "$MASTER_ADMIN_URL" --json
  $ robbieverse sync overview               # on a node: itself
  $ robbieverse sync overview --url "$MASTER_ADMIN_URL" > /dev/null || echo "a node needs attention"

Exit codes: 0 all well · 1 needs attention: a node's health is error or offline, or the last deploy of an
enabled app failed (or the command itself failed) · 3 the database is not migrated to this version · 5 database unreachable`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse sync overview' }, async (opened) => {
        await requireCurrentSchema(opened.db, embeddedMigrations());
        const ov = await syncOverview(opened.db);
        if (o.json) printJson(ov);
        else process.stdout.write(renderOverview(ov));
        return ov.attention ? EXIT.failure : EXIT.ok;
      });
    }),
  );
}

const BLANK_NODE = { node: '', health: '', lag: '', backlog: '', parked: '', 'conflicts 24h': '' };
const COLUMNS = ['node', 'health', 'lag', 'backlog', 'parked', 'conflicts 24h', 'app', 'last deploy', 'finished', 'took', 'release', 'error'];

export function renderOverview(ov: SyncOverview): string {
  const head =
    ov.role === 'hub'
      ? `master ${ov.node_key}: every node`
      : ov.role === 'node'
        ? `node ${ov.node_key}: this node only (the master's overview: --url MASTER_URL)`
        : 'this database does not sync: every node with branding or deploys';
  const rows: Record<string, string>[] = [];
  for (const n of ov.nodes) {
    const apps: (OverviewApp | null)[] = n.apps.length ? n.apps : [null];
    apps.forEach((a, i) => rows.push({ ...(i === 0 ? nodeCells(n) : BLANK_NODE), ...appCells(a) }));
  }
  const out = [`${head} ${color.dim(`(${ov.generated_at})`)}`, renderTable(COLUMNS, rows)];
  const why = attentionReasons(ov);
  out.push(why.length ? color.red(`✗ needs attention: ${why.join('; ')}`) : color.green('✓ all nodes well, no failed last deploy'));
  return out.join('\n') + '\n';
}

/** What makes the overview exit 1, one phrase each ("vengeance-local offline", "aurora-town-local/work last deploy failed"). */
export function attentionReasons(ov: SyncOverview): string[] {
  const why: string[] = [];
  for (const n of ov.nodes) {
    if (n.health === 'error' || n.health === 'offline') why.push(`${n.node_key} ${n.health}${n.last_error ? ` (${firstLine(n.last_error, 60)})` : ''}`);
    for (const a of n.apps) if (a.enabled && a.last_deploy?.status === 'failed') why.push(`${n.node_key}/${a.app} last deploy failed`);
  }
  return why;
}

function nodeCells(n: OverviewNode): Record<string, string> {
  const backlog = n.inbound_backlog ?? n.outbound_backlog;
  return {
    node: n.node_key,
    health: paintHealth(n.health ?? n.sync.replace('_', ' ')),
    lag: n.lag_ms === null ? '—' : duration(n.lag_ms),
    backlog: backlog === null ? '—' : String(backlog),
    parked: n.parked === null ? '—' : String(n.parked),
    'conflicts 24h': n.conflicts_24h === null ? '—' : String(n.conflicts_24h),
  };
}

function appCells(a: OverviewApp | null): Record<string, string> {
  if (!a) return { app: '—', 'last deploy': '—', finished: '', took: '', release: '', error: '' };
  const d = a.last_deploy;
  const status = d ? paintDeploy(d.status) : color.dim('never');
  const now = a.in_progress ? color.yellow(` (${a.in_progress.status} now)`) : '';
  return {
    app: a.enabled ? a.app : color.dim(`${a.app} (disabled)`),
    'last deploy': status + now,
    finished: d?.completed_at ? d.completed_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—',
    took: d?.duration_ms === null || d?.duration_ms === undefined ? '—' : duration(d.duration_ms),
    release: d ? (d.release_id ?? (d.build_hash ? `#${d.build_hash.slice(0, 12)}` : '—')) : '—',
    error: d?.error_message ? firstLine(d.error_message, 72) : '',
  };
}

function paintHealth(h: string): string {
  if (h === 'healthy') return color.green(h);
  if (h === 'error' || h === 'offline') return color.red(h);
  if (h === 'degraded' || h === 'never_synced') return color.yellow(h);
  return color.dim(h);
}

function paintDeploy(s: string): string {
  return s === 'success' ? color.green(s) : s === 'failed' ? color.red(s) : color.dim(s);
}

function firstLine(s: string, max: number): string {
  const line = s.split('\n', 1)[0]!.trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

/** 850 ms · 12 s · 4 min 10 s · 3 h 5 min · 2 d 4 h */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}
