import crypto from 'node:crypto';
import type { Queryable } from '../../db/types.js';

export interface TableChecksum {
  table: string;
  rows: number;
  /** md5 over the rows in primary-key order, each row's chosen columns rendered as text. */
  checksum: string;
}

const ident = (s: string) => '"' + s.replace(/"/g, '""') + '"';

/** Row text depends on these settings; both sides of a comparison must use the same. */
export async function setChecksumSession(q: Queryable): Promise<void> {
  await q.exec(`SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1`);
}

/** SQL for the hash of one row's chosen columns (optionally qualified by a table alias). */
export function rowHash(columns: string[], alias?: string): string {
  return `md5(ROW(${columns.map((c) => (alias ? `${alias}.` : '') + ident(c)).join(', ')})::text)`;
}

/**
 * Count and content checksum of `columns` of `table`, in chunks of `chunk` rows by primary key
 * (`id`), so a large table is never held in memory at once. Row text is rendered in a fixed
 * time zone and date style, so two sessions (before and after an upgrade) agree. The chunk
 * digests are folded into one: md5(previous || chunk digest). With `createdBefore`, only rows
 * created before that time (or with no created_at) count: rows a live application adds during an
 * upgrade are left out of the comparison.
 */
export async function tableChecksum(q: Queryable, table: string, columns: string[], chunk = 50_000, createdBefore?: string): Promise<TableChecksum> {
  await setChecksumSession(q);
  const row = rowHash(columns);
  let digest = '';
  let rows = 0;
  let after: string | null = null;
  for (;;) {
    const r: { rows: { n: number; d: string | null; last: string | null }[] } = await q.query(
      `SELECT count(*)::int AS n, md5(string_agg(h, '' ORDER BY id)) AS d, max(id::text) AS last
         FROM (SELECT id, ${row} AS h FROM ${ident(table)}
                WHERE ($1::uuid IS NULL OR id > $1::uuid)
                  AND ($2::timestamptz IS NULL OR created_at IS NULL OR created_at < $2::timestamptz)
                ORDER BY id LIMIT ${chunk}) c`,
      [after, createdBefore ?? null],
    );
    const { n, d, last } = r.rows[0]!;
    if (n === 0) break;
    rows += n;
    digest = md5Fold(digest, d!);
    after = last;
    if (n < chunk) break;
  }
  return { table, rows, checksum: digest || 'empty' };
}

/** Folding in JS keeps the server's work per chunk bounded and the result order-sensitive. */
function md5Fold(prev: string, next: string): string {
  return prev ? crypto.createHash('md5').update(prev + next).digest('hex') : next;
}
