#!/usr/bin/env node
import { Command } from 'commander';
import { blocksCommand } from './commands/blocks.js';
import { migrateCommand } from './commands/migrate.js';
import { queryCommand } from './commands/query.js';
import { resetCommand } from './commands/reset.js';
import { shellCommand } from './commands/shell.js';
import { sqlCommand } from './commands/sql.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';
import { verifyCommand } from './commands/verify.js';
import { schemaCommand } from './commands/schema.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { serveCommand } from './commands/serve.js';
import { orgsCommand } from './commands/orgs.js';
import { usersCommand } from './commands/users.js';
import { invitationsCommand } from './commands/invitations.js';
import { keysCommand } from './commands/keys.js';
import { errorJson, formatError, printJson } from './output.js';
import { checkOptionValues } from './usage.js';
import { operatorsCommand } from './commands/operators.js';
import { syncCommand } from './commands/sync.js';
import { memoryCommand } from './commands/memory.js';

const program = new Command('robbieverse')
  .description('One PostgreSQL database for a business run with AI assistants: schema, migrations and tools.\nRuns on an embedded PostgreSQL (PGlite, nothing to install) or on a server via DATABASE_URL.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Examples:
  $ robbieverse up                      # create/open ./.robbieverse, migrate, serve until Ctrl-C
  $ robbieverse db status               # what is applied, what is pending
  $ robbieverse db query "SELECT 1"     # works while \`up\` runs, through its socket
  $ DATABASE_URL=postgres://app@localhost/robbie robbieverse db migrate
  $ robbieverse serve                   # the HTTP API on http://127.0.0.1:8787/api (up starts it too)
  $ robbieverse users create --email ann@acme.example --org "Default Organization" --role admin

Settings (strongest first): flags > environment > robbieverse.config.json > defaults
  DATABASE_URL, ROBBIEVERSE_HOME, ROBBIEVERSE_SOCKET_PORT, ROBBIEVERSE_LOCK_TIMEOUT_MS,
  ROBBIEVERSE_LOG_LEVEL, ROBBIEVERSE_API_HOST, ROBBIEVERSE_API_PORT, ROBBIEVERSE_CORS_ORIGINS,
  ROBBIEVERSE_SITE_PORT, ROBBIEVERSE_EMBED_PROVIDER, ROBBIEVERSE_EMBED_MODEL, ROBBIEVERSE_EMBED_URL,
  ROBBIEVERSE_EMBED_API_KEY, NO_COLOR

Exit codes: 0 ok · 1 failed · 2 bad usage or configuration (checked before anything opens)
            3 drift, or a failed check · 4 database held by another process · 5 cannot connect`,
  );

const db = new Command('db').summary('migrate, inspect and query the database').description('Database commands: migrate, status, verify, sql, query, shell, reset, backup, restore.');
db.addCommand(migrateCommand())
  .addCommand(statusCommand())
  .addCommand(verifyCommand())
  .addCommand(sqlCommand())
  .addCommand(queryCommand())
  .addCommand(shellCommand())
  .addCommand(resetCommand())
  .addCommand(backupCommand())
  .addCommand(restoreCommand());

program.addCommand(upCommand()).addCommand(db).addCommand(schemaCommand());
program.addCommand(blocksCommand());
program.addCommand(serveCommand()).addCommand(orgsCommand()).addCommand(usersCommand()).addCommand(invitationsCommand()).addCommand(keysCommand()).addCommand(operatorsCommand()).addCommand(syncCommand()).addCommand(memoryCommand());
// Usage errors (unknown command or option, missing argument) exit with 2 at every level.
const usageExit = (c: Command): void => {
  c.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  c.commands.forEach(usageExit);
};
usageExit(program);
// Option values (ports, durations, counts, choices, URLs, e-mails) are checked before any action
// runs, so a bad one exits with 2 before a database is opened or a port is listened on.
program.hook('preAction', (_program, actionCommand) => {
  try {
    checkOptionValues(actionCommand);
  } catch (err) {
    if (actionCommand.opts().json) printJson(errorJson(err));
    else process.stderr.write(formatError(err) + '\n');
    process.exit(2);
  }
});
await program.parseAsync(process.argv);
