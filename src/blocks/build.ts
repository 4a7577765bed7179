import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../db/types.js';
import type { DeployJob } from './claim.js';
import type { BlocksEventHandler, BuildStep } from './events.js';
import { generateProject } from './generate.js';
import { contentHash } from './hash.js';
import { sitePaths } from './paths.js';
import { recordDeploy, markDeploying } from './record.js';
import { directoryBytes, newReleaseId, publishRelease, pruneReleases, readCurrent, stagingDir, withdrawCurrent } from './releases.js';
import { readSnapshot } from './snapshot.js';
import { validateSnapshot } from './validate.js';
import { copyVendor, ensureVendor, vendorImports, VendorBuildError, vendorUrlDir } from './vendor.js';
import { BUILDER_VERSION, toolchainHash } from './version.js';
import { LOG_TAIL, runViteBuild } from './vite-build.js';

export const DEFAULT_KEEP_RELEASES = 5;

export interface BuildOptions {
  deployRoot: string;
  /** Successful releases kept per (node, app); the live one and the one before it are always kept. */
  keepReleases?: number;
  /** Retries after an infrastructure error (not after a validation error). */
  retries?: number;
  /** First retry delay; doubles each time. */
  retryBaseMs?: number;
  /** Where scratch projects are generated (default: the OS temp directory). */
  scratchRoot?: string;
  onEvent?: BlocksEventHandler;
  logger?: Logger;
}

export interface DeployOutcome {
  deployId: string;
  nodeKey: string;
  app: string;
  status: 'success' | 'skipped' | 'failed' | 'withdrawn';
  releaseId: string | null;
  hash: string | null;
  ms: number;
  error?: string;
}

class Steps {
  readonly lines: string[] = [];
  constructor(
    private readonly deployId: string,
    private readonly onEvent?: BlocksEventHandler,
  ) {}
  async run<T>(step: BuildStep, fn: () => Promise<T> | T): Promise<T> {
    const t0 = Date.now();
    const out = await fn();
    const ms = Date.now() - t0;
    this.lines.push(`${step}: ${ms} ms`);
    this.onEvent?.({ type: 'build-step', deployId: this.deployId, step, ms });
    return out;
  }
  log(): string {
    return this.lines.join('\n');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function firstLines(s: string, n: number): string {
  return s.split('\n').filter((l) => l.trim()).slice(0, n).join(' | ');
}

/**
 * Builds and deploys one claimed deploy (BLOCKS.md §3.2): snapshot → validate → hash → vendor
 * modules (built once per toolchain) → generate → Vite → atomic switch → record. Never throws for
 * a build problem: the deploy row says what happened. Infrastructure errors are retried with
 * backoff; validation errors are final.
 */
export async function runDeploy(db: Db, job: DeployJob, o: BuildOptions): Promise<DeployOutcome> {
  const t0 = Date.now();
  const retries = o.retries ?? 3;
  let lastErr: Error | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      return await attemptDeploy(db, job, o, t0);
    } catch (err) {
      lastErr = err as Error;
      o.logger?.warn({ err: lastErr.message, deploy: job.id, attempt }, 'RobbieBlocks build attempt failed');
      if (attempt === retries) break;
      const delayMs = (o.retryBaseMs ?? 1000) * 2 ** attempt;
      o.onEvent?.({ type: 'build-retry', deployId: job.id, attempt: attempt + 1, delayMs, error: lastErr.message });
      await sleep(delayMs);
    }
  }
  const error = `build failed after ${retries + 1} attempts: ${lastErr?.message ?? 'unknown error'}`;
  const outcome: DeployOutcome = { deployId: job.id, nodeKey: job.node_key, app: job.app_namespace, status: 'failed', releaseId: null, hash: null, ms: Date.now() - t0, error };
  await recordDeploy(db, job.id, { status: 'failed', error_message: error.slice(0, 2000), build_log: ((lastErr as Error & { buildLog?: string })?.buildLog ?? lastErr?.stack ?? '').slice(-LOG_TAIL), builder_version: BUILDER_VERSION }, hint(job)).catch((err) => {
    o.logger?.error({ err: (err as Error).message, deploy: job.id }, 'cannot record the failed deploy; its lease will close it');
  });
  return outcome;
}

const hint = (job: DeployJob) => ({ node_id: job.node_id, node_key: job.node_key, app: job.app_namespace });

async function attemptDeploy(db: Db, job: DeployJob, o: BuildOptions, t0: number): Promise<DeployOutcome> {
  const steps = new Steps(job.id, o.onEvent);
  const paths = sitePaths(o.deployRoot, job.node_key, job.app_namespace);
  const base = { deployId: job.id, nodeKey: job.node_key, app: job.app_namespace };
  const snap = await steps.run('snapshot', () => readSnapshot(db, job.node_id, job.app_namespace));

  if (!snap.branding || !snap.branding.enabled_apps.includes(job.app_namespace)) {
    const withdrawn = withdrawCurrent(paths);
    const why = snap.branding ? `app "${job.app_namespace}" is not in enabled_apps of node ${job.node_key}` : `node ${job.node_key} has no branding row`;
    await recordDeploy(db, job.id, { status: withdrawn ? 'success' : 'skipped', pages_count: 0, components_count: 0, build_log: `${withdrawn ? 'withdrawn' : 'nothing live to withdraw'}: ${why}`, builder_version: BUILDER_VERSION, build_duration_ms: 0, deploy_duration_ms: 0 }, { ...hint(job), withdrawn: true });
    return { ...base, status: withdrawn ? 'withdrawn' : 'skipped', releaseId: null, hash: null, ms: Date.now() - t0 };
  }

  const issues = await steps.run('validate', () => validateSnapshot(snap));
  if (issues.length) {
    const first = issues[0]!.message;
    const error = `validation failed: ${first}${issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : ''}`;
    await recordDeploy(db, job.id, { status: 'failed', error_message: error, build_log: [...steps.lines, ...issues.map((i) => `error: ${i.message}`)].join('\n').slice(-LOG_TAIL), pages_count: snap.pages.length, builder_version: BUILDER_VERSION, build_duration_ms: Date.now() - t0 }, hint(job));
    return { ...base, status: 'failed', releaseId: null, hash: null, ms: Date.now() - t0, error };
  }

  const hash = await steps.run('hash', () => contentHash(snap));
  const live = readCurrent(paths);
  if (live && live.manifest.build_hash === hash && live.manifest.deploy_id === job.id) {
    // An earlier attempt of this very deploy published the release, then lost the database
    // before recording it: the deploy did succeed, with that release.
    const log = `${steps.log()}\nrelease ${live.releaseId} was published by an earlier attempt of this deploy; recorded on retry`;
    await recordDeploy(db, job.id, { status: 'success', build_hash: hash, release_id: live.releaseId, pages_count: live.manifest.pages_count, components_count: live.manifest.components_count, artifact_bytes: directoryBytes(live.dir), build_log: log, builder_version: BUILDER_VERSION, build_duration_ms: Date.now() - t0 }, hint(job));
    return { ...base, status: 'success', releaseId: live.releaseId, hash, ms: Date.now() - t0 };
  }
  if (live && live.manifest.build_hash === hash) {
    await recordDeploy(db, job.id, { status: 'skipped', build_hash: hash, release_id: live.releaseId, pages_count: snap.pages.length, components_count: new Set(snap.blocks.map((b) => b.component_id)).size, build_log: steps.log() + `\nunchanged: release ${live.releaseId} has this hash`, builder_version: BUILDER_VERSION, build_duration_ms: Date.now() - t0 }, hint(job));
    return { ...base, status: 'skipped', releaseId: live.releaseId, hash, ms: Date.now() - t0 };
  }

  const scratch = fs.mkdtempSync(path.join(o.scratchRoot ?? os.tmpdir(), 'robbieblocks-build-'));
  const releaseId = newReleaseId(job.id);
  const staging = stagingDir(paths, releaseId);
  try {
    const tBuild = Date.now();
    const { vendor, built } = await steps.run('vendor', async () => {
      try {
        return await ensureVendor(o.deployRoot, { scratchRoot: o.scratchRoot });
      } catch (e) {
        const err = new Error(e instanceof VendorBuildError ? e.message : `cannot build the vendor modules: ${(e as Error).message}`) as Error & { buildLog?: string };
        err.buildLog = steps.log() + '\n' + (e instanceof VendorBuildError ? e.buildLog : ((e as Error).stack ?? String(e)));
        throw err;
      }
    });
    steps.lines.push(`vendor ${vendorUrlDir(vendor)}: ${built ? 'built now' : 'already built'} (${vendor.dir})`);
    const gen = await steps.run('generate', () => generateProject(scratch, snap));
    const vite = await steps.run('vite', () => runViteBuild(scratch, staging, vendorImports(vendor)));
    if (!vite.ok) {
      const err = new Error(`vite build failed: ${firstLines(vite.log.split(/error/i).slice(1).join('error') || vite.log, 3).slice(0, 500)}`) as Error & { buildLog?: string };
      err.buildLog = steps.log() + '\n' + vite.log;
      throw err;
    }
    copyVendor(vendor, staging);
    const buildMs = Date.now() - tBuild;
    const tDeploy = Date.now();
    await markDeploying(db, job.id);
    const artifactBytes = directoryBytes(staging);
    await steps.run('deploy', () =>
      publishRelease(paths, staging, {
        release_id: releaseId,
        deploy_id: job.id,
        node_id: job.node_id,
        node_key: job.node_key,
        app: job.app_namespace,
        build_hash: hash,
        pages_count: gen.pages,
        components_count: gen.components,
        builder_version: BUILDER_VERSION,
        toolchain_hash: toolchainHash(),
      }),
    );
    pruneReleases(paths, o.keepReleases ?? DEFAULT_KEEP_RELEASES);
    const deployMs = Date.now() - tDeploy;
    await steps.run('record', () =>
      recordDeploy(db, job.id, {
        status: 'success',
        build_hash: hash,
        pages_count: gen.pages,
        components_count: gen.components,
        build_duration_ms: buildMs,
        deploy_duration_ms: deployMs,
        release_id: releaseId,
        artifact_bytes: artifactBytes,
        builder_version: BUILDER_VERSION,
        build_log: (steps.log() + '\n' + vite.log).slice(-LOG_TAIL),
      }, hint(job)),
    );
    return { ...base, status: 'success', releaseId, hash, ms: Date.now() - t0 };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
