import fs from 'node:fs';
import path from 'node:path';
import { backupDatabase, type BackupInfo } from '../../db/backup.js';
import { unindexedForeignKeys } from '../../db/catalog.js';
import type { Db, Queryable } from '../../db/types.js';
import { asServerError, RobbieverseError } from '../../errors.js';
import type { MigrationFile } from '../files.js';
import { migrate, type MigrateEvent } from '../runner.js';
import { rowHash, setChecksumSession, tableChecksum, type TableChecksum } from './checksum.js';
import { AURORA_SIGNATURE, detectDatabaseState } from './detect.js';
import { addLegacyUserKeys } from './user-keys.js';
import { requeueAll } from '../../memory/models.js';

/** SCHEMA.md's Default Organization: every legacy row belongs to it. */
export const DEFAULT_ORG_ID = '00000000-0000-4000-8000-000000000001';
export const LEGACY_TABLES = Object.keys(AURORA_SIGNATURE);
/** The legacy tables that become tenant tables (feature_requests and system_logs stay global). */
export const TENANT_LEGACY_TABLES = ['users', 'conversations', 'messages', 'mentors', 'integrations', 'webhooks'];
/** Access paths 026 builds on a fresh install; on a legacy database they are built here, concurrently. */
const LEGACY_ACCESS_INDEXES: [string, string][] = [
  ['messages_org_id_created_at_idx', 'ON messages (org_id, created_at DESC)'],
  ['messages_pinned_idx', 'ON messages (is_pinned) WHERE is_pinned'],
  ['messages_flagged_idx', 'ON messages (is_flagged) WHERE is_flagged'],
  ['conversations_tags_idx', 'ON conversations USING gin (tags)'],
  // migration 028's API listing indexes for the two legacy tables
  ['conversations_org_id_updated_at_id_idx', 'ON conversations (org_id, updated_at, id)'],
  ['messages_conversation_id_created_at_id_idx', 'ON messages (conversation_id, created_at, id)'],
  ['system_logs_created_at_idx', 'ON system_logs (created_at DESC)'],
  ['system_logs_level_created_at_idx', 'ON system_logs (level, created_at DESC)'],
];
/** One upgrader at a time ('RBVS', 2); the migrations it runs take ('RBVS', 1). */
const UPGRADE_LOCK: [number, number] = [0x52425653, 2];

export type UpgradeStep = 'backup' | 'baseline' | 'prepare' | 'unique-keys' | 'migrate' | 'backfill' | 'memberships' | 'user-keys' | 'validate' | 'not-null' | 'indexes' | 'verify';
const STEPS: UpgradeStep[] = ['backup', 'baseline', 'prepare', 'unique-keys', 'migrate', 'backfill', 'memberships', 'user-keys', 'validate', 'not-null', 'indexes', 'verify'];

export type UpgradeEvent =
  | { type: 'detected'; resumed: boolean }
  | { type: 'step-start'; step: UpgradeStep }
  | { type: 'step-done'; step: UpgradeStep; ms: number; skipped?: boolean; summary?: string }
  | { type: 'backup'; backup: BackupInfo }
  | { type: 'backfill-progress'; table: string; done: number; total: number }
  | { type: 'ddl-retry'; sql: string; attempt: number }
  | { type: 'migrate'; event: MigrateEvent };

export interface UpgradeOptions {
  files: MigrationFile[];
  backupDir?: string;
  /** Skip the backup (only when asked explicitly). */
  noBackup?: boolean;
  batchSize?: number;
  pauseMs?: number;
  /** lock_timeout of each DDL statement before it is retried (ms). */
  ddlLockTimeoutMs?: number;
  onEvent?: (e: UpgradeEvent) => void;
}

export interface TableReport {
  table: string;
  rowsBefore: number;
  rowsAfter: number;
  /** Rows that existed at the baseline, compared column by column (legacy columns only). */
  checksumBefore: string;
  checksumAfter: string;
  /** No legacy row is missing and none changed except by the application itself. */
  match: boolean;
  changedByUpgrade: number;
  missing: number;
  updatedByApplication: number;
  backfilled: number;
}

export interface UpgradeReport {
  ok: boolean;
  resumed: boolean;
  backup: BackupInfo | null;
  steps: { step: UpgradeStep; status: string; ms: number | null }[];
  tables: TableReport[];
  invariants: { name: string; ok: boolean; detail?: string }[];
  warnings: string[];
  ms: number;
  reportPath: string | null;
}

interface Baseline {
  cutoff: string;
  tables: Record<string, { columns: string[]; rows: number; checksum: TableChecksum }>;
}

const STATE_DDL = `
CREATE SCHEMA IF NOT EXISTS robbieverse_meta;
CREATE TABLE IF NOT EXISTS robbieverse_meta.legacy_upgrade (
  step        text PRIMARY KEY,
  status      text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  started_at  timestamptz,
  finished_at timestamptz,
  details     jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE robbieverse_meta.legacy_upgrade IS 'Progress of the in-place upgrade of a legacy Aurora database, one row per step';
CREATE TABLE IF NOT EXISTS robbieverse_meta.legacy_baseline_rows (
  tbl  text NOT NULL,
  id   uuid NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (tbl, id)
);
COMMENT ON TABLE robbieverse_meta.legacy_baseline_rows IS 'Hash of every legacy row''s legacy columns before the upgrade, to verify it after';`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stepState(s: Queryable): Promise<Map<string, { status: string; details: Record<string, unknown>; ms: number | null }>> {
  const { rows } = await s.query<{ step: string; status: string; details: Record<string, unknown>; ms: number | null }>(
    `SELECT step, status, details, (extract(epoch FROM finished_at - started_at) * 1000)::int AS ms FROM robbieverse_meta.legacy_upgrade`,
  );
  return new Map(rows.map((r) => [r.step, r]));
}

async function mark(s: Queryable, step: UpgradeStep, status: 'running' | 'done' | 'failed', details?: Record<string, unknown>): Promise<void> {
  await s.query(
    `INSERT INTO robbieverse_meta.legacy_upgrade (step, status, started_at, finished_at, details)
     VALUES ($1, $2, now(), CASE WHEN $2 = 'running' THEN NULL ELSE now() END, coalesce($3::jsonb, '{}'))
     ON CONFLICT (step) DO UPDATE SET status = EXCLUDED.status,
       started_at = CASE WHEN EXCLUDED.status = 'running' THEN now() ELSE robbieverse_meta.legacy_upgrade.started_at END,
       finished_at = CASE WHEN EXCLUDED.status = 'running' THEN NULL ELSE now() END,
       details = robbieverse_meta.legacy_upgrade.details || coalesce($3::jsonb, '{}')`,
    [step, status, details ? JSON.stringify(details) : null],
  );
}

const quote = (s: string) => '"' + s.replace(/"/g, '""') + '"';

/**
 * Upgrades a legacy Aurora database in place to the unified schema (phase A of LEGACY.md):
 * backup first, baseline checksums, additive changes only, org_id backfilled in short batches,
 * constraints added NOT VALID then validated, NOT NULL through a validated check, indexes built
 * concurrently on a server, then verified against the baseline. Every step is recorded and
 * skipped when done, so an interrupted run (kill -9, lost connection) resumes where it stopped.
 */
export async function upgradeLegacy(db: Db, opts: UpgradeOptions): Promise<UpgradeReport> {
  const t0 = Date.now();
  const emit = opts.onEvent;
  // A server (or `up` behind its socket): other processes may work meanwhile.
  const server = db.capabilities.serverProcess;
  const batchSize = opts.batchSize ?? 5_000;
  const pauseMs = opts.pauseMs ?? 10;
  const ddlLockTimeoutMs = opts.ddlLockTimeoutMs ?? 250;
  const warnings: string[] = [];

  return db.withSession(async (s) => {
    if (server) {
      const { rows } = await s.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', UPGRADE_LOCK);
      if (!rows[0]?.ok) throw new RobbieverseError('E_MIGRATION_LOCK_TIMEOUT', 'another process is upgrading this database', { hint: 'wait for it to finish' });
    }
    try {
      const resumed = (await s.query<{ t: string | null }>(`SELECT to_regclass('robbieverse_meta.legacy_upgrade')::text AS t`)).rows[0]?.t != null;
      if (!resumed) {
        const state = await detectDatabaseState(s);
        if (state.kind !== 'legacy-aurora') {
          throw new RobbieverseError('E_LEGACY_DATABASE', `not a legacy Aurora database (${state.kind})`, { hint: 'nothing was changed' });
        }
      }
      emit?.({ type: 'detected', resumed });

      /** DDL with a short lock timeout, retried with backoff: never queue for long behind a transaction while blocking everyone behind us. */
      const ddl = async (sql: string, attempts = 40) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await s.exec(`SET lock_timeout = ${ddlLockTimeoutMs}`);
            await s.exec(sql);
            await s.exec('RESET lock_timeout');
            return;
          } catch (err) {
            await s.exec('RESET lock_timeout').catch(() => {});
            if (asServerError(err)?.code !== '55P03' || attempt >= attempts) throw err;
            emit?.({ type: 'ddl-retry', sql: sql.slice(0, 80), attempt });
            await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
          }
        }
      };

      // 1. Backup, before anything is written (so restoring it gives the legacy database exactly).
      let backup: BackupInfo | null = null;
      if (!resumed) {
        if (!opts.noBackup) {
          emit?.({ type: 'step-start', step: 'backup' });
          const b0 = Date.now();
          backup = await backupDatabase(db, opts.backupDir ?? 'backups', 'pre-upgrade');
          emit?.({ type: 'backup', backup });
          emit?.({ type: 'step-done', step: 'backup', ms: Date.now() - b0 });
        }
        await s.exec(STATE_DDL);
        await mark(s, 'backup', 'done', { backup, skipped: Boolean(opts.noBackup) });
      }
      let state = await stepState(s);
      backup = (state.get('backup')?.details.backup as BackupInfo | null) ?? null;

      const run = async (step: UpgradeStep, fn: () => Promise<Record<string, unknown> | void>) => {
        if (state.get(step)?.status === 'done') {
          emit?.({ type: 'step-done', step, ms: 0, skipped: true });
          return;
        }
        emit?.({ type: 'step-start', step });
        const m0 = Date.now();
        await mark(s, step, 'running');
        try {
          const details = (await fn()) ?? {};
          await mark(s, step, 'done', details);
        } catch (err) {
          await s.exec('ROLLBACK').catch(() => {});
          await mark(s, step, 'failed', { error: (err as Error).message }).catch(() => {});
          throw err;
        }
        emit?.({ type: 'step-done', step, ms: Date.now() - m0 });
      };

      // 2. Baseline: per table, its columns as they are now, row count and checksum of the rows
      //    older than a cutoff (rows the legacy app adds meanwhile are reported separately).
      await run('baseline', async () => {
        const cutoff = (await s.query<{ c: string }>(`SELECT (now() - interval '2 seconds')::text AS c`)).rows[0]!.c;
        const tables: Baseline['tables'] = {};
        for (const t of LEGACY_TABLES) {
          const cols = await s.query<{ c: string }>(
            `SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
            [t],
          );
          const columns = cols.rows.map((r) => r.c);
          const rows = (await s.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quote(t)}`)).rows[0]!.n;
          tables[t] = { columns, rows, checksum: await tableChecksum(s, t, columns, 50_000, cutoff) };
          // Row by row too, so a live application's own later updates can be told from damage.
          await s.query(`DELETE FROM robbieverse_meta.legacy_baseline_rows WHERE tbl = $1`, [t]);
          await s.query(
            `INSERT INTO robbieverse_meta.legacy_baseline_rows (tbl, id, hash)
             SELECT $1, id, ${rowHash(columns)} FROM ${quote(t)} WHERE created_at IS NULL OR created_at < $2::timestamptz`,
            [t, cutoff],
          );
        }
        return { baseline: { cutoff, tables } };
      });

      // 3. Columns every later step needs: org_id (nullable, no default: no rewrite), a trigger that
      //    fills it on insert so legacy inserts keep working, and the backfill flag in the legacy
      //    updated_at function so the backfill preserves updated_at.
      await run('prepare', async () => {
        for (const t of TENANT_LEGACY_TABLES) await ddl(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS org_id uuid`);
        await ddl(`
          CREATE OR REPLACE FUNCTION legacy_fill_org_id() RETURNS trigger
          LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
          DECLARE
            session_org uuid := nullif(current_setting('app.org_id', true), '')::uuid;
            parent uuid;
          BEGIN
            IF NEW.org_id IS NOT NULL THEN RETURN NEW; END IF;
            IF TG_TABLE_NAME = 'messages' AND (to_jsonb(NEW) ->> 'conversation_id') IS NOT NULL THEN
              -- A message always takes its conversation's organization; while the conversation has
              -- none yet (before its backfill) it stays NULL, and the backfill gives it that org.
              SELECT org_id INTO parent FROM conversations WHERE id = (to_jsonb(NEW) ->> 'conversation_id')::uuid;
              NEW.org_id := parent;
              RETURN NEW;
            END IF;
            -- Nested: PL/pgSQL plans a condition as a whole, and before the migrations there is no
            -- organizations table to plan a query on (a legacy user insert then failed).
            IF session_org IS NOT NULL AND to_regclass('public.organizations') IS NOT NULL THEN
              IF EXISTS (SELECT 1 FROM organizations WHERE id = session_org) THEN
                NEW.org_id := session_org; RETURN NEW;
              END IF;
            END IF;
            IF TG_TABLE_NAME IN ('conversations', 'integrations', 'webhooks') AND (to_jsonb(NEW) ->> 'user_id') IS NOT NULL THEN
              SELECT org_id INTO parent FROM users WHERE id = (to_jsonb(NEW) ->> 'user_id')::uuid;
            END IF;
            NEW.org_id := coalesce(parent, '${DEFAULT_ORG_ID}'::uuid);
            RETURN NEW;
          END
          $fn$;
          COMMENT ON FUNCTION legacy_fill_org_id() IS 'Legacy inserts without org_id: the conversation''s (messages), the session''s, the user''s, else the Default Organization';`);
        for (const t of TENANT_LEGACY_TABLES) {
          await ddl(`CREATE OR REPLACE TRIGGER ${t}_legacy_fill_org_id BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION legacy_fill_org_id()`);
        }
        const legacyFn = await s.query(`SELECT 1 FROM pg_proc WHERE proname = 'update_updated_at_column' AND pronamespace = 'public'::regnamespace`);
        if (legacyFn.rows.length) {
          await s.exec(`
            CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
              IF current_setting('robbieverse.backfill', true) = 'on' THEN RETURN NEW; END IF;
              NEW.updated_at = NOW();
              RETURN NEW;
            END
            $fn$;`);
        }
      });

      // 4. UNIQUE (org_id, id) indexes, which later tables' composite keys need; concurrently on a server.
      await run('unique-keys', async () => {
        const built: string[] = [];
        for (const t of TENANT_LEGACY_TABLES) {
          const name = `${t}_org_id_id_key`;
          built.push(...(await buildIndex(s, server, name, `CREATE UNIQUE INDEX ${server ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${name} ON ${t} (org_id, id)`, warnings)));
        }
        return { indexes: built };
      });

      // 5. The platform's migrations, in legacy mode (they alter the 8 tables instead of creating them).
      await run('migrate', async () => {
        const r = await migrate(db, {
          files: opts.files,
          statementLockTimeoutMs: ddlLockTimeoutMs,
          lockRetries: 40,
          onEvent: (event) => emit?.({ type: 'migrate', event }),
        });
        return { applied: r.applied.map((a) => a.name) };
      });

      // 6. Backfill org_id in short batches, parents first, updated_at preserved.
      const backfilled: Record<string, number> = {};
      await run('backfill', async () => {
        await s.query(
          `INSERT INTO organizations (id, name, org_type, status) VALUES ($1, 'Default Organization', 'personal', 'active') ON CONFLICT (id) DO NOTHING`,
          [DEFAULT_ORG_ID],
        );
        const parentExpr: Record<string, string> = {
          users: `'${DEFAULT_ORG_ID}'::uuid`,
          conversations: `coalesce((SELECT u.org_id FROM users u WHERE u.id = t.user_id), '${DEFAULT_ORG_ID}'::uuid)`,
          messages: `coalesce((SELECT c.org_id FROM conversations c WHERE c.id = t.conversation_id), '${DEFAULT_ORG_ID}'::uuid)`,
          mentors: `'${DEFAULT_ORG_ID}'::uuid`,
          integrations: `coalesce((SELECT u.org_id FROM users u WHERE u.id = t.user_id), '${DEFAULT_ORG_ID}'::uuid)`,
          webhooks: `coalesce((SELECT u.org_id FROM users u WHERE u.id = t.user_id), '${DEFAULT_ORG_ID}'::uuid)`,
        };
        for (const t of TENANT_LEGACY_TABLES) {
          const total = (await s.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE org_id IS NULL`)).rows[0]!.n;
          let done = 0;
          // Walk the primary key from where the last batch stopped (a resumed run starts at the
          // beginning and passes the finished rows once); repeat the walk if a row was missed.
          for (let pass = 0; pass < 3 && done < total; pass++) {
            let last = '00000000-0000-0000-0000-000000000000';
            for (;;) {
              await s.exec('BEGIN');
              await s.exec(`SET LOCAL robbieverse.backfill = 'on'; SET LOCAL lock_timeout = '2s'`);
              const r = await s.query<{ last: string | null; n: number }>(
                `WITH upd AS (
                   UPDATE ${t} AS t SET org_id = ${parentExpr[t]}
                    WHERE t.id IN (SELECT id FROM ${t} WHERE id > $1::uuid AND org_id IS NULL ORDER BY id LIMIT ${batchSize} FOR UPDATE)
                   RETURNING t.id)
                 SELECT max(id::text) AS last, count(*)::int AS n FROM upd`,
                [last],
              );
              await s.exec('COMMIT');
              const { n, last: next } = r.rows[0]!;
              if (!n || !next) break;
              done += n;
              last = next;
              emit?.({ type: 'backfill-progress', table: t, done, total });
              if (pauseMs) await sleep(pauseMs);
            }
            const left = (await s.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE org_id IS NULL`)).rows[0]!.n;
            if (left === 0) break;
          }
          backfilled[t] = done;
        }
        // Counters the unified schema keeps on conversations, filled the same batched way.
        const hasCounters = await s.query(`SELECT 1 FROM pg_attribute WHERE attrelid = 'conversations'::regclass AND attname = 'message_count'`);
        if (hasCounters.rows.length) {
          let after = '00000000-0000-0000-0000-000000000000';
          for (;;) {
            await s.exec('BEGIN');
            await s.exec(`SET LOCAL robbieverse.backfill = 'on'`);
            // Small batches: the application's new messages update their conversation's row too.
            const r = await s.query<{ last: string | null }>(
              `WITH batch AS (SELECT id FROM conversations WHERE id > $1 ORDER BY id LIMIT 200),
                    counts AS (SELECT m.conversation_id AS id, count(*)::int AS n, max(m.created_at) AS last_at
                                 FROM messages m WHERE m.conversation_id IN (SELECT id FROM batch) GROUP BY 1),
                    upd AS (UPDATE conversations c
                               SET message_count = coalesce(counts.n, 0), last_message_at = counts.last_at
                              FROM batch LEFT JOIN counts ON counts.id = batch.id
                             WHERE c.id = batch.id RETURNING c.id)
               SELECT max(id::text) AS last FROM upd`,
              [after],
            );
            await s.exec('COMMIT');
            const last = r.rows[0]?.last;
            if (!last) break;
            after = last;
          }
        }
        // The memory index skips the backfill's row-by-row updates: the rows that now have an
        // organization are queued for embedding in one statement per table instead.
        await requeueAll(s);
        return { backfilled };
      });

      // 7. Every legacy user is a member of the Default Organization (first admin → owner).
      await run('memberships', async () => {
        const r = await s.query(
          `WITH ranked AS (
             SELECT id, org_id, role, is_active,
                    row_number() OVER (ORDER BY (role = 'admin') DESC, is_active DESC, created_at, id) AS rank
               FROM users)
           INSERT INTO organization_memberships (org_id, user_id, role, is_active)
           SELECT org_id, id,
                  CASE WHEN rank = 1 THEN 'owner' WHEN role = 'admin' THEN 'admin' ELSE 'member' END,
                  coalesce(is_active, true)
             FROM ranked
           ON CONFLICT (org_id, user_id) DO NOTHING`,
        );
        return { memberships: r.rowCount };
      });

      // 7b. Users named on the legacy rows are members of the row's organization (what 029 does on
      //     a fresh install), and a user the legacy application inserts gets its membership at once.
      await run('user-keys', () =>
        addLegacyUserKeys(s, {
          ddl: (sql) => ddl(sql),
          buildIndex: (name, on) => buildIndex(s, server, name, `CREATE INDEX ${server ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${quote(name)} ${on}`, warnings),
        }),
      );

      // 8. Validate what was added NOT VALID (reads and writes continue during the scans).
      await run('validate', async () => {
        const { rows } = await s.query<{ t: string; c: string }>(
          `SELECT conrelid::regclass::text AS t, conname AS c FROM pg_constraint
            WHERE NOT convalidated AND conrelid::regclass::text = ANY ($1::text[]) ORDER BY 1, 2`,
          [LEGACY_TABLES],
        );
        for (const r of rows) await ddl(`ALTER TABLE ${quote(r.t)} VALIDATE CONSTRAINT ${quote(r.c)}`);
        // The legacy single-column messages → conversations key is now implied by the validated
        // composite one with the same delete rule (cascade): drop it, so every tenant reference is composite.
        const pair = await s.query<{ legacy: string | null; same: boolean }>(
          `SELECT l.conname AS legacy, (l.confdeltype = c.confdeltype AND c.convalidated) AS same
             FROM pg_constraint l JOIN pg_constraint c ON c.conrelid = l.conrelid AND c.conname = 'messages_conversation_id_fkey'
            WHERE l.conrelid = 'messages'::regclass AND l.conname = 'messages_conversation_id_legacy_fkey'`,
        );
        const dropped: string[] = [];
        if (pair.rows[0]?.same) {
          await ddl(`ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_legacy_fkey`);
          dropped.push('messages_conversation_id_legacy_fkey');
        } else if (pair.rows[0]) warnings.push('kept messages_conversation_id_legacy_fkey: the composite key does not have the same delete rule');
        return { validated: rows.map((r) => `${r.t}.${r.c}`), dropped };
      });

      // 9. NOT NULL without a long exclusive lock: a validated CHECK lets SET NOT NULL skip its scan.
      await run('not-null', async () => {
        for (const t of TENANT_LEGACY_TABLES) {
          const nn = await s.query<{ nn: boolean }>(`SELECT attnotnull AS nn FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'org_id'`, [t]);
          if (nn.rows[0]?.nn) continue;
          const check = `${t}_org_id_not_null`;
          await ddl(`ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${check}`);
          await ddl(`ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (org_id IS NOT NULL) NOT VALID`);
          await ddl(`ALTER TABLE ${t} VALIDATE CONSTRAINT ${check}`);
          await ddl(`ALTER TABLE ${t} ALTER COLUMN org_id SET NOT NULL`);
          await ddl(`ALTER TABLE ${t} DROP CONSTRAINT ${check}`);
        }
      });

      // 10. An index for every foreign key of the legacy tables; concurrently on a server.
      await run('indexes', async () => {
        const rows = (await unindexedForeignKeys(s, LEGACY_TABLES)).map((r) => ({ t: r.table, cols: r.columns }));
        const built: string[] = [];
        for (const [name, def] of LEGACY_ACCESS_INDEXES) {
          built.push(...(await buildIndex(s, server, name, `CREATE INDEX ${server ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${name} ${def}`, warnings)));
        }
        const seen = new Set<string>();
        for (const r of rows) {
          const name = `${r.t}_${r.cols.join('_')}_idx`.slice(0, 59);
          if (seen.has(name)) continue;
          seen.add(name);
          built.push(
            ...(await buildIndex(s, server, name, `CREATE INDEX ${server ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${quote(name)} ON ${quote(r.t)} (${r.cols.map(quote).join(', ')})`, warnings)),
          );
        }
        return { indexes: built };
      });

      // 11. Verify against the baseline.
      state = await stepState(s);
      const baseline = state.get('baseline')!.details.baseline as Baseline;
      const tables: TableReport[] = [];
      await setChecksumSession(s);
      for (const t of LEGACY_TABLES) {
        const b = baseline.tables[t]!;
        const after = await tableChecksum(s, t, b.columns, 50_000, baseline.cutoff);
        const rowsAfter = (await s.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quote(t)}`)).rows[0]!.n;
        // A changed row is the application's doing only if its own updated_at says it was written after the baseline.
        const appWrite = b.columns.includes('updated_at') ? `t.updated_at >= $2::timestamptz` : `($2::timestamptz IS NULL AND false)`;
        const diff = await s.query<{ deleted: number; changed: number; app: number }>(
          `SELECT count(*) FILTER (WHERE t.id IS NULL)::int AS deleted,
                  count(*) FILTER (WHERE t.id IS NOT NULL AND ${rowHash(b.columns, 't')} <> b.hash AND NOT (${appWrite}))::int AS changed,
                  count(*) FILTER (WHERE t.id IS NOT NULL AND ${rowHash(b.columns, 't')} <> b.hash AND (${appWrite}))::int AS app
             FROM robbieverse_meta.legacy_baseline_rows b LEFT JOIN ${quote(t)} t ON t.id = b.id
            WHERE b.tbl = $1`,
          [t, baseline.cutoff],
        );
        const d = diff.rows[0]!;
        tables.push({
          table: t,
          rowsBefore: b.rows,
          rowsAfter,
          checksumBefore: b.checksum.checksum,
          checksumAfter: after.checksum,
          match: d.deleted === 0 && d.changed === 0,
          changedByUpgrade: d.changed,
          missing: d.deleted,
          updatedByApplication: d.app,
          backfilled: Number((state.get('backfill')?.details.backfilled as Record<string, number> | undefined)?.[t] ?? 0),
        });
        if (d.app) warnings.push(`${t}: ${d.app} rows were updated by the application while the upgrade ran (their updated_at is later)`);
        if (rowsAfter > b.rows) warnings.push(`${t}: ${rowsAfter - b.rows} rows were added while the upgrade ran (they have an organization)`);
      }
      const invariants = await checkInvariants(s);
      const ok = tables.every((t) => t.match) && invariants.every((i) => i.ok);
      if (state.get('verify')?.status !== 'done') await mark(s, 'verify', ok ? 'done' : 'failed', { ok });
      state = await stepState(s);

      const report: UpgradeReport = {
        ok,
        resumed,
        backup,
        steps: STEPS.map((step) => ({ step, status: state.get(step)?.status ?? 'pending', ms: state.get(step)?.ms ?? null })),
        tables,
        invariants,
        warnings,
        ms: Date.now() - t0,
        reportPath: null,
      };
      if (backup) {
        report.reportPath = backup.path.replace(/(\.pglite\.tar\.gz|\.dump)$/, '') + '-report.json';
        fs.writeFileSync(report.reportPath, JSON.stringify(report, null, 2) + '\n');
      } else if (opts.backupDir) {
        fs.mkdirSync(opts.backupDir, { recursive: true });
        report.reportPath = path.join(opts.backupDir, `upgrade-report-${Date.now()}.json`);
        fs.writeFileSync(report.reportPath, JSON.stringify(report, null, 2) + '\n');
      }
      return report;
    } finally {
      if (server) await s.query('SELECT pg_advisory_unlock($1, $2)', UPGRADE_LOCK).catch(() => {});
    }
  });
}

/** Builds an index (concurrently on a server), first dropping an INVALID one an interrupted build left. */
async function buildIndex(s: Queryable, server: boolean, name: string, sql: string, warnings: string[]): Promise<string[]> {
  const existing = await s.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace`,
    [name],
  );
  if (existing.rows[0]?.valid) return [];
  if (existing.rows.length) {
    warnings.push(`index ${name} was left invalid by an interrupted build; rebuilt`);
    await s.exec(`DROP INDEX ${server ? 'CONCURRENTLY ' : ''}IF EXISTS ${quote(name)}`);
  }
  await s.exec(sql);
  return [name];
}

async function checkInvariants(s: Queryable): Promise<UpgradeReport['invariants']> {
  const q = async (name: string, sql: string) => {
    const n = (await s.query<{ n: number }>(sql)).rows[0]!.n;
    return { name, ok: n === 0, detail: n ? `${n} offending rows` : undefined };
  };
  const out = [];
  for (const t of TENANT_LEGACY_TABLES) out.push(await q(`${t}: no NULL org_id`, `SELECT count(*)::int AS n FROM ${t} WHERE org_id IS NULL`));
  out.push(await q('a message belongs to its conversation\'s organization', `SELECT count(*)::int AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.org_id <> c.org_id`));
  out.push(await q('every user is a member of their home organization', `SELECT count(*)::int AS n FROM users u WHERE NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE m.user_id = u.id AND m.org_id = u.org_id)`));
  out.push(await q('no constraint left NOT VALID', `SELECT count(*)::int AS n FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND NOT c.convalidated`));
  out.push(await q('no invalid index', `SELECT count(*)::int AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisvalid`));
  // The legacy application's inserts keep working, in a transaction that is rolled back.
  await s.exec('BEGIN');
  try {
    const u = await s.query<{ id: string; org_id: string }>(
      `INSERT INTO users (username, email, password_hash) VALUES ('upgrade-smoke', 'upgrade-smoke@example.invalid', 'x') RETURNING id, org_id`,
    );
    // The new user's own conversation: the user became a member when inserted, so the composite key holds.
    const c = await s.query<{ id: string; org_id: string }>(`INSERT INTO conversations (user_id, title) VALUES ($1, 'smoke') RETURNING id, org_id`, [u.rows[0]!.id]);
    const m = await s.query<{ org_id: string }>(`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', 'smoke') RETURNING org_id`, [c.rows[0]!.id]);
    const ok = [u.rows[0]!.org_id, c.rows[0]!.org_id, m.rows[0]!.org_id].every((o) => o === DEFAULT_ORG_ID);
    out.push({ name: 'legacy inserts without org_id land in the Default Organization', ok });
  } catch (err) {
    out.push({ name: 'legacy inserts without org_id land in the Default Organization', ok: false, detail: (err as Error).message });
  } finally {
    await s.exec('ROLLBACK');
  }
  return out;
}
