import { asServerError, RobbieverseError } from '../errors.js';
import { capabilityFlags, detectCapabilities, type Capabilities, type Db, type Queryable } from '../db/types.js';
import { renderForCapabilities } from './directives.js';
import type { MigrationFile } from './files.js';
import { META_DDL, readHistory, recordCapabilities } from './history.js';
import { driftError, planMigrations } from './plan.js';
import { lineAt, splitStatements } from './split.js';
import { detectDatabaseState } from './legacy/detect.js';
import {
  hasLibraryFunction, loadComponentLibrary, registerLibrary, type LibraryComponent, type RegisterResult,
} from '../blocks/library.js';

/** Two-key advisory lock that serialises migrators on one server ('RBVS', 1). */
export const MIGRATION_LOCK: [number, number] = [0x52425653, 1];

export type MigrateEvent =
  | { type: 'capabilities'; capabilities: Capabilities }
  | { type: 'lock-wait'; holderPid: number | null }
  | { type: 'lock-acquired'; waitedMs: number }
  | { type: 'plan'; pending: number; applied: number }
  | { type: 'migration-start'; name: string; index: number; total: number }
  | { type: 'migration-done'; name: string; index: number; total: number; ms: number }
  | { type: 'migration-retry'; name: string; attempt: number; reason: string }
  | { type: 'library'; inserted: number; updated: number; unchanged: number; skipped: number };

export interface MigrateOptions {
  files: MigrationFile[];
  /** How long to wait for another migrator, and for each statement's locks (ms). */
  lockTimeoutMs?: number;
  /**
   * For online changes: each statement waits at most this long for a table lock (ms); a migration
   * that times out or deadlocks is rolled back and tried again, up to `lockRetries` times, so it
   * never queues for long in front of the application's writes.
   */
  statementLockTimeoutMs?: number;
  lockRetries?: number;
  /**
   * Reference data registered after the migrations, in a transaction of its own: the component
   * library (default: the bundled one, blocks/); `false` skips it. Only on a schema that has
   * robbieblocks_register_components (migration 038); a sync node writes nothing (see docs/blocks.md).
   */
  library?: LibraryComponent[] | false;
  onEvent?: (e: MigrateEvent) => void;
}

export interface MigrateResult {
  applied: { name: string; ms: number }[];
  alreadyApplied: number;
  /** What registering the component library did; null when it was not registered (no 038, or `library: false`). */
  library: RegisterResult | null;
  capabilities: Capabilities;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function acquireMigrationLock(s: Queryable, timeoutMs: number, onEvent?: (e: MigrateEvent) => void): Promise<void> {
  const t0 = Date.now();
  let announced = false;
  for (;;) {
    const { rows } = await s.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', MIGRATION_LOCK);
    if (rows[0]?.ok) {
      if (announced) onEvent?.({ type: 'lock-acquired', waitedMs: Date.now() - t0 });
      return;
    }
    if (!announced) {
      announced = true;
      const holder = await s.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND granted LIMIT 1`,
        MIGRATION_LOCK,
      );
      onEvent?.({ type: 'lock-wait', holderPid: holder.rows[0]?.pid ?? null });
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new RobbieverseError('E_MIGRATION_LOCK_TIMEOUT', `another migration has held the migration lock for over ${Math.round(timeoutMs / 1000)} s`, {
        hint: 'wait for it to finish and run again, or raise --lock-timeout; pg_stat_activity shows who holds it',
      });
    }
    await sleep(50 + Math.random() * 150);
  }
}

/**
 * Turns a failed migration into an error that names file and line. With a server position the
 * line is exact; without one (a constraint violated at run time, say) the statements are run one
 * by one in a transaction that is rolled back, to find the one that fails.
 */
async function locateFailure(s: Queryable, file: MigrationFile, sql: string, err: unknown): Promise<RobbieverseError> {
  const se = asServerError(err);
  if (se?.position !== undefined) return failure(file, 1, sql, err);
  if (!se) return failure(file, 1, '', err);
  const statements = splitStatements(sql);
  await s.exec('BEGIN');
  try {
    for (const st of statements) {
      try {
        await s.exec(st.sql);
      } catch (again) {
        return failure(file, st.line, st.sql, asServerError(again)?.code === se.code ? again : err);
      }
    }
    return failure(file, 1, '', err);
  } finally {
    await s.exec('ROLLBACK').catch(() => {});
  }
}

function failure(file: MigrationFile, stmtLine: number, stmtSql: string, err: unknown): RobbieverseError {
  const se = asServerError(err);
  const pos = se?.position !== undefined ? Number(se.position) : NaN;
  const line = Number.isFinite(pos) ? stmtLine + lineAt(stmtSql, pos - 1) - 1 : stmtLine;
  const message = se?.message ?? (err as Error)?.message ?? String(err);
  const extra = [se?.detail && `detail: ${se.detail}`, se?.hint && `server hint: ${se.hint}`, se?.where && `where: ${se.where}`]
    .filter(Boolean)
    .join('\n  ');
  return new RobbieverseError(
    'E_MIGRATION_FAILED',
    `${file.file}:${line}: ${message}${se?.code ? ` (SQLSTATE ${se.code})` : ''}${extra ? `\n  ${extra}` : ''}`,
    {
      hint: `nothing of ${file.file} was applied (its transaction was rolled back); fix the statement at line ${line} and run \`robbieverse db migrate\` again`,
      cause: err,
      details: { file: file.file, line, statementLine: stmtLine, sqlstate: se?.code, serverMessage: message },
    },
  );
}

async function refuseForeignDatabase(s: Queryable): Promise<void> {
  const state = await detectDatabaseState(s);
  const list = (tables: string[]) => tables.slice(0, 12).join(', ') + (tables.length > 12 ? `, … (${tables.length} in all)` : '');
  if (state.kind === 'legacy-aurora' || state.kind === 'legacy-archived') {
    throw new RobbieverseError(
      'E_LEGACY_DATABASE',
      `this is a legacy Aurora database (${list(state.tables)}${state.kind === 'legacy-archived' ? `; it also ran the archived merge migrations: ${state.signals.join(', ')}` : ''}); migrating it like an empty one would fail`,
      {
        hint: 'it needs the in-place legacy upgrade, which this version does not perform yet; nothing was changed. Keep running it as it is, or back it up (pg_dump -Fc) and migrate a new, empty database',
        details: { state },
      },
    );
  }
  if (state.kind === 'unknown') {
    throw new RobbieverseError(
      'E_FOREIGN_DATABASE',
      `refusing to migrate: the database is not empty and is neither a robbieverse database nor a legacy Aurora one.\n  found: ${list(state.tables)}\n` +
        state.differences.slice(0, 8).map((d) => `  - ${d}`).join('\n'),
      { hint: 'point robbieverse at an empty database (a new one, or another --home); nothing was changed', details: { state } },
    );
  }
}

/**
 * The component library is reference data that changes with the code, not with the schema: it is
 * not a migration (those are immutable) but one idempotent upsert run after every migration run,
 * which writes only what differs (an unchanged library writes nothing).
 */
async function applyLibrary(s: Queryable, opts: MigrateOptions, serialise: boolean, lockTimeoutMs: number): Promise<RegisterResult | null> {
  if (!(await hasLibraryFunction(s))) return null;
  const lib = opts.library || loadComponentLibrary();
  await s.exec('BEGIN');
  try {
    if (serialise) await s.exec(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(opts.statementLockTimeoutMs ?? lockTimeoutMs))}`);
    const r = await registerLibrary(s, lib);
    await s.exec('COMMIT');
    return r;
  } catch (err) {
    await s.exec('ROLLBACK').catch(() => {});
    const se = asServerError(err);
    const message = se?.message ?? (err as Error)?.message ?? String(err);
    const code = se?.code ? ` (SQLSTATE ${se.code})` : '';
    throw new RobbieverseError('E_MIGRATION_FAILED', `registering the component library failed: ${message}${code}`, {
      hint: 'the migrations are applied; only the component library (blocks/) was not written. '
        + 'Fix the cause and run `robbieverse db migrate` again',
      cause: err,
    });
  }
}

/**
 * Applies pending migrations, each in its own transaction, in order, exactly once.
 * Refuses (and changes nothing) when the history and the files disagree. Then registers the
 * component library (see applyLibrary).
 */
export async function migrate(db: Db, opts: MigrateOptions): Promise<MigrateResult> {
  const t0 = Date.now();
  const lockTimeoutMs = opts.lockTimeoutMs ?? 60_000;
  const emit = opts.onEvent;
  const capabilities = await detectCapabilities(db);
  emit?.({ type: 'capabilities', capabilities });
  const flags = capabilityFlags(capabilities);
  const serialise = db.engine === 'postgres';

  return db.withSession(async (s) => {
    if (serialise && capabilities.engine === 'postgres' && capabilities.serverVersionNum >= 140000) {
      // If this process dies (kill -9) mid-statement, the server notices within a second and
      // rolls back, instead of finishing a long statement while holding the migration lock.
      await s.exec(`SET client_connection_check_interval = '1s'`);
    }
    if (serialise) await acquireMigrationLock(s, lockTimeoutMs, emit);
    try {
      // Before anything is written: a database with tables but no history of ours is refused.
      // (A legacy database whose in-place upgrade has begun is the upgrade's to migrate.)
      if (!capabilities.legacyUpgrade) await refuseForeignDatabase(s);
      await s.exec(META_DDL);
      const plan = planMigrations(opts.files, await readHistory(s));
      if (plan.drift.length) throw driftError(plan.drift);
      emit?.({ type: 'plan', pending: plan.pending.length, applied: plan.applied.length });
      await recordCapabilities(s, capabilities);

      const applied: MigrateResult['applied'] = [];
      for (const [i, file] of plan.pending.entries()) {
        const sql = renderForCapabilities(file.sql, file.file, flags);
        emit?.({ type: 'migration-start', name: file.name, index: i + 1, total: plan.pending.length });
        const m0 = Date.now();
        for (let attempt = 1; ; attempt++) {
          await s.exec('BEGIN');
          try {
            if (serialise) await s.exec(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(opts.statementLockTimeoutMs ?? lockTimeoutMs))}`);
            try {
              // The whole file in one round trip; line numbers are kept by the rendering.
              await s.exec(sql);
            } catch (err) {
              await s.exec('ROLLBACK').catch(() => {});
              const code = asServerError(err)?.code;
              if ((code === '55P03' || code === '40P01') && attempt <= (opts.lockRetries ?? 0)) {
                emit?.({ type: 'migration-retry', name: file.name, attempt, reason: asServerError(err)!.message });
                await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
                continue;
              }
              throw await locateFailure(s, file, sql, err);
            }
            const ms = Date.now() - m0;
            await s.query(
              `INSERT INTO robbieverse_meta.schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)`,
              [file.version, file.name, file.checksum, ms],
            );
            await s.exec('COMMIT');
            applied.push({ name: file.name, ms });
            emit?.({ type: 'migration-done', name: file.name, index: i + 1, total: plan.pending.length, ms });
            break;
          } catch (err) {
            await s.exec('ROLLBACK').catch(() => {});
            throw err;
          }
        }
      }
      const library = opts.library === false ? null : await applyLibrary(s, opts, serialise, lockTimeoutMs);
      if (library) {
        const n = (k: keyof RegisterResult) => library[k].length;
        emit?.({ type: 'library', inserted: n('inserted'), updated: n('updated'), unchanged: n('unchanged'), skipped: n('skipped') });
      }
      return { applied, alreadyApplied: plan.applied.length, library, capabilities, ms: Date.now() - t0 };
    } finally {
      if (serialise) await s.query('SELECT pg_advisory_unlock($1, $2)', MIGRATION_LOCK).catch(() => {});
    }
  });
}
