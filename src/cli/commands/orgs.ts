import { Command, Option } from 'commander';
import { createOrganization } from '../../api/accounts.js';
import { listOrganizations } from '../../admin/list.js';
import { asServerError, RobbieverseError } from '../../errors.js';
import { withAccountsDatabase } from '../admin.js';
import { action, dbOptions, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

export function orgsCommand(): Command {
  const orgs = new Command('orgs')
    .summary('create and list organizations')
    .description('Organizations are the tenants: every row of data, user membership and API key belongs to one.')
    .addHelpText('after', `
Examples:
  $ robbieverse orgs create --name "Acme Ltd" --domain acme.example
  $ robbieverse orgs list`);
  orgs.addCommand(createCmd()).addCommand(listCmd());
  return orgs;
}

function createCmd(): Command {
  const cmd = new Command('create')
    .summary('create an organization')
    .description('Creates an organization (active). Add people to it with robbieverse users create --org <id|name>.')
    .requiredOption('--name <name>', 'display name')
    .option('--domain <domain>', 'its internet domain (unique)')
    .addOption(new Option('--type <type>', 'kind of organization').choices(['corporate', 'personal', 'nonprofit']).default('corporate'))
    .addHelpText('after', `
Examples:
  $ robbieverse orgs create --name "Acme Ltd"
  $ robbieverse orgs create --name "Acme Ltd" --domain acme.example --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { name: string; domain?: string; type: 'corporate' | 'personal' | 'nonprofit' }) => {
      const name = o.name.trim();
      if (!name) throw new RobbieverseError('E_USAGE', '--name must not be empty');
      return withAccountsDatabase(o, 'robbieverse orgs create', async ({ db }) => {
        const org = await createOrganization(db, { name, domain: o.domain, orgType: o.type }).catch((err) => {
          if (asServerError(err)?.code === '23505') {
            throw new RobbieverseError('E_USAGE', `an organization with domain ${o.domain} already exists`, { hint: 'see robbieverse orgs list' });
          }
          throw err;
        });
        if (o.json) printJson({ id: org.id, name: org.name, domain: o.domain ?? null, org_type: o.type });
        else {
          process.stdout.write(`${color.green('✓')} created organization ${org.name}\n  id: ${org.id}\n`);
          process.stdout.write(color.dim(`  add someone: robbieverse users create --email you@example.com --org ${org.id} --role owner\n`));
        }
      });
    }),
  );
}

function listCmd(): Command {
  const cmd = new Command('list')
    .summary('list organizations')
    .description('Lists every organization with its number of active members.')
    .addHelpText('after', `
Examples:
  $ robbieverse orgs list
  $ robbieverse orgs list --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) =>
      withAccountsDatabase(o, 'robbieverse orgs list', async ({ db }) => {
        const rows = await listOrganizations(db);
        if (o.json) printJson(rows);
        else process.stdout.write(renderTable(['id', 'name', 'domain', 'org_type', 'status', 'members'], rows as unknown as Record<string, unknown>[]) + '\n');
      }),
    ),
  );
}
