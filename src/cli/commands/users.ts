import { Command, Option } from 'commander';
import { createUser, findOrganization, generatePassword, setPassword } from '../../api/accounts.js';
import { ROLES, type Role } from '../../api/auth/roles.js';
import { listUsers } from '../../admin/list.js';
import { loginCurl, readSecretFromStdin, withAccountsDatabase } from '../admin.js';
import { apiOriginInUse } from '../api-address.js';
import { action, dbOptions, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

export function usersCommand(): Command {
  const users = new Command('users')
    .summary('create users, list them, set passwords')
    .description(
      'Accounts that sign in to the API (POST /api/auth/login). Passwords are stored as argon2id hashes; ' +
        'a generated password is printed once, and a chosen one is read from stdin, never from a flag.',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse users create --email ann@acme.example --org "Acme Ltd" --role admin
  $ robbieverse users list --org "Acme Ltd"
  $ robbieverse users passwd --email admin@localhost`);
  users.addCommand(createCmd()).addCommand(listCmd()).addCommand(passwdCmd());
  return users;
}

type CreateOpts = DbCommandOptions & { email: string; org: string; role?: Role; firstName?: string; lastName?: string; passwordStdin?: boolean };

function createCmd(): Command {
  const cmd = new Command('create')
    .summary('create a user in an organization')
    .description(
      'Creates an account with a membership in --org. Without --password-stdin a strong password is generated ' +
        'and printed once. If the e-mail already has an account, the account is left as it is: a missing ' +
        'membership in --org is added, and an existing one changes only when --role is given (an organization ' +
        'always keeps at least one owner, so its last owner cannot be demoted).',
    )
    .requiredOption('--email <email>', 'e-mail address (the sign-in name)')
    .requiredOption('--org <id|name>', 'organization, by id or exact name')
    .addOption(new Option('--role <role>', 'role in the organization (new membership: member)').choices([...ROLES].reverse()))
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .option('--password-stdin', 'read the password from stdin instead of generating one')
    .addHelpText('after', `
Examples:
  $ robbieverse users create --email ann@acme.example --org "Acme Ltd" --role owner --first-name Ann
  $ printf '%s' "$ANN_PASSWORD" | robbieverse users create --email ann@acme.example --org "Acme Ltd" --password-stdin
  $ robbieverse users create --email bot@acme.example --org 0b1c…-uuid --role viewer --json
  $ robbieverse users create --email ann@acme.example --org "Acme Ltd" --role admin   # existing account: change the role

Roles: owner (everything, incl. the organization itself) · admin (members, API keys, all data)
       member (read and write data) · viewer (read only)`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: CreateOpts) => {
      const chosen = o.passwordStdin ? await readSecretFromStdin() : undefined;
      return withAccountsDatabase(o, 'robbieverse users create', async ({ db }, cfg) => {
        const org = await findOrganization(db, o.org);
        const password = chosen ?? generatePassword();
        const u = await createUser(db, { email: o.email, password, orgId: org.id, role: o.role, firstName: o.firstName, lastName: o.lastName });
        const shown = !u.existed && !chosen ? password : undefined;
        if (o.json) {
          printJson({ id: u.id, email: u.email, org_id: org.id, organization: org.name, role: u.role, existed: u.existed, membership: u.membership, ...(u.previousRole ? { previousRole: u.previousRole } : {}), ...(shown ? { password: shown } : {}) });
          return;
        }
        const out: string[] = [];
        if (u.existed) {
          if (u.membership === 'unchanged') out.push(`${color.green('✓')} ${u.email} already had an account and is ${u.role} in ${org.name}; nothing changed${o.role ? '' : ' (pass --role to change the role)'}`);
          else if (u.membership === 'role_changed') out.push(`${color.green('✓')} ${u.email} already had an account; its role in ${org.name} changed from ${u.previousRole} to ${u.role}`);
          else out.push(`${color.green('✓')} ${u.email} already had an account; it is now ${u.role} in ${org.name}`);
          out.push(color.dim(`  its password was not changed${chosen ? ' (the one given on stdin was not used)' : ''}; to set one: robbieverse users passwd --email ${u.email}`));
        } else {
          out.push(`${color.green('✓')} created ${u.email}, ${u.role} in ${org.name}`);
          out.push(`  id:        ${u.id}`);
          if (shown) {
            out.push(`  password:  ${shown}`);
            out.push(color.yellow(`  shown once: store it now (change it with robbieverse users passwd --email ${u.email})`));
          }
          out.push(`  sign in:   ${loginCurl(apiOriginInUse(cfg), u.email, shown ?? '…')}`);
        }
        process.stdout.write(out.join('\n') + '\n');
      });
    }),
  );
}

function listCmd(): Command {
  const cmd = new Command('list')
    .summary('list users and their roles')
    .description('One row per membership: a user in two organizations is listed twice. can_sign_in = has a usable password.')
    .option('--org <id|name>', 'only this organization')
    .addHelpText('after', `
Examples:
  $ robbieverse users list
  $ robbieverse users list --org "Default Organization" --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { org?: string }) =>
      withAccountsDatabase(o, 'robbieverse users list', async ({ db }) => {
        const orgId = o.org ? (await findOrganization(db, o.org)).id : undefined;
        const rows = await listUsers(db, { orgId });
        if (o.json) printJson(rows);
        else {
          const table = rows.map((r) => ({ ...r, name: [r.first_name, r.last_name].filter(Boolean).join(' '), active: r.user_active && r.membership_active }));
          process.stdout.write(renderTable(['email', 'name', 'organization', 'role', 'active', 'can_sign_in', 'last_login'], table) + '\n');
        }
      }),
    ),
  );
}

function passwdCmd(): Command {
  const cmd = new Command('passwd')
    .summary("set a user's password")
    .description(
      'Sets a new password: generated and printed once, or read from stdin with --password-stdin. ' +
        'Sessions that are already signed in stay valid until they expire.',
    )
    .requiredOption('--email <email>', 'the account')
    .option('--password-stdin', 'read the new password from stdin instead of generating one')
    .addHelpText('after', `
Examples:
  $ robbieverse users passwd --email admin@localhost
  $ printf '%s' "$NEW_PASSWORD" | robbieverse users passwd --email admin@localhost --password-stdin`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { email: string; passwordStdin?: boolean }) => {
      const chosen = o.passwordStdin ? await readSecretFromStdin('new password') : undefined;
      return withAccountsDatabase(o, 'robbieverse users passwd', async ({ db }) => {
        const password = chosen ?? generatePassword();
        await setPassword(db, o.email, password);
        const email = o.email.trim().toLowerCase();
        if (o.json) printJson({ email, ...(chosen ? {} : { password }) });
        else if (chosen) process.stdout.write(`${color.green('✓')} password of ${email} changed\n`);
        else process.stdout.write(`${color.green('✓')} new password of ${email}:\n  password:  ${password}\n${color.yellow('  shown once: store it now')}\n`);
      });
    }),
  );
}
