import { unindexedForeignKeys } from '../../db/catalog.js';
import { failIf, type Check } from '../types.js';

/** Every foreign key has an index whose leading columns are the key's columns. */
export const fkIndexes: Check = {
  id: 'fk-indexes',
  title: 'every foreign key has a supporting index',
  async run(q) {
    const rows = await unindexedForeignKeys(q);
    const { rows: total } = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'`,
    );
    return failIf(
      rows.map((r) => `${r.table}.${r.constraint} (${r.columns.join(', ')})`),
      `${total[0]!.n} foreign keys, all indexed`,
      `${rows.length} foreign keys without a supporting index`,
      { foreignKeys: total[0]!.n },
    );
  },
};

export const validity: Check = {
  id: 'validity',
  title: 'no invalid index, no unvalidated constraint',
  async run(q) {
    const { rows } = await q.query<{ what: string }>(`
      SELECT 'invalid index ' || i.indexrelid::regclass::text AS what
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND NOT i.indisvalid
      UNION ALL
      SELECT 'unvalidated constraint ' || c.conrelid::regclass::text || '.' || c.conname
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
       WHERE n.nspname = 'public' AND NOT c.convalidated
      ORDER BY 1`);
    return failIf(rows.map((r) => r.what), 'all indexes valid, all constraints validated', 'invalid indexes or unvalidated constraints');
  },
};

export const tableComments: Check = {
  id: 'table-comments',
  title: 'every table has a comment',
  async run(q) {
    const { rows } = await q.query<{ t: string }>(`
      SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1`);
    return failIf(rows.map((r) => r.t), 'all tables commented', `${rows.length} tables without COMMENT ON TABLE`);
  },
};

export const updatedAtTriggers: Check = {
  id: 'updated-at',
  title: 'every updated_at column is maintained by set_updated_at()',
  async run(q) {
    const { rows } = await q.query<{ t: string }>(`
      SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         AND NOT EXISTS (SELECT 1 FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
                          WHERE tg.tgrelid = c.oid AND p.proname = 'set_updated_at' AND NOT tg.tgisinternal)
       ORDER BY 1`);
    return failIf(rows.map((r) => r.t), 'all updated_at columns have the trigger', `${rows.length} tables with updated_at but no set_updated_at trigger`);
  },
};
