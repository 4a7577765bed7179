import { spawnSync } from 'node:child_process';
import { RobbieverseError } from '../errors.js';
import type { MigrationFile } from '../migrate/files.js';
import type { AppliedMigration } from '../migrate/history.js';
import { planMigrations } from '../migrate/plan.js';

function unescapeCopy(v: string): string | null {
  if (v === '\\N') return null;
  return v.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
}

/**
 * The migration history inside a pg_dump archive (robbieverse_meta.schema_migrations), read
 * with pg_restore without a database; [] when the archive has none.
 */
export function dumpHistory(file: string): AppliedMigration[] {
  const r = spawnSync('pg_restore', ['--data-only', '--schema', 'robbieverse_meta', '--table', 'schema_migrations', '--file', '-', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.error || r.status !== 0) {
    throw new RobbieverseError('E_BACKUP', `cannot read the migration history in ${file}: ${r.error?.message ?? r.stderr.trim()}`, { hint: 'nothing was changed' });
  }
  const lines = r.stdout.split('\n');
  const start = lines.findIndex((l) => /^COPY robbieverse_meta\.schema_migrations \(/.test(l));
  if (start < 0) return [];
  const cols = /\(([^)]*)\)/.exec(lines[start]!)![1]!.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const out: AppliedMigration[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '\\.') break;
    const v = Object.fromEntries(line.split('\t').map((x, i) => [cols[i], unescapeCopy(x)]));
    out.push({ version: Number(v.version), name: String(v.name), checksum: String(v.checksum), applied_at: String(v.applied_at), duration_ms: v.duration_ms == null ? null : Number(v.duration_ms) });
  }
  return out;
}

/**
 * Refuses a backup whose migration history does not fit `files` (edited, missing, newer than the
 * code): the check both kinds of restore make before they touch anything.
 */
export function checkBackupHistory(file: string, files: MigrationFile[], history: AppliedMigration[]): { applied: number; pending: number } {
  const plan = planMigrations(files, history);
  if (plan.drift.length) {
    throw new RobbieverseError(
      'E_MIGRATION_DRIFT',
      `refusing to restore ${file}: its migration history does not fit this version of robbieverse:\n` + plan.drift.map((d) => `  - ${d.message}`).join('\n'),
      {
        hint: plan.drift.some((d) => d.kind === 'ahead')
          ? 'the backup was made by a newer robbieverse: restore it with that version; nothing was changed'
          : 'restore it with the robbieverse version (or --migrations) that made it; nothing was changed',
        details: { drift: plan.drift },
      },
    );
  }
  return { applied: history.length, pending: plan.pending.length };
}

/** Refuses a server archive whose migration history does not fit `files`. */
export function checkDumpHistory(file: string, files: MigrationFile[]): { applied: number; pending: number } {
  return checkBackupHistory(file, files, dumpHistory(file));
}
