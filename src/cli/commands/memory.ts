import { Command, Option } from 'commander';
import type { Config } from '../../config.js';
import type { Db } from '../../db/types.js';
import { findOrganization } from '../../api/accounts.js';
import { RobbieverseError } from '../../errors.js';
import { createEmbedder, PROVIDERS, type Embedder } from '../../memory/embedders.js';
import { indexPending, startMemoryWorker } from '../../memory/indexer.js';
import { activeEmbedder, adoptEmbedder, readState, requeueAll } from '../../memory/models.js';
import { embedQuery, KINDS, MODES, parseKinds, searchMemory, type Mode } from '../../memory/search.js';
import { memoryStatus } from '../../memory/status.js';
import { withTenant } from '../../tenancy/with-tenant.js';
import { withAccountsDatabase } from '../admin.js';
import { action, dbOptions, makeLogger, type DbCommandOptions } from '../context.js';
import { color, printJson, renderTable } from '../output.js';

interface EmbedFlags {
  provider?: string;
  model?: string;
  embedUrl?: string;
}

export function memoryCommand(): Command {
  const memory = new Command('memory')
    .summary('index and search conversations, notes, knowledge and code')
    .description(
      'Memory search: every new or changed message, sticky note, knowledge article, document and code message/block is queued\n' +
        'in the writing transaction and embedded in the background (by `up`, or `memory worker`); search fuses full-text\n' +
        'ranking with vector similarity, inside an organization, under its row-level security and privacy levels.\n\n' +
        'Embedders: builtin (default: feature-hashed words and character trigrams, offline, nothing to download),\n' +
        'ollama (nomic-embed-text, 768-d) and openai (any OpenAI-compatible /v1/embeddings endpoint).',
    )
    .addHelpText('after', `
Examples:
  $ robbieverse memory index                                   # embed everything pending now, then exit
  $ robbieverse memory search "renewal pricing" --org Acme
  $ robbieverse memory search "retry on timeout" --in code --json
  $ robbieverse memory status
  $ ROBBIEVERSE_EMBED_PROVIDER=ollama robbieverse memory worker  # switch models: search keeps the old vectors until done

Settings (flags > environment > robbieverse.config.json):
  --provider / ROBBIEVERSE_EMBED_PROVIDER / embedProvider    builtin | ollama | openai
  --model / ROBBIEVERSE_EMBED_MODEL / embedModel             e.g. nomic-embed-text, text-embedding-3-small
  --embed-url / ROBBIEVERSE_EMBED_URL / embedUrl             e.g. http://127.0.0.1:11434, https://api.openai.com/v1
  ROBBIEVERSE_EMBED_API_KEY                                  sent as a bearer token (environment only)
  ROBBIEVERSE_EMBED_TIMEOUT_MS / embedTimeoutMs              per request, default 30000`);
  memory.addCommand(indexCmd()).addCommand(workerCmd()).addCommand(searchCmd()).addCommand(statusCmd()).addCommand(languageCmd());
  return memory;
}

function embedOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--provider <name>', 'embedding provider').choices([...PROVIDERS]))
    .addOption(new Option('--model <name>', 'embedding model (default: the provider\'s usual one)'))
    .addOption(new Option('--embed-url <url>', 'where the provider answers'));
}

function embedderFrom(cfg: Config, o: EmbedFlags): Embedder {
  // A flag naming another provider drops the configured model and URL, which belong to that one.
  const other = o.provider !== undefined && o.provider !== cfg.embed.provider;
  return createEmbedder({
    ...cfg.embed,
    provider: (o.provider as Config['embed']['provider'] | undefined) ?? cfg.embed.provider,
    model: o.model ?? (other ? undefined : cfg.embed.model),
    url: o.embedUrl ?? (other ? undefined : cfg.embed.url),
  });
}

function indexCmd(): Command {
  const cmd = embedOptions(
    new Command('index')
      .summary('embed every pending row now, then exit')
      .description('Embeds what is queued (new and changed rows) with the configured embedder and exits: for scripts and cron.\nWith a newly configured model this starts a switch: every row is embedded again; search uses the old vectors until it is done.')
      .option('--all', 'queue every row again first (rebuild the index)'),
  ).addHelpText('after', `
Examples:
  $ robbieverse memory index
  $ robbieverse memory index --provider ollama --model nomic-embed-text
  $ robbieverse memory index --all --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions & EmbedFlags & { all?: boolean }) =>
      withAccountsDatabase(o, 'robbieverse memory index', async ({ db }, cfg) => {
        const embedder = embedderFrom(cfg, o);
        const change = await adoptEmbedder(db, embedder);
        if (o.all) await requeueAll(db);
        const t0 = Date.now();
        const tty = process.stderr.isTTY && !o.json;
        const r = await indexPending(db, {
          embedder,
          apiKey: cfg.embed.apiKey,
          timeoutMs: cfg.embed.timeoutMs,
          logger: await makeLogger(cfg),
          onProgress: (p) => {
            const line = `indexing: ${p.done} embedded, ${p.failed} failed, ${p.pending} pending`;
            if (tty) process.stderr.write(`\r${line}   `);
            else if (!o.json) process.stderr.write(`${line}\n`);
          },
        });
        if (tty) process.stderr.write('\n');
        const ms = Date.now() - t0;
        const out = { model: embedder.model, provider: embedder.provider, change, embedded: r.done, failed: r.failed, pending: r.pending, switched_to: r.switchedTo, errors: r.errors, ms };
        if (o.json) printJson(out);
        else {
          if (change === 'build-started') process.stdout.write(`switching to ${embedder.model}: search uses the previous vectors until every row is embedded again\n`);
          process.stdout.write(`${r.failed ? color.yellow('!') : color.green('✓')} ${r.done} rows embedded with ${embedder.model} in ${(ms / 1000).toFixed(2)} s; ${r.pending} pending\n`);
          if (r.switchedTo) process.stdout.write(`  search now uses ${r.switchedTo}\n`);
          for (const e of r.errors) process.stdout.write(color.red(`  error: ${e}\n`));
          if (r.failed) process.stdout.write(color.dim('  the failed rows stay queued and are retried: see robbieverse memory status\n'));
        }
        return r.failed ? 1 : 0;
      }),
    ),
  );
}

function workerCmd(): Command {
  const cmd = embedOptions(
    new Command('worker')
      .summary('embed new and changed rows as they arrive, until stopped')
      .description('The background indexer on its own (`up` runs one too): wakes on NOTIFY memory_pending, polls every 30 s for retries. Ctrl-C stops it.'),
  ).addHelpText('after', `
Examples:
  $ robbieverse memory worker
  $ DATABASE_URL=postgres://app@db/robbie ROBBIEVERSE_EMBED_PROVIDER=ollama robbieverse memory worker`);
  dbOptions(cmd);
  return cmd.action(
    action(async (o: DbCommandOptions & EmbedFlags) =>
      withAccountsDatabase(o, 'robbieverse memory worker', async ({ db }, cfg) => {
        const embedder = embedderFrom(cfg, o);
        const logger = await makeLogger(cfg);
        const worker = await startMemoryWorker(db, {
          embedder, apiKey: cfg.embed.apiKey, timeoutMs: cfg.embed.timeoutMs, logger,
          onError: (m) => process.stderr.write(`memory worker: ${m} (retrying)\n`),
        });
        process.stderr.write(`memory worker: indexing with ${embedder.model} (${embedder.provider}); Ctrl-C stops\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await worker.stop();
      }),
    ),
  );
}

/** The user a CLI search acts as: the one named, else the organization's first owner. */
async function searchUser(db: Db, orgId: string, as: string | undefined): Promise<{ id: string; email: string }> {
  const { rows } = await db.query<{ id: string; email: string }>(
    `SELECT u.id::text, u.email FROM organization_memberships m JOIN users u ON u.id = m.user_id
      WHERE m.org_id = $1 AND m.is_active AND ${as ? 'lower(u.email) = lower($2)' : `m.role = 'owner'`}
      ORDER BY m.created_at LIMIT 1`,
    as ? [orgId, as] : [orgId],
  );
  if (rows[0]) return rows[0];
  throw new RobbieverseError('E_USAGE', as ? `${as} is not an active member of this organization` : 'this organization has no owner to search as', {
    hint: as ? 'see robbieverse users list --org …' : 'name a member with --as <email>',
  });
}

async function defaultOrg(db: Db): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT id::text FROM organizations ORDER BY created_at LIMIT 2');
  if (rows.length === 1) return rows[0]!.id;
  throw new RobbieverseError('E_USAGE', 'say which organization to search in', { hint: 'add --org <id|name> (robbieverse orgs list)' });
}

function searchCmd(): Command {
  const cmd = new Command('search')
    .summary('search memory as a member of an organization')
    .description('Hybrid search (full-text + vectors, fused by reciprocal rank) inside one organization, as one of its members:\nrow-level security and privacy levels decide what is found, exactly as for that member in the API.')
    .argument('<text>', 'what to look for')
    .addOption(new Option('--in <kinds>', `where to look, comma-separated: ${KINDS.join(', ')}`).default('messages,notes,knowledge,code'))
    .option('--org <id|name>', 'organization (default: the only one)')
    .option('--as <email>', 'member to search as (default: the organization\'s first owner)')
    .addOption(new Option('--limit <n>', 'how many hits').default('10'))
    .addOption(new Option('--mode <mode>', 'hybrid, or one side only').choices([...MODES]).default('hybrid'))
    .addHelpText('after', `
Examples:
  $ robbieverse memory search "quarterly renewal" --org "Acme Ltd"
  $ robbieverse memory search "invoice" --in notes,knowledge --as ann@acme.example --limit 5
  $ robbieverse memory search "useEffect cleanup" --in code --mode vector --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (text: string, o: DbCommandOptions & { in: string; org?: string; as?: string; limit: string; mode: Mode }) => {
      const kinds = parseKinds(o.in);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new RobbieverseError('E_USAGE', `--limit ${o.limit}: not a whole number from 1 to 100`, { hint: 'for example --limit 10' });
      return withAccountsDatabase(o, 'robbieverse memory search', async ({ db }, cfg) => {
        const orgId = o.org ? (await findOrganization(db, o.org)).id : await defaultOrg(db);
        const user = await searchUser(db, orgId, o.as);
        const state = await readState(db);
        const embedder = activeEmbedder(state, cfg.embed.apiKey, cfg.embed.timeoutMs);
        const t0 = Date.now();
        const vector = await embedQuery(state, embedder, text, o.mode);
        const r = await withTenant(db, { orgId, userId: user.id }, (tx) => searchMemory(tx, state, vector, { query: text, kinds, limit, mode: o.mode }));
        const ms = Date.now() - t0;
        if (o.json) {
          printJson({ ...r, as: user.email, org_id: orgId, ms });
          return;
        }
        process.stdout.write(color.dim(`${r.mode} search as ${user.email}${r.model ? `, vectors of ${r.model}` : ''}, ${r.hits.length} hits in ${ms} ms\n`));
        for (const n of r.notes) process.stdout.write(color.yellow(`note: ${n}\n`));
        r.hits.forEach((h, i) => {
          const parts = [h.text_rank ? `text #${h.text_rank}` : null, h.vector_rank ? `vector #${h.vector_rank} (${h.similarity?.toFixed(3)})` : null].filter(Boolean).join(', ');
          process.stdout.write(`${String(i + 1).padStart(2)}. ${color.bold(h.title ?? `${h.table} ${h.id.slice(0, 8)}`)}  ${color.dim(`${h.table} ${h.id} · ${parts}`)}\n    ${h.snippet}\n`);
        });
      });
    }),
  );
}

function statusCmd(): Command {
  const cmd = new Command('status')
    .summary('rows indexed, pending and failed per table and model')
    .description('What the index holds: per source table its rows, how many have vectors of each model, how many wait (pending) or failed (with the newest errors); the active model and a switch in progress.')
    .addHelpText('after', `
Examples:
  $ robbieverse memory status
  $ robbieverse memory status --json`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) =>
      withAccountsDatabase(o, 'robbieverse memory status', async ({ db }) => {
        const s = await memoryStatus(db);
        if (o.json) {
          printJson(s);
          return;
        }
        const st = s.state;
        process.stdout.write(`active model: ${st.active_model ?? color.yellow('none yet (run robbieverse memory index, or up)')}${st.active_provider ? ` (${st.active_provider}${st.active_endpoint ? ` at ${st.active_endpoint}` : ''})` : ''}\n`);
        if (st.building_model) process.stdout.write(color.yellow(`switching to: ${st.building_model} (${st.building_provider}) since ${st.building_started_at}; search uses ${st.active_model} until it is complete\n`));
        process.stdout.write(`text search language: ${st.language}; vector indexes: ${s.vectorIndexes.length ? s.vectorIndexes.join(', ') : 'none (exact search)'}\n\n`);
        const models = [st.active_model, st.building_model].filter((m): m is string => Boolean(m));
        const rows = s.sources.map((x) => ({ table: x.table, kind: x.kind, rows: x.rows, ...Object.fromEntries(models.map((m) => [`indexed ${m}`, x.indexed[m] ?? 0])), pending: x.pending, failed: x.failed }));
        process.stdout.write(renderTable(['table', 'kind', 'rows', ...models.map((m) => `indexed ${m}`), 'pending', 'failed'], rows) + '\n');
        for (const e of s.errors) process.stdout.write(color.red(`\n${e.table} ${e.id} (attempt ${e.attempts}, ${e.at}): ${e.error}`));
        if (s.errors.length) process.stdout.write('\n');
      }),
    ),
  );
}

function languageCmd(): Command {
  const cmd = new Command('language')
    .summary('show or set the full-text search language')
    .description('The PostgreSQL text search configuration used for full-text ranking (stemming and stop words), e.g. english, german, simple.\nSetting it rebuilds the full-text indexes.')
    .argument('[name]', 'a text search configuration (SELECT cfgname FROM pg_ts_config)')
    .addHelpText('after', `
Examples:
  $ robbieverse memory language
  $ robbieverse memory language german`);
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (name: string | undefined, o: DbCommandOptions) =>
      withAccountsDatabase(o, 'robbieverse memory language', async ({ db }) => {
        if (name) {
          const { rows } = await db.query<{ ok: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = $1) AS ok', [name]);
          if (!rows[0]!.ok) {
            const { rows: all } = await db.query<{ n: string }>('SELECT cfgname AS n FROM pg_ts_config ORDER BY 1');
            throw new RobbieverseError('E_USAGE', `"${name}" is not a text search configuration here`, { hint: `choose one of: ${all.map((r) => r.n).join(', ')}` });
          }
          await db.transaction(async (tx) => {
            await tx.query('UPDATE memory.state SET language = $1::regconfig, updated_at = now()', [name]);
            await tx.query('SELECT memory.ensure_text_indexes()');
          });
        }
        const { language } = await readState(db);
        if (o.json) printJson({ language });
        else process.stdout.write(`${language}\n`);
      }),
    ),
  );
}
