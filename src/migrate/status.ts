import type { Db } from '../db/types.js';
import type { MigrationFile } from './files.js';
import { readHistory } from './history.js';
import { planMigrations, type Drift } from './plan.js';

export interface MigrationStatus {
  database: string;
  applied: { version: number; name: string; appliedAt: string; durationMs: number | null }[];
  pending: { version: number; name: string }[];
  drift: Drift[];
  upToDate: boolean;
}

export async function migrationStatus(db: Db, files: MigrationFile[]): Promise<MigrationStatus> {
  const plan = planMigrations(files, await readHistory(db));
  return {
    database: db.location,
    applied: plan.applied.map((a) => ({ version: a.version, name: a.name, appliedAt: a.applied_at, durationMs: a.duration_ms })),
    pending: plan.pending.map((p) => ({ version: p.version, name: p.name })),
    drift: plan.drift,
    upToDate: plan.pending.length === 0 && plan.drift.length === 0,
  };
}
