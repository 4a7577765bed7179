import { Command, Option } from 'commander';
import { findOrganization } from '../../api/accounts.js';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyInfo } from '../../api/auth/keys.js';
import { findUserByEmail } from '../../admin/list.js';
import { RobbieverseError } from '../../errors.js';
import { parseExpiry, shellQuote, withAccountsDatabase } from '../admin.js';
import { apiOriginInUse } from '../api-address.js';
import { action, dbOptions, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

export function keysCommand(): Command {
  const keys = new Command('keys')
    .summary('API keys for programs: create, list, revoke')
    .description(
      'An API key acts as one user in one organization, with at most that membership\'s role (or a weaker ' +
        'one given with --role). Send it as "Authorization: Bearer <key>". Only its hash is stored: the key ' +
        'is printed once, when it is created.',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse keys create --user ann@acme.example --org "Acme Ltd" --name "CRM import" --expires 30d
  $ robbieverse keys list --org "Acme Ltd"
  $ robbieverse keys revoke rvk_3f9a1c2b`);
  keys.addCommand(createCmd()).addCommand(listCmd()).addCommand(revokeCmd());
  return keys;
}

function status(k: ApiKeyInfo): string {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && new Date(k.expires_at) <= new Date()) return 'expired';
  return 'active';
}

function createCmd(): Command {
  const cmd = new Command('create')
    .summary('create an API key (printed once)')
    .description('Creates a key for --user acting in --org (they must be an active member there).')
    .requiredOption('--user <email>', 'the account the key acts as')
    .requiredOption('--org <id|name>', 'the organization it acts in')
    .requiredOption('--name <name>', 'what it is for, to recognise it in lists')
    .addOption(new Option('--role <role>', 'cap its role below the membership\'s (default: the membership\'s role)').choices(['admin', 'member', 'viewer']))
    .option('--expires <when>', 'lifetime (90m, 12h, 30d, 2w, 1y) or a date (2030-01-01); default: no expiry')
    .addHelpText('after', `
Examples:
  $ robbieverse keys create --user admin@localhost --org "Default Organization" --name "local scripts"
  $ robbieverse keys create --user ann@acme.example --org "Acme Ltd" --name reporting --role viewer --expires 90d --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { user: string; org: string; name: string; role?: 'admin' | 'member' | 'viewer'; expires?: string }) => {
      const expiresAt = o.expires ? parseExpiry(o.expires) : undefined;
      if (!o.name.trim()) throw new RobbieverseError('E_USAGE', '--name must not be empty');
      return withAccountsDatabase(o, 'robbieverse keys create', async ({ db }, cfg) => {
        const org = await findOrganization(db, o.org);
        const user = await findUserByEmail(db, o.user);
        const { key, info } = await createApiKey(db, { userId: user.id, orgId: org.id, name: o.name.trim(), role: o.role, expiresAt });
        if (o.json) {
          printJson({ key, ...info });
          return;
        }
        process.stdout.write(
          [
            `${color.green('✓')} API key "${info.name}" for ${info.email} in ${org.name}${info.role ? ` (role at most ${info.role})` : ''}`,
            `  key:      ${key}`,
            color.yellow('  shown once: store it now (only its hash is kept)'),
            `  id:       ${info.id}  (prefix ${info.key_prefix})`,
            `  expires:  ${info.expires_at ?? 'never'}`,
            `  try:      curl -s ${apiOriginInUse(cfg)}/api/me -H ${shellQuote(`Authorization: Bearer ${key}`)}`,
            color.dim(`  revoke:   robbieverse keys revoke ${info.key_prefix}`),
          ].join('\n') + '\n',
        );
      });
    }),
  );
}

function listCmd(): Command {
  const cmd = new Command('list')
    .summary('list API keys (never the keys themselves)')
    .description('Lists keys with their prefix, owner, role cap, expiry and status (active, expired, revoked).')
    .option('--org <id|name>', 'only this organization')
    .addHelpText('after', `
Examples:
  $ robbieverse keys list
  $ robbieverse keys list --org "Acme Ltd" --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & { org?: string }) =>
      withAccountsDatabase(o, 'robbieverse keys list', async ({ db }) => {
        const orgId = o.org ? (await findOrganization(db, o.org)).id : undefined;
        const rows = (await listApiKeys(db, { orgId })).map((k) => ({ ...k, status: status(k) }));
        if (o.json) printJson(rows);
        else process.stdout.write(renderTable(['id', 'key_prefix', 'name', 'email', 'role', 'status', 'expires_at', 'last_used_at'], rows as unknown as Record<string, unknown>[]) + '\n');
      }),
    ),
  );
}

function revokeCmd(): Command {
  const cmd = new Command('revoke')
    .summary('revoke an API key by id or prefix')
    .description('Revokes a key at once: requests with it get 401 from then on. Revoking twice is harmless.')
    .argument('<id|prefix>', 'the key\'s id, or the prefix shown by keys list')
    .addHelpText('after', `
Examples:
  $ robbieverse keys revoke rvk_3f9a1c2b
  $ robbieverse keys revoke 6f1d0c9e-3b7a-4e43-9d0a-6a4e2b1f7c55 --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (idOrPrefix: string, o: DbCommandOptions) =>
      withAccountsDatabase(o, 'robbieverse keys revoke', async ({ db }) => {
        const k = await revokeApiKey(db, idOrPrefix.trim());
        if (!k) throw new RobbieverseError('E_USAGE', `no API key with id or prefix ${idOrPrefix}`, { hint: 'see robbieverse keys list' });
        if (o.json) printJson({ ...k, status: 'revoked' });
        else process.stdout.write(`${color.green('✓')} revoked ${k.key_prefix} ("${k.name}", ${k.email}) at ${k.revoked_at}\n`);
      }),
    ),
  );
}
