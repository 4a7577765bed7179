import type { Queryable } from './types.js';

export interface UnindexedForeignKey {
  table: string;
  constraint: string;
  columns: string[];
}

/**
 * Foreign keys in `public` with no valid, non-partial index whose leading columns are the key's
 * columns (in any order). `tables` narrows the search.
 */
export async function unindexedForeignKeys(q: Queryable, tables?: string[]): Promise<UnindexedForeignKey[]> {
  const { rows } = await q.query<{ table: string; constraint: string; columns: string[] }>(
    `SELECT c.conrelid::regclass::text AS table, c.conname AS constraint,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS columns
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'f' AND n.nspname = 'public'
        AND ($1::text[] IS NULL OR c.conrelid::regclass::text = ANY ($1::text[]))
        AND NOT EXISTS (
          SELECT 1 FROM pg_index i
           WHERE i.indrelid = c.conrelid AND i.indpred IS NULL AND i.indisvalid
             AND (SELECT array_agg(x ORDER BY x) FROM unnest((i.indkey::int2[])[0:cardinality(c.conkey) - 1]) x)
               = (SELECT array_agg(x ORDER BY x) FROM unnest(c.conkey) x))
      ORDER BY 1, 2`,
    [tables ?? null],
  );
  return rows;
}
