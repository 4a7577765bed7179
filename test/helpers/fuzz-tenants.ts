import type { Db } from '../../src/db/types.js';

/** A checksum of one organization's rows (or of the rows without an organization) in one table. */
export type OrgChecksums = Map<string, { rows: number; sum: string }>;

/** table → checksums keyed by org id ('' = org_id IS NULL) */
export type TenantSnapshot = Map<string, OrgChecksums>;

export async function tenantTables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ t: string }>(
    `SELECT c.table_name AS t FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
      WHERE c.table_schema = 'public' AND c.column_name = 'org_id' ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

/** Every tenant table's rows, grouped by organization, as counts and md5 checksums (read as the owner: no RLS). */
export async function snapshotTenants(db: Db, tables: string[]): Promise<TenantSnapshot> {
  const snap: TenantSnapshot = new Map();
  for (const t of tables) {
    const { rows } = await db.query<{ org: string; n: number; sum: string }>(
      `SELECT coalesce(x.org_id::text, '') AS org, count(*)::int AS n, md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) AS sum
         FROM public."${t}" x GROUP BY x.org_id`,
    );
    snap.set(t, new Map(rows.map((r) => [r.org, { rows: r.n, sum: r.sum }])));
  }
  return snap;
}

/** The account-level rows that belong to organizations other than the caller's: their organization rows and their own users. */
export async function snapshotAccounts(db: Db, orgIds: string[]): Promise<string> {
  const { rows } = await db.query<{ sum: string }>(
    `SELECT md5(coalesce(string_agg(s, '' ORDER BY s), '')) AS sum FROM (
       SELECT md5(o::text) AS s FROM organizations o WHERE o.id = ANY($1::uuid[])
       UNION ALL
       SELECT md5(u::text) FROM users u
        WHERE EXISTS (SELECT 1 FROM organization_memberships m WHERE m.user_id = u.id AND m.org_id = ANY($1::uuid[]))) z`,
    [orgIds],
  );
  return rows[0]!.sum;
}

export interface IsolationReport {
  /** table: what changed for an organization that is not the caller's */
  changedElsewhere: string[];
  /** table: organizations that gained rows without being the caller's or founded during the run */
  strayRows: string[];
  /** rows added in the caller's organization (and in organizations founded during the run) */
  addedInCaller: number;
  addedInFounded: number;
}

/**
 * Compares two snapshots: every organization other than `caller` must be unchanged, except
 * organizations that did not exist before (founded by the caller during the run, checked apart).
 */
export function compareSnapshots(before: TenantSnapshot, after: TenantSnapshot, caller: string, founded: Set<string>): IsolationReport {
  const report: IsolationReport = { changedElsewhere: [], strayRows: [], addedInCaller: 0, addedInFounded: 0 };
  for (const [table, was] of before) {
    const now = after.get(table) ?? new Map();
    const orgs = new Set([...was.keys(), ...now.keys()]);
    for (const org of orgs) {
      const a = was.get(org);
      const b = now.get(org);
      if (org === caller) {
        report.addedInCaller += Math.max(0, (b?.rows ?? 0) - (a?.rows ?? 0));
        continue;
      }
      if (!a && founded.has(org)) {
        report.addedInFounded += b?.rows ?? 0;
        continue;
      }
      if (!a) report.strayRows.push(`${table}: ${b!.rows} row(s) in organization ${org || '(none)'}`);
      else if (!b || a.sum !== b.sum) report.changedElsewhere.push(`${table}: organization ${org || '(none)'} had ${a.rows} row(s), now ${b?.rows ?? 0}${b && b.rows === a.rows ? ' (contents changed)' : ''}`);
    }
  }
  return report;
}
