import { Command } from 'commander';
import { addOperator, listOperators, removeOperator } from '../../api/auth/operators.js';
import { RobbieverseError } from '../../errors.js';
import { withAccountsDatabase } from '../admin.js';
import { action, dbOptions, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

export function operatorsCommand(): Command {
  const operators = new Command('operators')
    .summary('platform operators: who may deploy and roll back sites on the shared nodes')
    .description(
      'Operators may queue manual RobbieBlocks builds and roll sites back through the API ' +
        '(POST /api/robbieblocks/deploys, …/rollback). It is a platform right, not an organization role: ' +
        'an organization\'s owner is not an operator unless added here. The first admin `robbieverse up` ' +
        'creates is one.',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse operators list
  $ robbieverse operators add --email ann@acme.example
  $ robbieverse operators remove --email ann@acme.example`);
  operators.addCommand(addCmd()).addCommand(listCmd()).addCommand(removeCmd());
  return operators;
}

const email = (e: string) => {
  const v = e.trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(v)) throw new RobbieverseError('E_USAGE', `"${e}" is not an e-mail address`, { hint: 'pass --email you@example.com' });
  return v;
};

function addCmd(): Command {
  const cmd = new Command('add')
    .summary('make an account a platform operator')
    .requiredOption('--email <email>', 'the account')
    .option('--note <text>', 'why (kept with the grant)')
    .addHelpText('after', `
Examples:
  $ robbieverse operators add --email ann@acme.example
  $ robbieverse operators add --email ops@acme.example --note "on call" --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { email: string; note?: string }) =>
      withAccountsDatabase(o, 'robbieverse operators add', async ({ db }) => {
        const added = await addOperator(db, { email: email(o.email), note: o.note });
        if (o.json) printJson({ email: o.email.trim(), operator: true, added });
        else process.stdout.write(added ? `${color.green('✓')} ${o.email.trim()} is now a platform operator\n` : `${o.email.trim()} was already a platform operator\n`);
      }),
    ),
  );
}

function listCmd(): Command {
  const cmd = new Command('list')
    .summary('list the platform operators')
    .addHelpText('after', `
Examples:
  $ robbieverse operators list
  $ robbieverse operators list --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) =>
      withAccountsDatabase(o, 'robbieverse operators list', async ({ db }) => {
        const rows = await listOperators(db);
        if (o.json) printJson(rows);
        else process.stdout.write(renderTable(['email', 'granted_by_email', 'note', 'created_at'], rows as unknown as Record<string, unknown>[]) + '\n');
      }),
    ),
  );
}

function removeCmd(): Command {
  const cmd = new Command('remove')
    .summary('take platform operator rights away')
    .requiredOption('--email <email>', 'the account')
    .addHelpText('after', `
Examples:
  $ robbieverse operators remove --email ann@acme.example`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { email: string }) =>
      withAccountsDatabase(o, 'robbieverse operators remove', async ({ db }) => {
        const removed = await removeOperator(db, { email: email(o.email) });
        if (o.json) printJson({ email: o.email.trim(), operator: false, removed });
        else process.stdout.write(removed ? `${color.green('✓')} ${o.email.trim()} is no longer a platform operator\n` : `${o.email.trim()} was not a platform operator\n`);
      }),
    ),
  );
}
