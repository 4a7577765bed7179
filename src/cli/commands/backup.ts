import { Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { backupDatabase, restoreServerDatabase, type BackupInfo } from '../../db/backup.js';
import { requestBackup } from '../../db/control-client.js';
import { HomeLock, lockedError, lockHolder, tightenedNotice } from '../../db/home-lock.js';
import { restoreEmbeddedHome, type RestoreStep } from '../../db/restore-embedded.js';
import { recoverInterruptedRestore } from '../../db/restore-journal.js';
import { RobbieverseError } from '../../errors.js';
import { action, configFrom, dbOptions, describeTarget, migrationsFrom, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, printJson } from '../output.js';

const say = (s: string) => process.stderr.write(s);

/**
 * Before a command opens an embedded home nobody holds: make it owner-only, and finish (or
 * discard) a restore that was killed half-way, under the home lock.
 */
function tidyHome(home: string, command: string): void {
  if (lockHolder(home) || !fs.existsSync(home)) return;
  const lock = HomeLock.acquire(home, command);
  try {
    if (lock.tightenedFrom !== undefined) say(`${tightenedNotice(home, lock.tightenedFrom)}\n`);
    const r = recoverInterruptedRestore(home);
    if (r.message) say(`${color.yellow('!')} ${r.message}\n`);
  } finally {
    lock.releaseSync();
  }
}

function printBackup(info: BackupInfo, what: string, json?: boolean): void {
  if (json) printJson(info);
  else process.stdout.write(`${color.green('✓')} backed up the ${what}\n  file:   ${info.path}\n  size:   ${info.bytes} bytes\n  sha256: ${info.sha256}\n  restore: robbieverse db restore ${info.path} --yes\n`);
}

export function backupCommand(): Command {
  const cmd = new Command('backup')
    .summary('back up the whole database to a file, verified')
    .description(
      'A server: a pg_dump custom-format archive, read end to end with pg_restore. The embedded database:\n' +
        'a gzipped tarball of its data directory (re-importable into PGlite), checked; while `robbieverse up`\n' +
        'holds the home, up makes it (through its control channel, control.sock in the home). Files are\n' +
        'owner-only (0600), never overwritten and never left half-written; the path, size and SHA-256 are printed.',
    )
    .addOption(new Option('--backup-dir <dir>', 'where to write the file (created 0700 if missing)').default('backups'))
    .addOption(new Option('--label <label>', 'part of the file name ([A-Za-z0-9._-])').default('backup'))
    .addHelpText(
      'after',
      `\nExamples:\n  $ robbieverse db backup\n  $ robbieverse db backup --home /var/lib/robbieverse     # also while \`up\` runs there\n  $ robbieverse db backup --url postgres://app@localhost/robbie --backup-dir /var/backups/robbie --json`,
    );
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { backupDir: string; label: string }) => {
      const dir = path.resolve(o.backupDir);
      const cfg = await configFrom(o);
      if (!cfg.url) {
        const holder = lockHolder(cfg.home);
        if (holder) {
          const info = await requestBackup(cfg.home, dir, o.label);
          if (!info) {
            throw new RobbieverseError('E_HOME_LOCKED', `${cfg.home} is held by process ${holder.pid} (${holder.command}), which offers no control channel to back it up`, {
              hint: `stop process ${holder.pid} and run again (a robbieverse up of this version backs up while running); nothing was written`,
            });
          }
          return printBackup(info, `embedded database in ${cfg.home}, made by the running process ${holder.pid} (${holder.command})`, o.json);
        }
        tidyHome(cfg.home, 'robbieverse db backup');
      }
      await withCommandDatabase(o, { command: 'robbieverse db backup' }, async (opened) => {
        printBackup(await backupDatabase(opened.db, dir, o.label), describeTarget(opened), o.json);
      });
    }),
  );
}

/** ROBBIEVERSE_TEST_PAUSE_AT=<step>: stop for good at that step (tests kill the process there). */
function pauseAt(step: RestoreStep): void {
  if (process.env.ROBBIEVERSE_TEST_PAUSE_AT !== step) return;
  say(`paused at ${step}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

export function restoreCommand(): Command {
  const cmd = new Command('restore')
    .summary('replace the database with a backup file')
    .description(
      'Puts a backup made by `db backup` (or by the legacy upgrade) back; asks for --yes. The file is read\n' +
        'and checked in full before anything is touched. A server database: the pg_dump archive is read end\n' +
        'to end, then the database is emptied and restored. An embedded home: the archive is extracted next\n' +
        'to the live data, opened on its own, and its migration history checked against this version\n' +
        '(refused when it is damaged, not a data directory, or made by a newer or different schema); then it\n' +
        'is swapped in with a journaled rename, so an interruption leaves the old data or the new, never\n' +
        'neither. The previous data directory is kept (path printed). Stop `robbieverse up` first.',
    )
    .argument('<file>', 'a .dump (server) or .pglite.tar.gz (embedded) backup')
    .addOption(new Option('--yes', 'confirm that the current contents may be replaced'))
    .addHelpText(
      'after',
      `\nExamples:\n  $ robbieverse db restore backups/robbie-20261122T031500Z-pre-upgrade.dump --yes --url postgres://app@localhost/robbie\n  $ robbieverse db restore backups/.robbieverse-20261122T031500Z-backup.pglite.tar.gz --yes --home ./new-home`,
    );
  dbOptions(cmd, { migrations: true });
  return cmd.action(
    action(async (file: string, o: DbCommandOptions & { yes?: boolean }) => {
      if (!fs.existsSync(file)) throw new RobbieverseError('E_USAGE', `no such backup file: ${file}`);
      const embeddedFile = file.endsWith('.pglite.tar.gz');
      const cfg = await configFrom(o);
      if (cfg.url === 'memory://') throw new RobbieverseError('E_USAGE', 'restore needs a server (--url) or an embedded home (--home), not memory://');
      if (!cfg.url) {
        const home = cfg.home;
        const dataDir = path.join(home, 'pgdata');
        if (!o.yes) {
          throw new RobbieverseError('E_USAGE', `this would replace everything in the embedded database in ${dataDir} with ${file}`, {
            hint: 'run again with --yes if that is what you want',
          });
        }
        if (!embeddedFile) throw new RobbieverseError('E_USAGE', `${file} is not an embedded backup (.pglite.tar.gz); restore a .dump into a server with --url`);
        const holder = lockHolder(home);
        if (holder) throw lockedError(home, holder);
        const lock = HomeLock.acquire(home, 'robbieverse db restore');
        try {
          if (lock.tightenedFrom !== undefined) say(`${tightenedNotice(home, lock.tightenedFrom)}\n`);
          const r = await restoreEmbeddedHome(home, file, { files: migrationsFrom(o), onStep: pauseAt });
          if (r.recovered) say(`${color.yellow('!')} ${r.recovered}\n`);
          say(
            `${color.green('✓')} restored ${file} into ${r.dataDir} (checked: PostgreSQL ${r.pgVersion}, ${r.applied} migrations applied, ${r.pending} pending for the next migrate)` +
              `${r.aside ? `\n  the previous data directory was kept at ${r.aside}` : ''}\n`,
          );
        } finally {
          lock.releaseSync();
        }
        return;
      }
      await withCommandDatabase(o, { command: 'robbieverse db restore', exclusive: true }, async (opened) => {
        if (!o.yes) {
          throw new RobbieverseError('E_USAGE', `this would replace everything in the ${describeTarget(opened)} with ${file}`, {
            hint: 'run again with --yes if that is what you want',
          });
        }
        if (!opened.db.capabilities.url) throw new RobbieverseError('E_USAGE', `cannot restore into the ${describeTarget(opened)}`);
        if (embeddedFile) throw new RobbieverseError('E_USAGE', `${file} is an embedded (PGlite) backup; restore it with --home, not into a server`);
        await restoreServerDatabase(opened.db, file, migrationsFrom(o));
        say(`${color.green('✓')} restored ${file} into the ${describeTarget(opened)}\n`);
      });
    }),
  );
}
