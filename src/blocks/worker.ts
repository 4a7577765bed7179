import type { Logger } from 'pino';
import type { Db, Listener } from '../db/types.js';
import { runDeploy, type BuildOptions, type DeployOutcome } from './build.js';
import { claimDeploy, newBuilderId } from './claim.js';
import type { BlocksEvent, BlocksEventHandler } from './events.js';
import { registerComponentLibrary } from './library.js';
import { DEFAULT_LEASE_MS, expireLeases } from './lease.js';
import { queueOutdatedSites } from './outdated.js';
import { planDeploys } from './plan.js';
import { servedNodes } from './served.js';

export interface BlocksWorkerOptions {
  db: Db;
  deployRoot: string;
  /** Node keys this builder serves; default: every node with a branding row. */
  nodeKeys?: string[];
  logger?: Logger;
  /** After a notification, wait this long without another one before building (a burst → one build). */
  quietMs?: number;
  /** Re-read the queue this often even without notifications. */
  pollMs?: number;
  /** A deploy in building/deploying longer than this is closed as interrupted. */
  leaseMs?: number;
  keepReleases?: number;
  retries?: number;
  retryBaseMs?: number;
  /**
   * Register the bundled component library (idempotent; `db migrate` did it already unless the code
   * changed since) before the first build. Default true. On a sync node it writes nothing: the
   * library comes from the master.
   */
  syncComponents?: boolean;
  /** At start, queue builds of enabled apps with no live release or one built by another toolchain. Default true. */
  rebuildOutdated?: boolean;
  onEvent?: BlocksEventHandler;
  onDeploy?: (o: DeployOutcome) => void;
}

export interface BlocksWorker {
  readonly builderId: string;
  /** Stops listening and polling; waits for a build in progress to finish. */
  stop(): Promise<void>;
  /** Resolves when nothing is running or scheduled (the queue was drained at that moment). */
  idle(): Promise<void>;
  /** Run a cycle now (plan + build everything pending), e.g. after a manual deploy request. */
  wake(): void;
}

/**
 * The builder service (BLOCKS.md §2.5): LISTEN robbieblocks_change, drain the backlog at start,
 * coalesce bursts with a quiet period, poll as a fallback and re-read after a reconnect. One
 * build at a time; on PGlite everything runs in-process on its single connection.
 */
export async function startBlocksWorker(opts: BlocksWorkerOptions): Promise<BlocksWorker> {
  const builderId = newBuilderId();
  const quietMs = opts.quietMs ?? 2000;
  const pollMs = opts.pollMs ?? 60_000;
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const emit = (e: BlocksEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      /* a handler's bug must not stop the builder */
    }
  };
  const build: BuildOptions = {
    deployRoot: opts.deployRoot,
    keepReleases: opts.keepReleases,
    retries: opts.retries,
    retryBaseMs: opts.retryBaseMs,
    onEvent: emit,
    logger: opts.logger,
  };

  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  let dirty = false;
  let firstNotifyAt = 0;
  let failures = 0;
  let idleWaiters: (() => void)[] = [];

  const settleIdle = () => {
    if (running || timer || dirty) return;
    const w = idleWaiters;
    idleWaiters = [];
    w.forEach((f) => f());
  };

  /** Runs a cycle after `delayMs`, unless one is already due sooner. */
  const schedule = (delayMs: number) => {
    if (stopped) return;
    const at = Date.now() + delayMs;
    if (running) {
      dirty = true;
      return;
    }
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      void cycle();
    }, delayMs);
  };

  const onNotify = () => {
    // Quiet period: every notification pushes the build back, but never past 5 quiet periods.
    const now = Date.now();
    if (!timer && !running) firstNotifyAt = now;
    if (running) {
      dirty = true;
      return;
    }
    const latest = firstNotifyAt + 5 * quietMs;
    const delay = Math.max(0, Math.min(quietMs, latest - now));
    if (timer) clearTimeout(timer);
    timer = undefined;
    schedule(delay);
  };

  let nodeIds: string[] | null = null;
  const cycle = async (): Promise<void> => {
    if (stopped || running) return;
    dirty = false;
    running = (async () => {
      try {
        const nodes = await servedNodes(opts.db, opts.nodeKeys);
        nodeIds = nodes.map((n) => n.id);
        for (const e of await expireLeases(opts.db, leaseMs, builderId)) {
          emit({ type: 'lease-expired', deployId: e.id, nodeKey: e.node_key, app: e.app_namespace, reason: e.reason });
        }
        for (;;) {
          if (stopped) break;
          const p = await planDeploys(opts.db);
          if (p.changes || p.deploys || p.deferred) emit({ type: 'planned', ...p });
          const job = nodeIds.length ? await claimDeploy(opts.db, nodeIds, builderId) : null;
          if (!job) break;
          emit({ type: 'build-start', deployId: job.id, nodeKey: job.node_key, app: job.app_namespace, triggeredBy: job.triggered_by });
          const out = await runDeploy(opts.db, job, build);
          emit({ type: 'build-done', deployId: out.deployId, nodeKey: out.nodeKey, app: out.app, status: out.status, releaseId: out.releaseId, hash: out.hash, ms: out.ms, error: out.error });
          opts.onDeploy?.(out);
        }
        failures = 0;
      } catch (err) {
        failures++;
        const msg = (err as Error).message;
        opts.logger?.warn({ err: msg }, 'RobbieBlocks worker cycle failed; retrying');
        emit({ type: 'error', where: 'cycle', error: msg });
        dirty = false;
        running = undefined;
        schedule(Math.min(pollMs, 250 * 2 ** Math.min(failures, 6)));
        return;
      }
    })();
    try {
      await running;
    } finally {
      running = undefined;
      if (dirty && !stopped) {
        dirty = false;
        schedule(quietMs);
      }
      settleIdle();
    }
  };

  if (opts.syncComponents ?? true) await registerComponentLibrary(opts.db);
  if (opts.rebuildOutdated ?? true) await queueOutdatedSites(opts.db, opts.deployRoot, opts.nodeKeys);

  // LISTEN first, then drain: a change committed in between is seen by one or the other.
  const listener: Listener = await opts.db.listen(
    ['robbieblocks_change', 'robbieblocks_planned'],
    {
      onNotify,
      onReconnect: () => {
        emit({ type: 'reconnect' });
        schedule(0);
      },
      onError: (err) => emit({ type: 'error', where: 'listen', error: err.message }),
    },
    { logger: opts.logger },
  );
  const poll = setInterval(() => schedule(0), pollMs);
  poll.unref?.();
  emit({ type: 'worker-start', builderId, nodes: opts.nodeKeys?.length ? opts.nodeKeys : 'all-branded' });
  schedule(0);

  return {
    builderId,
    wake: () => schedule(0),
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      timer = undefined;
      await listener.close().catch(() => {});
      await running?.catch(() => {});
      emit({ type: 'worker-stop', builderId });
      const w = idleWaiters;
      idleWaiters = [];
      w.forEach((f) => f());
    },
  };
}
