/**
 * Makes valid rows for any table of the schema, read from the catalog: NOT NULL columns get a
 * value of their type that passes the column's CHECK constraints, and foreign keys get a parent
 * row made the same way (in the same organization for tenant references). Used to test
 * properties that must hold for every table (tenant isolation), so a new table is covered the
 * day it is added. Runs as the migrating (owner) role.
 */
import type { Queryable } from '../../src/db/types.js';

interface Column {
  name: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  maxLen: number | null;
}

interface ForeignKey {
  name: string;
  cols: string[];
  refTable: string;
  refCols: string[];
}

interface TableInfo {
  name: string;
  columns: Column[];
  checks: string[];
  fks: ForeignKey[];
  isTenant: boolean;
}

export type Values = Record<string, unknown>;

/** Polymorphic NOT NULL pairs: point them at a contact of the same organization. */
const POLYMORPHIC: Record<string, { typeCol: string; idCol: string }> = {
  external_refs: { typeCol: 'entity_type', idCol: 'local_id' },
  resource_grants: { typeCol: 'resource_type', idCol: 'resource_id' },
  permission_requests: { typeCol: 'resource_type', idCol: 'resource_id' },
};

let counter = 0;
const uniq = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

export class RowFactory {
  private cache = new Map<string, TableInfo>();

  constructor(private readonly q: Queryable) {}

  async table(name: string): Promise<TableInfo> {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const cols = await this.q.query<{ name: string; type: string; not_null: boolean; has_default: boolean; max_len: number | null }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
              (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default,
              CASE WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS max_len
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [name],
    );
    const checks = await this.q.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`,
      [name],
    );
    const fks = await this.q.query<{ name: string; cols: string[]; ref_table: string; ref_cols: string[] }>(
      `SELECT c.conname AS name,
              ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
              c.confrelid::regclass::text AS ref_table,
              ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS ref_cols
         FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'f' ORDER BY c.conname`,
      [name],
    );
    const info: TableInfo = {
      name,
      columns: cols.rows.map((c) => ({ name: c.name, type: c.type, notNull: c.not_null, hasDefault: c.has_default, maxLen: c.max_len })),
      checks: checks.rows.map((c) => c.def),
      fks: fks.rows.map((f) => ({ name: f.name, cols: f.cols, refTable: f.ref_table, refCols: f.ref_cols })),
      isTenant: cols.rows.some((c) => c.name === 'org_id') && !['users', 'audit_log'].includes(name),
    };
    this.cache.set(name, info);
    return info;
  }

  /**
   * Columns a table-level CHECK needs set although they are nullable: the first of
   * `num_nonnulls(a, b, …) = 1`, and A in `(A IS NOT NULL) OR …`.
   */
  private requiredByChecks(t: TableInfo, given: Values): Set<string> {
    const out = new Set<string>();
    for (const def of t.checks) {
      const group = /num_nonnulls\(([\w, ]+)\) = 1\)/.exec(def)?.[1]?.split(/,\s*/);
      // Exactly one of the group: the first, unless the caller already chose one.
      if (group && !group.some((c) => c in given)) out.add(group[0]!);
      const either = /^CHECK \(\(\((\w+) IS NOT NULL\) OR/.exec(def);
      if (either) out.add(either[1]!);
    }
    return out;
  }

  /** The first value a CHECK allows for this column, if a CHECK names a list or a range. */
  private allowed(t: TableInfo, col: string): unknown {
    for (const def of t.checks) {
      const list = new RegExp(`\\(?\\(?${col}\\)?(?:::\\w+(?: \\w+)?)? = ANY \\(+ARRAY\\[(.*?)\\]`).exec(def);
      if (list) {
        const first = /'((?:[^']|'')*)'/.exec(list[1]!);
        if (first) return first[1]!.replace(/''/g, "'");
      }
      const eq = new RegExp(`\\(?${col}\\)?(?:::\\w+)? = '((?:[^']|'')*)'`).exec(def);
      if (eq && !/ OR /.test(def)) return eq[1];
      const ge = new RegExp(`\\(?${col}\\)?(?:::\\w+)? >= \\(?'?(-?[\\d.]+)`).exec(def);
      if (ge) return Number(ge[1]);
      const gt = new RegExp(`\\(?${col}\\)?(?:::\\w+)? > \\(?'?(-?[\\d.]+)`).exec(def);
      if (gt) return Number(gt[1]) + 1;
    }
    return undefined;
  }

  private scalar(c: Column): unknown {
    const t = c.type;
    if (t.endsWith('[]')) return '{}';
    if (t === 'uuid') return crypto.randomUUID();
    if (/^(character varying|text|character|citext)/.test(t)) {
      const v = `${c.name}-${uniq()}`;
      return c.maxLen ? v.slice(-c.maxLen) : v;
    }
    if (/^(integer|bigint|smallint|numeric|real|double precision)/.test(t)) return 1;
    if (t === 'boolean') return false;
    if (t.startsWith('timestamp')) return new Date(Date.now() + (/end|until|expires|due/.test(c.name) ? 3_600_000 : 0)).toISOString();
    if (t === 'date') return new Date().toISOString().slice(0, 10);
    if (t === 'time without time zone' || t === 'time with time zone') return '12:00:00';
    if (t === 'interval') return '1 hour';
    if (t === 'jsonb' || t === 'json') return c.name.endsWith('s') || c.name === 'permissions' ? '[]' : '{}';
    if (t === 'inet') return '127.0.0.1';
    if (t === 'bytea') return '\\x00';
    throw new Error(`rowgen: no value for ${c.name} ${t}`);
  }

  /** Inserts a row (with parents as needed) and returns it. `orgId` for tenant tables. */
  async insert(table: string, orgId: string | undefined, overrides: Values = {}, depth = 0): Promise<Values> {
    const v = await this.values(table, orgId, overrides, depth);
    const cols = Object.keys(v);
    const sql = `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;
    const r = await this.q.query<Values>(sql, cols.map((c) => v[c]));
    return r.rows[0]!;
  }

  /** The values for a row, creating parent rows (but not the row itself). */
  async values(table: string, orgId: string | undefined, overrides: Values = {}, depth = 0): Promise<Values> {
    if (depth > 8) throw new Error(`rowgen: foreign keys nest too deep at ${table}`);
    const t = await this.table(table);
    const required = this.requiredByChecks(t, overrides);
    const isRequired = (name: string) => {
      const c = t.columns.find((x) => x.name === name);
      return Boolean(c && ((c.notNull && !c.hasDefault) || required.has(name)));
    };
    const v: Values = {};
    if (t.columns.some((c) => c.name === 'org_id')) v.org_id = orgId ?? (await this.someOrg());
    const poly = POLYMORPHIC[table];
    if (poly && !(poly.idCol in overrides)) {
      v[poly.typeCol] = 'contact';
      v[poly.idCol] = (await this.insert('contacts', v.org_id as string, {}, depth + 1)).id;
    }
    for (const fk of t.fks) {
      if (fk.cols.every((c) => c in v || c in overrides)) continue;
      const own = fk.cols.filter((c) => c !== 'org_id');
      if (!own.some(isRequired)) continue;
      Object.assign(v, await this.parentKey(fk, v.org_id as string | undefined, depth, table));
    }
    for (const c of t.columns) {
      if (c.name in v || c.name in overrides || !isRequired(c.name)) continue;
      v[c.name] = this.allowed(t, c.name) ?? this.scalar(c);
    }
    // Values a CHECK restricts even though the column has a default or may be NULL stay unset.
    return { ...v, ...overrides };
  }

  private async someOrg(): Promise<string> {
    return (await this.insert('organizations', undefined, { name: `org-${uniq()}` })).id as string;
  }

  /** Makes (or finds) the parent row a foreign key needs and returns the key columns' values. */
  async parentKey(fk: ForeignKey, orgId: string | undefined, depth: number, child?: string): Promise<Values> {
    const out: Values = {};
    let parent: Values;
    if (fk.refTable === 'organization_memberships') {
      // Composite membership reference (org_id, user_id): a fresh member of this organization.
      const user = await this.user(orgId!);
      parent = { org_id: orgId, user_id: user.id };
    } else if (fk.refTable === 'users') {
      // A new membership's user must not be a member already.
      parent = await this.user(orgId ?? (await this.someOrg()), child === 'organization_memberships' ? null : 'owner');
    } else if (fk.refTable === 'organizations') {
      parent = { id: orgId ?? (await this.someOrg()) };
    } else {
      const pt = await this.table(fk.refTable);
      if (!pt.isTenant) {
        const existing = await this.q.query<Values>(`SELECT ${fk.refCols.map((c) => `"${c}"`).join(', ')} FROM ${fk.refTable} LIMIT 1`);
        parent = existing.rows[0] ?? (await this.insert(fk.refTable, undefined, {}, depth + 1));
      } else {
        parent = await this.insert(fk.refTable, orgId, {}, depth + 1);
      }
    }
    fk.cols.forEach((c, i) => (out[c] = parent[fk.refCols[i]!]));
    return out;
  }

  /** A user whose home is `orgId`, with an active owner membership there. */
  async user(orgId: string, role: string | null = 'owner'): Promise<Values> {
    const u = await this.q.query<Values>(
      `INSERT INTO users (org_id, email, password_hash, username) VALUES ($1, $2, 'not-a-real-hash', $3) RETURNING *`,
      [orgId, `u-${uniq()}@example.test`, `u${uniq()}`],
    );
    if (role) await this.q.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, $3)`, [orgId, u.rows[0]!.id, role]);
    return u.rows[0]!;
  }

  /** Tenant foreign keys of a table (composite, through org_id) to other tenant tables. */
  async tenantFks(table: string): Promise<ForeignKey[]> {
    const t = await this.table(table);
    const out: ForeignKey[] = [];
    for (const fk of t.fks) {
      if (!fk.cols.includes('org_id') || fk.refTable === 'organizations') continue;
      out.push(fk);
    }
    return out;
  }
}
