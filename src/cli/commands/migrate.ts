import { Command, Option } from 'commander';
import { EXIT } from '../../errors.js';
import { migrateOrUpgrade } from '../../migrate/legacy/migrate-or-upgrade.js';
import { action, dbOptions, describeTarget, migrationsFrom, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, ms, printJson } from '../output.js';
import { migrationProgress, upgradeProgress, upgradeSummary } from '../progress.js';

export function migrateCommand(): Command {
  const cmd = new Command('migrate')
    .summary('apply pending migrations')
    .description(
      'Applies every pending migration in order, each in its own transaction, and records it with its checksum.\n' +
        'Refuses, changing nothing, when an applied migration was edited, removed or renumbered, or the database\n' +
        'is ahead of this code. On a server, concurrent runs wait for each other (advisory lock).',
    )
    .addOption(new Option('--lock-timeout <duration>', 'how long to wait for another migrator and for table locks').default('60s'))
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse db migrate                         # the embedded database in ./.robbieverse
  $ robbieverse db migrate --url postgres://app@localhost/robbie
  $ DATABASE_URL=postgres://… robbieverse db migrate --json
  $ robbieverse db migrate --migrations ./my-migrations --url memory://

A legacy Aurora database is upgraded in place first: backup, additive changes, org_id backfilled in
batches, verified against checksums taken before (docs/legacy-upgrade.md). Interrupted, it resumes.

Exit codes: 0 applied or up to date · 1 a migration failed (rolled back) · 3 drift (nothing changed) or a failed upgrade check
            4 another process holds the database · 5 cannot connect`,
    );
  dbOptions(cmd, { migrations: true, json: true });
  legacyUpgradeOptions(cmd);
  return cmd.action(
    action(async (o: DbCommandOptions & LegacyUpgradeFlags) => {
      const files = migrationsFrom(o);
      return withCommandDatabase(o, { command: 'robbieverse db migrate' }, async (opened, cfg) => {
        if (!o.json) process.stderr.write(color.dim(`database: ${describeTarget(opened)}\n`));
        const outcome = await migrateOrUpgrade(opened.db, {
          files,
          lockTimeoutMs: cfg.lockTimeoutMs,
          ...upgradeFlags(o),
          onMigrate: o.json ? undefined : migrationProgress(),
          onUpgrade: o.json ? undefined : upgradeProgress(),
        });
        if (outcome.kind === 'upgraded') {
          if (o.json) printJson({ database: opened.db.location, upgrade: outcome.report, applied: outcome.then.applied });
          else process.stderr.write(upgradeSummary(outcome.report));
          return outcome.report.ok ? EXIT.ok : EXIT.drift;
        }
        const result = outcome.result;
        if (o.json) printJson({
            database: opened.db.location, applied: result.applied, alreadyApplied: result.alreadyApplied, library: result.library,
            capabilities: result.capabilities, ms: result.ms });
        else if (result.applied.length) process.stderr.write(`${color.green('✓')} applied ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} in ${ms(result.ms)}\n`);
      });
    }),
  );
}

export interface LegacyUpgradeFlags {
  backupDir: string;
  backup: boolean;
  batchSize?: number;
}

/** Options for the in-place upgrade a legacy Aurora database gets from `db migrate` and `up`. */
export function legacyUpgradeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backup-dir <dir>', 'legacy upgrade: where the backup taken before any change goes').default('backups'))
    .addOption(new Option('--no-backup', 'legacy upgrade: skip the backup (only if you have your own)'))
    .addOption(new Option('--batch-size <n>', 'legacy upgrade: rows per backfill transaction').argParser((v) => Number(v)));
}

export function upgradeFlags(o: LegacyUpgradeFlags): { backupDir: string; noBackup: boolean; batchSize?: number } {
  return { backupDir: o.backupDir, noBackup: !o.backup, batchSize: o.batchSize };
}
