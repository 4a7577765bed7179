import type { Queryable } from '../db/types.js';

/** A column as the API sees it, read from the catalog once at start-up. */
export interface ColumnInfo {
  name: string;
  /** format_type(), e.g. "character varying(255)", "timestamp with time zone", "text[]" */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  generated: boolean;
  /** Values allowed by a `col IN (...)` CHECK constraint. */
  enum?: string[];
  comment: string | null;
}

export type JsonSchema = Record<string, unknown>;

export async function readColumns(q: Queryable, table: string): Promise<ColumnInfo[]> {
  const cols = await q.query<{ name: string; type: string; not_null: boolean; has_default: boolean; generated: boolean; comment: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            a.atthasdef AS has_default, a.attgenerated <> '' AS generated, col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [`public.${table}`],
  );
  const checks = await q.query<{ def: string }>(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`,
    [`public.${table}`],
  );
  const enums = new Map<string, string[]>();
  for (const { def } of checks.rows) {
    // CHECK ((status = ANY (ARRAY['todo'::text, 'done'::text])))  — the form `col IN (...)` takes in the catalog
    const m = /^CHECK \(\(\(?([a-z_][a-z0-9_]*)\)?(?:::text)? = ANY \(\(?ARRAY\[(.*)\]\)?(?:::text\[\])?\)\)\)$/.exec(def);
    if (!m) continue;
    const values = [...m[2]!.matchAll(/'((?:[^']|'')*)'::/g)].map((v) => v[1]!.replace(/''/g, "'"));
    if (values.length) enums.set(m[1]!, values);
  }
  return cols.rows.map((c) => ({
    name: c.name,
    type: c.type,
    notNull: c.not_null,
    hasDefault: c.has_default,
    generated: c.generated,
    enum: enums.get(c.name),
    comment: c.comment,
  }));
}

/** JSON Schema of one column's values (nullable columns also accept null). */
export function columnSchema(c: ColumnInfo): JsonSchema {
  const base = baseSchema(c.type);
  if (c.enum) base.enum = c.notNull ? c.enum : [...c.enum, null];
  if (c.comment) base.description = c.comment;
  if (!c.notNull && typeof base.type === 'string') base.type = [base.type, 'null'];
  if (!c.notNull && base.format) base.nullable = true;
  return base;
}

function baseSchema(type: string): JsonSchema {
  const varchar = /^character varying\((\d+)\)$/.exec(type) ?? /^character\((\d+)\)$/.exec(type);
  if (varchar) return { type: 'string', maxLength: Number(varchar[1]) };
  if (type.endsWith('[]')) return { type: 'array', items: baseSchema(type.slice(0, -2)), maxItems: 1000 };
  switch (type) {
    case 'uuid':
      return { type: 'string', format: 'uuid' };
    case 'text':
    case 'character varying':
    case 'inet':
    case 'citext':
      return { type: 'string', maxLength: 100_000 };
    case 'smallint':
      return { type: 'integer', minimum: -32768, maximum: 32767 };
    case 'integer':
      return { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
    case 'bigint':
      return { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };
    case 'real':
    case 'double precision':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return { type: 'string', format: 'date-time' };
    case 'date':
      return { type: 'string', format: 'date' };
    case 'jsonb':
    case 'json':
      return {};
    default:
      if (type.startsWith('numeric')) return { type: 'number' };
      return { type: 'string' };
  }
}

/** Types a query-string filter can be cast to safely. */
export function isFilterable(c: ColumnInfo): boolean {
  return !c.type.endsWith('[]') && !['jsonb', 'json', 'vector'].includes(c.type) && !c.type.startsWith('vector');
}
