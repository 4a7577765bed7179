import type { Queryable } from '../db/types.js';

/**
 * A normalised, diffable description of everything in schema `public` (and the runner's
 * schema): tables with columns, constraints, indexes, triggers, policies and comments; views;
 * functions (signature and a hash of the definition). Sorted, so equal schemas give equal text.
 */
export async function schemaSnapshot(q: Queryable): Promise<string> {
  const out: string[] = [];
  const tables = await q.query<{ oid: number; name: string; rls: boolean; comment: string | null }>(`
    SELECT c.oid::int AS oid, c.relname AS name, c.relrowsecurity AS rls, obj_description(c.oid, 'pg_class') AS comment
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`);
  for (const t of tables.rows) {
    out.push(`table ${t.name}${t.rls ? ' [rls]' : ''}${t.comment ? `  -- ${t.comment}` : ''}`);
    const cols = await q.query<{ line: string }>(
      `SELECT format('  column %s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                     CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                     coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')) AS line
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [t.oid],
    );
    out.push(...cols.rows.map((r) => r.line));
    const cons = await q.query<{ line: string }>(
      `SELECT format('  constraint %s %s', conname, pg_get_constraintdef(oid)) AS line FROM pg_constraint WHERE conrelid = $1 ORDER BY conname`,
      [t.oid],
    );
    out.push(...cons.rows.map((r) => r.line));
    const idx = await q.query<{ line: string }>(
      `SELECT '  index ' || regexp_replace(pg_get_indexdef(indexrelid), ' ON public\\.', ' ON ') AS line
         FROM pg_index WHERE indrelid = $1 ORDER BY indexrelid::regclass::text`,
      [t.oid],
    );
    out.push(...idx.rows.map((r) => r.line));
    const trg = await q.query<{ line: string }>(
      `SELECT '  trigger ' || regexp_replace(pg_get_triggerdef(oid), ' ON public\\.', ' ON ') AS line FROM pg_trigger
        WHERE tgrelid = $1 AND NOT tgisinternal ORDER BY tgname`,
      [t.oid],
    );
    out.push(...trg.rows.map((r) => r.line));
    const pol = await q.query<{ line: string }>(
      `SELECT format('  policy %s %s %s to %s using (%s) check (%s)', polname,
                     CASE WHEN polpermissive THEN 'permissive' ELSE 'restrictive' END,
                     CASE polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END,
                     (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END, ',' ORDER BY 1) FROM unnest(polroles) r),
                     coalesce(pg_get_expr(polqual, polrelid), ''), coalesce(pg_get_expr(polwithcheck, polrelid), '')) AS line
         FROM pg_policy WHERE polrelid = $1 ORDER BY polname`,
      [t.oid],
    );
    out.push(...pol.rows.map((r) => r.line));
  }
  const views = await q.query<{ line: string }>(`
    SELECT format('view %s%s', c.relname, coalesce('  -- ' || obj_description(c.oid, 'pg_class'), '')) || E'\\n  columns ' ||
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) ||
           E'\\n  definition md5 ' || md5(pg_get_viewdef(c.oid)) AS line
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm') ORDER BY c.relname`);
  out.push(...views.rows.map((r) => r.line));
  const fns = await q.query<{ line: string }>(`
    SELECT format('function %s(%s) returns %s %s%s md5 %s', p.proname, pg_get_function_identity_arguments(p.oid),
                  pg_get_function_result(p.oid), l.lanname, CASE WHEN p.prosecdef THEN ' security definer' ELSE '' END,
                  md5(p.prosrc)) AS line
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
     WHERE n.nspname = 'public'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1`);
  out.push(...fns.rows.map((r) => r.line));
  return out.join('\n') + '\n';
}
