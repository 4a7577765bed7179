import type { Db } from '../../db/types.js';
import type { MigrationFile } from '../files.js';
import { migrate, type MigrateEvent, type MigrateResult } from '../runner.js';
import { detectDatabaseState } from './detect.js';
import { upgradeLegacy, type UpgradeEvent, type UpgradeReport } from './upgrade.js';

export interface MigrateOrUpgradeOptions {
  files: MigrationFile[];
  lockTimeoutMs?: number;
  backupDir?: string;
  noBackup?: boolean;
  batchSize?: number;
  onMigrate?: (e: MigrateEvent) => void;
  onUpgrade?: (e: UpgradeEvent) => void;
}

export type MigrateOrUpgradeResult = { kind: 'migrated'; result: MigrateResult } | { kind: 'upgraded'; report: UpgradeReport; then: MigrateResult };

/** Whether an in-place legacy upgrade was started here and has not finished all its steps. */
async function unfinishedUpgrade(db: Db): Promise<boolean> {
  const t = await db.query<{ t: string | null }>(`SELECT to_regclass('robbieverse_meta.legacy_upgrade')::text AS t`);
  if (t.rows[0]?.t == null) return false;
  const done = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM robbieverse_meta.legacy_upgrade WHERE step = 'verify' AND status = 'done'`);
  return done.rows[0]!.n === 0;
}

/**
 * What `db migrate` and `up` do: a legacy Aurora database (or one whose upgrade was
 * interrupted) is upgraded in place first; then, as for every database, pending migrations run.
 */
export async function migrateOrUpgrade(db: Db, opts: MigrateOrUpgradeOptions): Promise<MigrateOrUpgradeResult> {
  const state = await detectDatabaseState(db);
  if (state.kind === 'legacy-aurora' || (await unfinishedUpgrade(db))) {
    const report = await upgradeLegacy(db, {
      files: opts.files,
      backupDir: opts.backupDir,
      noBackup: opts.noBackup,
      batchSize: opts.batchSize,
      onEvent: opts.onUpgrade,
    });
    const then = await migrate(db, { files: opts.files, lockTimeoutMs: opts.lockTimeoutMs, onEvent: opts.onMigrate });
    return { kind: 'upgraded', report, then };
  }
  return { kind: 'migrated', result: await migrate(db, { files: opts.files, lockTimeoutMs: opts.lockTimeoutMs, onEvent: opts.onMigrate }) };
}
