import { Command, Option } from 'commander';
import { findOrganization } from '../../api/accounts.js';
import { ROLES, type Role } from '../../api/auth/roles.js';
import { answerInvitationByToken, insertInvitation, listInvitations, revokeInvitation } from '../../admin/invitations.js';
import { RobbieverseError } from '../../errors.js';
import { isUuid } from '../../api/ids.js';
import { readSecretFromStdin, shellQuote, withAccountsDatabase } from '../admin.js';
import { apiOriginInUse } from '../api-address.js';
import { action, dbOptions, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

export function invitationsCommand(): Command {
  const inv = new Command('invitations')
    .summary('invite people to an organization, list, accept and revoke invitations')
    .description(
      'People join an organization by accepting an invitation addressed to their e-mail. The invitation token is ' +
        'printed once (no e-mail is sent): hand it to the person, who accepts it signed in to the API, or accept it ' +
        'here for the account with that e-mail. Only a hash of the token is stored.',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse invitations create --org "Acme Ltd" --email bob@example.com --role member
  $ robbieverse invitations list --org "Acme Ltd"
  $ robbieverse users create --email bob@example.com --org "Bob's Org"   # no account yet? create one first
  $ printf '%s' "$TOKEN" | robbieverse invitations accept --token-stdin
  $ robbieverse invitations revoke 3f9a1c2b-…`);
  inv.addCommand(createCmd()).addCommand(listCmd()).addCommand(acceptCmd()).addCommand(revokeCmd());
  return inv;
}

function createCmd(): Command {
  const cmd = new Command('create')
    .summary('invite an e-mail address to an organization (token printed once)')
    .description('Makes an invitation, valid for --days (default 7). An open invitation for the same e-mail in that organization is replaced.')
    .requiredOption('--org <id|name>', 'organization, by id or exact name')
    .requiredOption('--email <email>', 'who is invited (an account is not needed yet)')
    .addOption(new Option('--role <role>', 'role they get on accepting').choices([...ROLES].reverse()).default('member'))
    .option('--days <n>', 'days until it expires (1-90)', '7')
    .addHelpText('after', `
Examples:
  $ robbieverse invitations create --org "Acme Ltd" --email bob@example.com
  $ robbieverse invitations create --org "Acme Ltd" --email ann@example.com --role admin --days 2 --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { org: string; email: string; role: Role; days: string }) => {
      const days = Number(o.days);
      if (!Number.isInteger(days) || days < 1 || days > 90) throw new RobbieverseError('E_USAGE', `--days ${o.days}: a whole number from 1 to 90`);
      return withAccountsDatabase(o, 'robbieverse invitations create', async ({ db }, cfg) => {
        const org = await findOrganization(db, o.org);
        const i = await db.transaction((tx) => insertInvitation(tx, { orgId: org.id, email: o.email, role: o.role, days }));
        if (o.json) {
          printJson({ ...i, organization: org.name });
          return;
        }
        process.stdout.write([
          `${color.green('✓')} invited ${i.email} to ${org.name} as ${i.role}, until ${i.expires_at}`,
          `  id:     ${i.id}`,
          `  token:  ${i.token}`,
          color.yellow('  shown once: give it to the person (it is stored only as a hash)'),
          `  accept (signed in as ${i.email}): curl -s -X POST ${apiOriginInUse(cfg)}/api/invitations/accept -H "Authorization: Bearer rva_…" -H 'content-type: application/json' -d ${shellQuote(JSON.stringify({ token: i.token }))}`,
          `  or here: printf '%s' ${shellQuote(i.token)} | robbieverse invitations accept --token-stdin`,
        ].join('\n') + '\n');
      });
    }),
  );
}

function listCmd(): Command {
  const cmd = new Command('list')
    .summary('list invitations')
    .description('Invitations, newest first: open ones, or with --all also accepted, declined, revoked and expired ones. Never the tokens.')
    .option('--org <id|name>', 'only this organization')
    .option('--all', 'include answered, revoked and expired invitations')
    .addHelpText('after', `
Examples:
  $ robbieverse invitations list --org "Acme Ltd"
  $ robbieverse invitations list --all --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { org?: string; all?: boolean }) =>
      withAccountsDatabase(o, 'robbieverse invitations list', async ({ db }) => {
        const orgId = o.org ? (await findOrganization(db, o.org)).id : undefined;
        const rows = await listInvitations(db, { orgId, openOnly: !o.all });
        if (o.json) printJson(rows);
        else process.stdout.write(renderTable(['id', 'organization', 'email', 'role', 'status', 'expires_at'], rows as unknown as Record<string, unknown>[]) + '\n');
      }),
    ),
  );
}

function acceptCmd(): Command {
  const cmd = new Command('accept')
    .summary('accept (or --decline) an invitation with its token')
    .description(
      'Accepts the invitation for the account that has the invited e-mail (create it first with robbieverse users create ' +
        'if it does not exist). The token is read from stdin, so it stays out of the shell history.',
    )
    .requiredOption('--token-stdin', 'read the invitation token (rvi_…) from stdin')
    .option('--decline', 'decline it instead')
    .addHelpText('after', `
Examples:
  $ robbieverse invitations accept --token-stdin < invitation-token.txt
  $ printf '%s' "$TOKEN" | robbieverse invitations accept --token-stdin
  $ printf '%s' "$TOKEN" | robbieverse invitations accept --token-stdin --decline --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { tokenStdin: boolean; decline?: boolean }) => {
      const token = await readSecretFromStdin('invitation token');
      return withAccountsDatabase(o, 'robbieverse invitations accept', async ({ db }) => {
        const a = await answerInvitationByToken(db, token, !o.decline);
        if (o.json) printJson(a);
        else if (a.outcome === 'declined') process.stdout.write(`${color.green('✓')} ${a.email} declined the invitation to ${a.organization}\n`);
        else process.stdout.write(`${color.green('✓')} ${a.email} is now ${a.role} in ${a.organization}\n  sign in there with {"org_id": "${a.org_id}"} (POST /api/auth/login)\n`);
      });
    }),
  );
}

function revokeCmd(): Command {
  const cmd = new Command('revoke')
    .summary('revoke an open invitation')
    .argument('<id>', 'the invitation id (robbieverse invitations list)')
    .addHelpText('after', `
Examples:
  $ robbieverse invitations revoke 3f9a1c2b-5d1e-4c1a-9a7e-0c1d2e3f4a5b`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (id: string, o: DbCommandOptions) => {
      if (!isUuid(id)) throw new RobbieverseError('E_USAGE', `"${id}" is not an invitation id`, { hint: 'see robbieverse invitations list' });
      return withAccountsDatabase(o, 'robbieverse invitations revoke', async ({ db }) => {
        const r = await db.transaction((tx) => revokeInvitation(tx, id));
        if (!r) throw new RobbieverseError('E_USAGE', `no invitation ${id}`, { hint: 'see robbieverse invitations list --all' });
        if (r === 'closed') throw new RobbieverseError('E_USAGE', `invitation ${id} was already accepted, declined or revoked`, { hint: 'see robbieverse invitations list --all' });
        if (o.json) printJson(r);
        else process.stdout.write(`${color.green('✓')} revoked the invitation of ${r.email}\n`);
      });
    }),
  );
}
