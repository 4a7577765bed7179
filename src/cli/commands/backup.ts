import { Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { backupDatabase, restoreEmbeddedDatabase, restoreServerDatabase } from '../../db/backup.js';
import { PgliteDb } from '../../db/pglite.js';
import { PostgresDb } from '../../db/postgres.js';
import { RobbieverseError } from '../../errors.js';
import { action, dbOptions, describeTarget, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, printJson } from '../output.js';

export function backupCommand(): Command {
  const cmd = new Command('backup')
    .summary('back up the whole database to a file, verified')
    .description(
      'A server: a pg_dump custom-format archive, checked with pg_restore --list. The embedded database:\n' +
        'a dump of its data directory (re-importable into PGlite). Files are never overwritten; the path,\n' +
        'size and SHA-256 are printed.',
    )
    .addOption(new Option('--backup-dir <dir>', 'where to write the file').default('backups'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse db backup\n  $ robbieverse db backup --url postgres://app@localhost/robbie --backup-dir /var/backups/robbie --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { backupDir: string }) =>
      withCommandDatabase(o, { command: 'robbieverse db backup' }, async (opened) => {
        const info = await backupDatabase(opened.db, path.resolve(o.backupDir));
        if (o.json) printJson(info);
        else process.stdout.write(`${color.green('✓')} backed up the ${describeTarget(opened)}\n  file:   ${info.path}\n  size:   ${info.bytes} bytes\n  sha256: ${info.sha256}\n  restore: robbieverse db restore ${info.path} --yes\n`);
      }),
    ),
  );
}

export function restoreCommand(): Command {
  const cmd = new Command('restore')
    .summary('replace the database with a backup file')
    .description(
      'Puts a backup made by `db backup` (or by the legacy upgrade) back. A server database is emptied and\n' +
        'restored from the pg_dump archive; an embedded data directory is moved aside (kept, path printed)\n' +
        'and replaced. Asks for --yes.',
    )
    .argument('<file>', 'a .dump (server) or .pglite.tar.gz (embedded) backup')
    .addOption(new Option('--yes', 'confirm that the current contents may be replaced'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse db restore backups/robbie-20261122T031500Z-pre-upgrade.dump --yes`);
  dbOptions(cmd);
  return cmd.action(
    action(async (file: string, o: DbCommandOptions & { yes?: boolean }) => {
      if (!fs.existsSync(file)) throw new RobbieverseError('E_USAGE', `no such backup file: ${file}`);
      const embeddedFile = file.endsWith('.pglite.tar.gz');
      await withCommandDatabase(o, { command: 'robbieverse db restore', exclusive: true }, async (opened) => {
        if (!o.yes) {
          throw new RobbieverseError('E_USAGE', `this would replace everything in the ${describeTarget(opened)} with ${file}`, {
            hint: 'run again with --yes if that is what you want',
          });
        }
        if (opened.db instanceof PostgresDb) {
          if (embeddedFile) throw new RobbieverseError('E_USAGE', `${file} is an embedded (PGlite) backup; restore it with --home, not into a server`);
          await restoreServerDatabase(opened.db, file);
          process.stderr.write(`${color.green('✓')} restored ${file} into the ${describeTarget(opened)}\n`);
        } else if (opened.db instanceof PgliteDb && opened.dataDir) {
          if (!embeddedFile) throw new RobbieverseError('E_USAGE', `${file} is not an embedded backup (.pglite.tar.gz); restore a .dump into a server with --url`);
          await opened.db.close();
          const aside = await restoreEmbeddedDatabase(opened.dataDir, file);
          process.stderr.write(`${color.green('✓')} restored ${file} into ${opened.dataDir}${aside ? `\n  the previous data directory was kept at ${aside}` : ''}\n`);
        } else throw new RobbieverseError('E_USAGE', 'restore needs a server (--url) or an embedded home (--home), not memory://');
      });
    }),
  );
}
