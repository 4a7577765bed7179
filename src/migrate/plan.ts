import { RobbieverseError } from '../errors.js';
import type { MigrationFile } from './files.js';
import type { AppliedMigration } from './history.js';

export type DriftKind = 'edited' | 'missing' | 'out-of-order' | 'ahead';

export interface Drift {
  kind: DriftKind;
  version: number;
  name: string;
  message: string;
}

export interface MigrationPlan {
  applied: AppliedMigration[];
  pending: MigrationFile[];
  drift: Drift[];
}

/** Compares the files with the database's history; drift means the runner must refuse. */
export function planMigrations(files: MigrationFile[], history: AppliedMigration[]): MigrationPlan {
  const drift: Drift[] = [];
  const byVersion = new Map(files.map((f) => [f.version, f]));
  const newestFile = files.length ? files[files.length - 1]!.version : 0;
  const appliedVersions = new Set(history.map((h) => h.version));
  const newestApplied = history.length ? Math.max(...history.map((h) => h.version)) : 0;

  for (const h of history) {
    const f = byVersion.get(h.version);
    if (!f) {
      drift.push(
        h.version > newestFile
          ? {
              kind: 'ahead',
              version: h.version,
              name: h.name,
              message: `the database has ${h.name} applied, which this version of robbieverse does not know: the database is ahead of the code`,
            }
          : {
              kind: 'missing',
              version: h.version,
              name: h.name,
              message: `${h.name} was applied (${h.applied_at}) but its file is gone`,
            },
      );
    } else if (f.name !== h.name || f.checksum !== h.checksum) {
      drift.push({
        kind: 'edited',
        version: h.version,
        name: h.name,
        message:
          f.name !== h.name
            ? `${h.name} was applied, but migration ${h.version} is now ${f.file}`
            : `${f.file} was changed after it was applied (checksum ${h.checksum.slice(0, 12)}… in the database, ${f.checksum.slice(0, 12)}… on disk)`,
      });
    }
  }
  const pending = files.filter((f) => !appliedVersions.has(f.version));
  for (const f of pending) {
    if (f.version < newestApplied) {
      drift.push({
        kind: 'out-of-order',
        version: f.version,
        name: f.name,
        message: `${f.file} is new, but a later migration (${newestApplied}) is already applied`,
      });
    }
  }
  return { applied: history, pending, drift };
}

const HINTS: Record<DriftKind, string> = {
  edited: 'restore the applied file exactly as it was (git checkout it) and put the change in a new migration',
  missing: 'restore the missing file from version control; applied migrations are never deleted',
  'out-of-order': 'renumber the new file after the newest applied migration',
  ahead: 'upgrade robbieverse to the version that wrote this database (or point it at the right database)',
};

export function driftError(drift: Drift[]): RobbieverseError {
  const kinds = [...new Set(drift.map((d) => d.kind))];
  return new RobbieverseError(
    'E_MIGRATION_DRIFT',
    `refusing to migrate: the database and the migration files disagree:\n` + drift.map((d) => `  - ${d.message}`).join('\n'),
    { hint: kinds.map((k) => HINTS[k]).join('; ') + '. Nothing was changed.', details: { drift } },
  );
}
