import { failIf, GLOBAL_TABLES_WITH_ORG_ID, tenantTables, type Check } from '../types.js';

interface TableFacts {
  t: string;
  org_not_null: boolean;
  has_org_id_unique: boolean;
  rls: boolean;
  policies: number;
}

async function facts(q: Parameters<Check['run']>[0], tables: string[]): Promise<TableFacts[]> {
  const { rows } = await q.query<TableFacts>(
    `SELECT c.relname AS t,
            a.attnotnull AS org_not_null,
            EXISTS (SELECT 1 FROM pg_index i
                     WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL AND i.indnkeyatts = 2
                       AND (SELECT array_agg(att.attname::text ORDER BY att.attname) FROM unnest(i.indkey::int2[]) k
                              JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum = k) = ARRAY['id', 'org_id']) AS has_org_id_unique,
            c.relrowsecurity AS rls,
            (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id'
      WHERE n.nspname = 'public' AND c.relname = ANY ($1::text[])
      ORDER BY 1`,
    [tables],
  );
  return rows;
}

/** org_id NOT NULL, UNIQUE (org_id, id), RLS enabled and a policy on every tenant table. */
export const tenantShape: Check = {
  id: 'tenancy',
  title: 'tenant tables: org_id NOT NULL, UNIQUE (org_id, id), RLS enabled with a policy',
  async run(q) {
    const tenants = await tenantTables(q);
    const problems: string[] = [];
    for (const f of await facts(q, tenants)) {
      if (!f.org_not_null) problems.push(`${f.t}: org_id is nullable`);
      if (!f.has_org_id_unique) problems.push(`${f.t}: no UNIQUE (org_id, id)`);
      if (!f.rls) problems.push(`${f.t}: row-level security not enabled`);
      if (f.policies === 0) problems.push(`${f.t}: no policy`);
    }
    for (const f of await facts(q, GLOBAL_TABLES_WITH_ORG_ID)) {
      if (!f.rls || f.policies === 0) problems.push(`${f.t}: carries org_id but lacks row-level security or a policy`);
    }
    return failIf(problems, `${tenants.length} tenant tables, all isolated`, `${problems.length} tenancy problems`, { tenantTables: tenants.length });
  },
};

/** A foreign key between two tenant tables must carry org_id, or a row could point into another org. */
export const compositeTenantFks: Check = {
  id: 'tenant-fks',
  title: 'references between tenant tables are composite (org_id, x_id)',
  async run(q) {
    const tenants = await tenantTables(q);
    const { rows } = await q.query<{ tbl: string; con: string; ok: boolean }>(
      `SELECT c.conrelid::regclass::text AS tbl, c.conname AS con,
              EXISTS (SELECT 1 FROM unnest(c.conkey, c.confkey) AS k(src, dst)
                        JOIN pg_attribute s ON s.attrelid = c.conrelid AND s.attnum = k.src
                        JOIN pg_attribute d ON d.attrelid = c.confrelid AND d.attnum = k.dst
                       WHERE s.attname = 'org_id' AND d.attname = 'org_id') AS ok
         FROM pg_constraint c
         JOIN pg_class src ON src.oid = c.conrelid JOIN pg_class dst ON dst.oid = c.confrelid
        WHERE c.contype = 'f' AND src.relname = ANY ($1::text[]) AND dst.relname = ANY ($1::text[])
        ORDER BY 1, 2`,
      [tenants],
    );
    const bad = rows.filter((r) => !r.ok).map((r) => `${r.tbl}.${r.con}`);
    return failIf(bad, `${rows.length} tenant-to-tenant references, all composite`, `${bad.length} tenant-to-tenant references without org_id`);
  },
};

/**
 * Could every tenant table be distributed by org_id (Citus)? A distributed table's unique
 * constraints must include the distribution column. The primary key (id) is fine: UNIQUE
 * (org_id, id) already exists, so making it the key is a metadata change. Other unique
 * constraints without org_id, and references to tenant tables without org_id, are blockers.
 */
export const distributionReadiness: Check = {
  id: 'distribution-readiness',
  title: 'distribution readiness (every tenant table distributable by org_id)',
  async run(q) {
    const tenants = await tenantTables(q);
    const { rows } = await q.query<{ what: string }>(
      `SELECT c.conrelid::regclass::text || ': unique ' || c.conname || ' does not include org_id' AS what
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_attribute id ON id.attrelid = c.conrelid AND id.attname = 'id'
        WHERE c.contype IN ('u', 'p', 'x') AND t.relname = ANY ($1::text[])
          AND NOT (c.contype = 'p' AND c.conkey = ARRAY[id.attnum])
          AND NOT EXISTS (SELECT 1 FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k WHERE a.attname = 'org_id')
       UNION ALL
       SELECT 'unique index ' || i.indexrelid::regclass::text || ' does not include org_id'
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE i.indisunique AND t.relname = ANY ($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k WHERE a.attname = 'org_id')
       ORDER BY 1`,
      [tenants],
    );
    const blockers = rows.map((r) => r.what);
    const blocked = new Set(blockers.map((b) => b.replace(/^unique index /, '').split(/[:.]/)[0]));
    return {
      status: 'info',
      summary: blockers.length
        ? `${tenants.length - blocked.size}/${tenants.length} tenant tables ready; ${blockers.length} unique constraints would need org_id first`
        : `ready: all ${tenants.length} tenant tables could be distributed by org_id (primary keys become (org_id, id), a metadata change)`,
      problems: blockers.length ? blockers : undefined,
      data: { tenantTables: tenants.length, blockers },
    };
  },
};
