import { Command, Option } from 'commander';
import { resetServerDatabase, removeDataDir } from '../../db/reset.js';
import { RobbieverseError } from '../../errors.js';
import { migrate } from '../../migrate/runner.js';
import { configFrom, dbOptions, describeTarget, makeLogger, migrationsFrom, withDatabase, action, type DbCommandOptions } from '../context.js';
import { color } from '../output.js';
import { migrationProgress } from '../progress.js';

export function resetCommand(): Command {
  const cmd = new Command('reset')
    .summary('delete everything and migrate again (development)')
    .description(
      'Deletes every table and row: the embedded data directory, or on a server the schemas public and\n' +
        'robbieverse_meta. Then applies all migrations again, unless --empty. Asks for --yes.',
    )
    .addOption(new Option('--yes', 'confirm that all data in the database may be deleted'))
    .addOption(new Option('--empty', 'leave the database empty (do not migrate again)'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse db reset --yes\n  $ robbieverse db reset --yes --url postgres://dev@localhost/robbie_dev`);
  dbOptions(cmd, { migrations: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { yes?: boolean; empty?: boolean }) => {
      const cfg = await configFrom(o);
      const files = migrationsFrom(o);
      const open = { command: 'robbieverse db reset', exclusive: true, logger: await makeLogger(cfg) };
      await withDatabase(cfg, open, async (opened) => {
        if (!o.yes) {
          throw new RobbieverseError('E_USAGE', `this would delete every table and row in the ${describeTarget(opened)}`, {
            hint: 'run again with --yes if that is what you want',
          });
        }
        if (!opened.db.capabilities.serverProcess && opened.dataDir) {
          await opened.db.close();
          removeDataDir(opened.dataDir);
        } else await resetServerDatabase(opened.db);
        process.stderr.write(`${color.green('✓')} emptied the ${describeTarget(opened)}\n`);
      });
      if (o.empty) return;
      await withDatabase(cfg, open, (opened) => migrate(opened.db, { files, lockTimeoutMs: cfg.lockTimeoutMs, onEvent: migrationProgress() }));
    }),
  );
}
