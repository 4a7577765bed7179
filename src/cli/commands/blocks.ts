import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../config.js';
import type { Db } from '../../db/types.js';
import { EXIT, RobbieverseError } from '../../errors.js';
import { runDeploy, type DeployOutcome } from '../../blocks/build.js';
import { claimDeploy, newBuilderId } from '../../blocks/claim.js';
import { seedDemoContent } from '../../blocks/demo.js';
import type { BlocksEvent } from '../../blocks/events.js';
import { loadComponentLibrary, registerComponentLibrary } from '../../blocks/library.js';
import { requestDeploy } from '../../blocks/request.js';
import { rollbackRelease } from '../../blocks/rollback.js';
import { blocksStatus, listDeploys, listPages } from '../../blocks/status.js';
import { startBlocksWorker } from '../../blocks/worker.js';
import { action, dbOptions, describeTarget, parseDuration, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, ms, printJson, renderTable } from '../output.js';

interface BlocksOptions extends DbCommandOptions {
  deployRoot?: string;
}

const err = (s: string) => process.stderr.write(s);

/** --deploy-root > $ROBBIEVERSE_DEPLOY_ROOT > <home>/sites. */
export function deployRootFrom(o: BlocksOptions, cfg: Config): string {
  return path.resolve(o.deployRoot ?? process.env.ROBBIEVERSE_DEPLOY_ROOT ?? path.join(cfg.home, 'sites'));
}

function withRoot(cmd: Command): Command {
  return cmd.addOption(new Option('--deploy-root <dir>', 'where sites are deployed (default: $ROBBIEVERSE_DEPLOY_ROOT, else <home>/sites)'));
}

/** Human progress of the builder, on stderr. */
export function blocksProgress(write: (s: string) => void = err): (e: BlocksEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'worker-start':
        write(color.dim(`builder ${e.builderId} serving ${e.nodes === 'all-branded' ? 'every node with a branding row' : e.nodes.join(', ')}\n`));
        break;
      case 'planned':
        write(color.dim(`queued ${e.deploys} build${e.deploys === 1 ? '' : 's'} from ${e.changes} change${e.changes === 1 ? '' : 's'}${e.deferred ? ` (${e.deferred} waiting for a running build)` : ''}\n`));
        break;
      case 'lease-expired':
        write(color.yellow(`closed deploy ${e.deployId} of ${e.nodeKey}/${e.app}: ${e.reason}\n`));
        break;
      case 'build-start':
        write(`building ${e.nodeKey}/${e.app} (${e.triggeredBy}) … `);
        break;
      case 'build-step':
        if (e.step === 'vite') write(color.dim(`vite ${ms(e.ms)} `));
        break;
      case 'build-retry':
        write(color.yellow(`\n  attempt ${e.attempt} failed (${e.error}); retrying in ${ms(e.delayMs)} … `));
        break;
      case 'build-done': {
        const c = e.status === 'failed' ? color.red : e.status === 'success' ? color.green : color.yellow;
        write(`${c(e.status)} ${color.dim(ms(e.ms))}${e.releaseId ? ` → ${e.releaseId}` : ''}${e.error ? `\n  ${color.red(e.error)}` : ''}\n`);
        break;
      }
      case 'reconnect':
        write(color.yellow('database connection restored; re-reading the queue\n'));
        break;
      case 'error':
        write(color.yellow(`${e.where}: ${e.error} (retrying)\n`));
        break;
      case 'worker-stop':
        break;
    }
  };
}

function workerCommand(): Command {
  const cmd = new Command('worker')
    .summary('build and deploy apps when their content changes')
    .description(
      'Listens for RobbieBlocks changes (pages, blocks, components, tokens, branding), builds each affected\n' +
        '(node, app) with Vite and switches its live release atomically. Drains the backlog at start, waits a\n' +
        'quiet period so a burst of edits gives one build, and polls as a fallback. Runs until Ctrl-C,\n' +
        'or with --once until the queue is empty.',
    )
    .addOption(new Option('--node <key...>', 'node keys to build for (default: every node with a branding row)'))
    .addOption(new Option('--quiet <duration>', 'quiet period after a change').default('2s'))
    .addOption(new Option('--poll <duration>', 'poll interval').default('60s'))
    .addOption(new Option('--lease <duration>', 'close builds running longer than this as interrupted').default('15m'))
    .addOption(new Option('--keep <n>', 'successful releases kept per app').default('5'))
    .addOption(new Option('--once', 'build what is queued, then exit'))
    .addOption(new Option('--no-sync-components', 'do not register the bundled component library first'))
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse blocks worker                              # every branded node, until Ctrl-C
  $ robbieverse blocks worker --node vengeance-local --deploy-root /srv/sites
  $ robbieverse blocks worker --once --json                # drain the queue; one JSON event per line

Sites land in <deploy-root>/<node>/<app>/current (a symlink to releases/<id>).`,
    );
  dbOptions(withRoot(cmd), { json: true });
  return cmd.action(
    action(async (o: BlocksOptions & { node?: string[]; quiet: string; poll: string; lease: string; keep: string; once?: boolean; syncComponents: boolean }) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks worker' }, async (opened, cfg) => {
        const deployRoot = deployRootFrom(o, cfg);
        if (!o.json) err(`database: ${describeTarget(opened)}\nsites: ${deployRoot}\n`);
        const outcomes: DeployOutcome[] = [];
        const progress = blocksProgress();
        const { makeLogger } = await import('../context.js');
        const worker = await startBlocksWorker({
          db: opened.db,
          deployRoot,
          nodeKeys: o.node,
          quietMs: parseDuration(o.quiet),
          pollMs: parseDuration(o.poll),
          leaseMs: parseDuration(o.lease),
          keepReleases: Number(o.keep),
          syncComponents: o.syncComponents,
          logger: await makeLogger(cfg),
          onEvent: o.json ? (e) => process.stdout.write(JSON.stringify(e) + '\n') : progress,
          onDeploy: (d) => outcomes.push(d),
        });
        if (o.once) {
          await worker.idle();
        } else {
          if (!o.json) err(color.dim('waiting for changes (Ctrl-C to stop)\n'));
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          if (!o.json) err('stopping after the current build …\n');
        }
        await worker.stop();
        if (o.once && !o.json) {
          const n = (s: string) => outcomes.filter((x) => x.status === s).length;
          err(`${outcomes.length} build${outcomes.length === 1 ? '' : 's'}: ${n('success')} success, ${n('skipped')} skipped, ${n('failed')} failed, ${n('withdrawn')} withdrawn\n`);
        }
        return o.once && outcomes.some((x) => x.status === 'failed') ? EXIT.failure : EXIT.ok;
      });
    }),
  );
}

async function waitForDeploy(db: Db, id: string, timeoutMs: number): Promise<{ deploy_status: string; error_message: string | null; release_id: string | null }> {
  const t0 = Date.now();
  for (;;) {
    const r = await db.query<{ deploy_status: string; error_message: string | null; release_id: string | null }>(
      'SELECT deploy_status, error_message, release_id FROM robbieblocks_deploys WHERE id = $1::uuid',
      [id],
    );
    const row = r.rows[0]!;
    if (!['pending', 'building', 'deploying'].includes(row.deploy_status)) return row;
    if (Date.now() - t0 > timeoutMs) throw new RobbieverseError('E_QUERY', `deploy ${id} is still ${row.deploy_status} after ${ms(timeoutMs)}`, { hint: 'a worker may be busy: see `robbieverse blocks deploys`' });
    await new Promise((res) => setTimeout(res, 250));
  }
}

function deployCommand(): Command {
  const cmd = new Command('deploy')
    .summary('build one app of one node now')
    .description('Queues a manual build of <node>/<app> and runs it in this process (unless a worker already took it, then waits for it).')
    .argument('<node>', 'node key, e.g. vengeance-local')
    .argument('<app>', 'app namespace, e.g. play')
    .addOption(new Option('--no-wait', 'only queue it for a running worker'))
    .addOption(new Option('--timeout <duration>', 'how long to wait for a worker').default('10m'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks deploy vengeance-local play\n  $ robbieverse blocks deploy aurora-town-local work --json\n  $ robbieverse blocks deploy aurora-town-local work --no-wait   # a worker builds it`);
  dbOptions(withRoot(cmd), { json: true });
  return cmd.action(
    action(async (node: string, app: string, o: BlocksOptions & { wait: boolean; timeout: string }) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks deploy' }, async (opened, cfg) => {
        const deployRoot = deployRootFrom(o, cfg);
        const req = await requestDeploy(opened.db, { nodeKey: node, app });
        if (!o.wait) {
          if (o.json) printJson(req);
          else err(`${req.created ? 'queued' : 'already queued'}: deploy ${req.deployId} (${req.status})\n`);
          return EXIT.ok;
        }
        const job = await claimDeploy(opened.db, null, newBuilderId(), req.deployId);
        let result: { status: string; error?: string | null; releaseId?: string | null };
        if (job) {
          const out = await runDeploy(opened.db, job, { deployRoot, onEvent: o.json ? undefined : blocksProgress() });
          if (!o.json) blocksProgress()({ type: 'build-done', deployId: out.deployId, nodeKey: out.nodeKey, app: out.app, status: out.status, releaseId: out.releaseId, hash: out.hash, ms: out.ms, error: out.error });
          result = { status: out.status, error: out.error, releaseId: out.releaseId };
        } else {
          if (!o.json) err(`deploy ${req.deployId} is being built by a worker; waiting …\n`);
          const row = await waitForDeploy(opened.db, req.deployId, parseDuration(o.timeout));
          if (!o.json) err(`${row.deploy_status}${row.error_message ? `: ${row.error_message}` : ''}\n`);
          result = { status: row.deploy_status, error: row.error_message, releaseId: row.release_id };
        }
        if (o.json) printJson({ deployId: req.deployId, ...result });
        return result.status === 'failed' ? EXIT.failure : EXIT.ok;
      });
    }),
  );
}

function rollbackCommand(): Command {
  const cmd = new Command('rollback')
    .summary('serve an earlier release again')
    .description('Points <node>/<app> back at an earlier kept release (default: the one live before the current one), without rebuilding, and records a rollback deploy. The next content change builds normally.')
    .argument('[node]', 'node key (or --node)')
    .argument('[app]', 'app namespace (or --app)')
    .addOption(new Option('--node <key>', 'node key'))
    .addOption(new Option('--app <app>', 'app namespace'))
    .addOption(new Option('--to <release>', 'release id to restore (see `robbieverse blocks status`)'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks rollback --node vengeance-local --app play\n  $ robbieverse blocks rollback vengeance-local play --to 20250101T120000000Z-1a2b3c4d`);
  dbOptions(withRoot(cmd), { json: true });
  return cmd.action(
    action(async (nodeArg: string | undefined, appArg: string | undefined, o: BlocksOptions & { to?: string; node?: string; app?: string }) => {
      const node = o.node ?? nodeArg;
      const app = o.app ?? appArg;
      if (!node || !app) throw new RobbieverseError('E_USAGE', 'name the site to roll back', { hint: 'robbieverse blocks rollback --node vengeance-local --app play' });
      return withCommandDatabase(o, { command: 'robbieverse blocks rollback' }, async (opened, cfg) => {
        const r = await rollbackRelease(opened.db, { deployRoot: deployRootFrom(o, cfg), nodeKey: node, app, toRelease: o.to });
        if (o.json) printJson(r);
        else process.stdout.write(`${color.green('rolled back')} ${node}/${app}: ${r.fromRelease} → ${r.toRelease} (deploy ${r.deployId})\n`);
        return EXIT.ok;
      });
    }),
  );
}

function deploysCommand(): Command {
  const cmd = new Command('deploys')
    .summary('list builds, newest first')
    .addOption(new Option('--node <key>', 'only this node'))
    .addOption(new Option('--app <app>', 'only this app'))
    .addOption(new Option('--status <status>', 'only this status (pending, building, deploying, success, failed, skipped)'))
    .addOption(new Option('--limit <n>', 'at most this many').default('20'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks deploys --node vengeance-local\n  $ robbieverse blocks deploys --status failed --json | jq '.[0].error_message'`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: BlocksOptions & { node?: string; app?: string; status?: string; limit: string }) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks deploys' }, async (opened) => {
        const rows = await listDeploys(opened.db, { nodeKey: o.node, app: o.app, status: o.status, limit: Number(o.limit) });
        if (o.json) printJson(rows);
        else {
          const view = rows.map((r) => ({
            queued: r.created_at instanceof Date ? r.created_at.toISOString().replace('T', ' ').slice(0, 19) : r.created_at,
            node: r.node_key,
            app: r.app_namespace,
            status: r.deploy_status,
            trigger: r.triggered_by,
            build: r.build_duration_ms === null ? '' : ms(r.build_duration_ms),
            pages: r.pages_count ?? '',
            release: r.release_id ?? '',
            hash: r.build_hash ? r.build_hash.slice(0, 12) : '',
            error: r.error_message ? r.error_message.slice(0, 80) : '',
          }));
          process.stdout.write(renderTable(['queued', 'node', 'app', 'status', 'trigger', 'build', 'pages', 'release', 'hash', 'error'], view) + '\n');
        }
        return EXIT.ok;
      });
    }),
  );
}

function pagesCommand(): Command {
  const cmd = new Command('pages')
    .summary('list CMS pages')
    .addOption(new Option('--app <app>', 'only this app'))
    .addOption(new Option('--status <status>', 'draft, published or archived'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks pages --app play\n  $ robbieverse blocks pages --status published --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: BlocksOptions & { app?: string; status?: string }) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks pages' }, async (opened) => {
        const rows = await listPages(opened.db, { app: o.app, status: o.status });
        if (o.json) printJson(rows);
        else process.stdout.write(renderTable(['app_namespace', 'page_route', 'page_key', 'layout_template', 'status', 'version', 'blocks'], rows as unknown as Record<string, unknown>[]) + '\n');
        return EXIT.ok;
      });
    }),
  );
}

function statusCommand(): Command {
  const cmd = new Command('status')
    .summary('what is live per node and app, and the queue')
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks status\n  $ robbieverse blocks status --json | jq '.sites[] | select(.live_release == null)'`);
  dbOptions(withRoot(cmd), { json: true });
  return cmd.action(
    action(async (o: BlocksOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks status' }, async (opened, cfg) => {
        const root = deployRootFrom(o, cfg);
        const s = await blocksStatus(opened.db, root);
        if (o.json) printJson({ deploy_root: root, ...s });
        else {
          const out = [`sites: ${root}`, `queue: ${s.unprocessed_changes} unprocessed change${s.unprocessed_changes === 1 ? '' : 's'}${s.oldest_unprocessed ? ` (oldest ${new Date(s.oldest_unprocessed).toISOString()})` : ''}${s.manual_only_changes ? `, ${s.manual_only_changes} waiting for a manual deploy` : ''}`];
          const view = s.sites.map((x) => ({
            node: x.node_key,
            app: x.app,
            enabled: x.enabled ? 'yes' : 'no',
            live: x.live_release ?? (x.enabled ? color.yellow('(none)') : '(withdrawn)'),
            releases: x.releases.length,
            last: x.last_deploy ? `${x.last_deploy.status} (${x.last_deploy.triggered_by})` : '',
            active: x.active ? x.active.status : '',
            error: x.last_deploy?.error_message?.slice(0, 60) ?? '',
          }));
          out.push(renderTable(['node', 'app', 'enabled', 'live', 'releases', 'last', 'active', 'error'], view));
          process.stdout.write(out.join('\n') + '\n');
        }
        return EXIT.ok;
      });
    }),
  );
}

function componentsCommand(): Command {
  const c = new Command('components').summary('the bundled component library').description('Register (sync) or list the bundled RobbieBlocks components.');
  const sync = new Command('sync')
    .summary('register the bundled components in the database (idempotent)')
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks components sync\n  $ robbieverse blocks components sync --json`);
  dbOptions(sync, { json: true });
  sync.action(
    action(async (o: BlocksOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks components sync' }, async (opened) => {
        const r = await registerComponentLibrary(opened.db);
        if (o.json) printJson(r);
        else if (r.skipped.length) {
          process.stdout.write(`components: none written: this database is a sync node, it receives the library from the master\n`);
        } else {
          const changed = [...r.inserted, ...r.updated];
          process.stdout.write(
            `components: ${r.inserted.length} added, ${r.updated.length} updated, ${r.unchanged.length} unchanged` +
              `${changed.length ? `\n  ${changed.join(', ')}` : ''}\n`,
          );
        }
        return EXIT.ok;
      });
    }),
  );
  const list = new Command('list').summary('list the bundled components').addOption(new Option('--json', 'print as JSON'));
  list.action(
    action(async (o: { json?: boolean }) => {
      const lib = loadComponentLibrary().map((x) => ({ key: x.key, name: x.name, type: x.type, version: x.version, description: x.description }));
      if (o.json) printJson(lib);
      else process.stdout.write(renderTable(['key', 'name', 'type', 'version', 'description'], lib) + '\n');
    }),
  );
  return c.addCommand(sync).addCommand(list);
}

function demoCommand(): Command {
  const cmd = new Command('demo')
    .summary('seed a small demo site per app (idempotent)')
    .description('Registers the component library and adds published demo pages for the play, work and code apps (home, notes, sign-in). Existing pages are left alone. A running worker then builds every node that has the app enabled.')
    .addOption(new Option('--app <app...>', 'only these apps').default(['play', 'work', 'code']))
    .addHelpText('after', `\nExamples:\n  $ robbieverse blocks demo && robbieverse blocks worker --once\n  $ robbieverse blocks demo --app play`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: BlocksOptions & { app: string[] }) => {
      return withCommandDatabase(o, { command: 'robbieverse blocks demo' }, async (opened) => {
        const r = await seedDemoContent(opened.db, { apps: o.app });
        if (o.json) printJson(r);
        else process.stdout.write(`demo pages: ${r.pagesCreated.length} created${r.pagesCreated.length ? ` (${r.pagesCreated.join(', ')})` : ''}, ${r.pagesKept.length} already there\n`);
        return EXIT.ok;
      });
    }),
  );
}

export function blocksCommand(): Command {
  return new Command('blocks')
    .summary('RobbieBlocks: build, deploy and roll back the apps made of CMS pages')
    .description('RobbieBlocks builder: pages, components, design tokens and per-node branding in the database become static React apps, one per (node, app).')
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse blocks demo                     # demo pages for play, work and code
  $ robbieverse blocks worker                   # build on every change until Ctrl-C
  $ robbieverse blocks status                   # what is live where
  $ robbieverse blocks deploy vengeance-local play
  $ robbieverse blocks rollback vengeance-local play`,
    )
    .addCommand(workerCommand())
    .addCommand(statusCommand())
    .addCommand(deploysCommand())
    .addCommand(pagesCommand())
    .addCommand(deployCommand())
    .addCommand(rollbackCommand())
    .addCommand(componentsCommand())
    .addCommand(demoCommand());
}
