import type { Db } from '../db/types.js';
import type { MigrationFile } from '../migrate/files.js';
import { migrationStatus } from '../migrate/status.js';
import { requiredViews, seedPersonalities, seedRobbieblocksTables, seedTableCount } from './checks/seed-readme.js';
import { fkIndexes, tableComments, updatedAtTriggers, validity } from './checks/structure.js';
import { compositeTenantFks, distributionReadiness, tenantShape } from './checks/tenancy.js';
import { vectorMode } from './checks/vectors.js';
import type { Check, CheckResult } from './types.js';

export type { CheckResult } from './types.js';

export const CHECKS: Check[] = [
  seedTableCount,
  seedRobbieblocksTables,
  seedPersonalities,
  requiredViews,
  fkIndexes,
  tenantShape,
  compositeTenantFks,
  validity,
  tableComments,
  updatedAtTriggers,
  vectorMode,
  distributionReadiness,
];

export interface VerifyReport {
  ok: boolean;
  database: string;
  checks: CheckResult[];
  ms: number;
}

/**
 * Verifies a migrated database: the seed README's checks verbatim, then the schema's own rules.
 * Read-only. `ok` is false when any check fails (info lines never fail).
 */
export async function verifyDatabase(db: Db, opts: { files?: MigrationFile[]; onCheck?: (r: CheckResult) => void } = {}): Promise<VerifyReport> {
  const t0 = Date.now();
  const checks: CheckResult[] = [];
  const record = (r: CheckResult) => {
    checks.push(r);
    opts.onCheck?.(r);
  };
  if (opts.files) {
    const s = await migrationStatus(db, opts.files);
    const problems = [...s.pending.map((p) => `pending: ${p.name}`), ...s.drift.map((d) => `${d.kind}: ${d.message}`)];
    record({
      id: 'migrations',
      title: 'migrations applied, no drift',
      status: problems.length ? 'fail' : 'pass',
      summary: problems.length ? `${s.pending.length} pending, ${s.drift.length} drifted` : `${s.applied.length} applied, none pending`,
      problems: problems.length ? problems : undefined,
    });
  }
  for (const c of CHECKS) {
    try {
      record({ id: c.id, title: c.title, ...(await c.run(db)) });
    } catch (err) {
      record({ id: c.id, title: c.title, status: 'fail', summary: `could not run: ${(err as Error).message}` });
    }
  }
  return { ok: checks.every((c) => c.status !== 'fail'), database: db.location, checks, ms: Date.now() - t0 };
}
