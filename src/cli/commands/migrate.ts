import { Command, Option } from 'commander';
import { migrate } from '../../migrate/runner.js';
import { action, dbOptions, describeTarget, migrationsFrom, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, ms, printJson } from '../output.js';
import { migrationProgress } from '../progress.js';

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

Exit codes: 0 applied or up to date · 1 a migration failed (rolled back) · 3 drift (nothing changed)
            4 another process holds the database · 5 cannot connect`,
    );
  dbOptions(cmd, { migrations: true, json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) => {
      const files = migrationsFrom(o);
      return withCommandDatabase(o, { command: 'robbieverse db migrate' }, async (opened, cfg) => {
        if (!o.json) process.stderr.write(color.dim(`database: ${describeTarget(opened)}\n`));
        const result = await migrate(opened.db, { files, lockTimeoutMs: cfg.lockTimeoutMs, onEvent: o.json ? undefined : migrationProgress() });
        if (o.json) printJson({ database: opened.db.location, applied: result.applied, alreadyApplied: result.alreadyApplied, capabilities: result.capabilities, ms: result.ms });
        else if (result.applied.length) process.stderr.write(`${color.green('✓')} applied ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} in ${ms(result.ms)}\n`);
      });
    }),
  );
}
