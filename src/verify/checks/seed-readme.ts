import { failIf, type Check } from '../types.js';

/** The seed README's own verification queries, run verbatim. */
export const seedTableCount: Check = {
  id: 'seed-table-count',
  title: 'tables in public (seed README: 85+)',
  async run(q) {
    const { rows } = await q.query<{ table_count: number | string }>(`SELECT COUNT(*) as table_count 
FROM pg_tables 
WHERE schemaname = 'public';`);
    const n = Number(rows[0]!.table_count);
    return failIf(n >= 85 ? [] : [`${n} tables`], `${n} tables`, `only ${n} tables in public; the seed README expects 85+`, { tables: n });
  },
};

export const seedRobbieblocksTables: Check = {
  id: 'seed-robbieblocks-tables',
  title: 'RobbieBlocks tables (seed README: 7)',
  async run(q) {
    const { rows } = await q.query<{ tablename: string }>(`SELECT tablename 
FROM pg_tables 
WHERE tablename LIKE 'robbieblocks%';`);
    const names = rows.map((r) => r.tablename).sort();
    return failIf(names.length === 7 ? [] : names, `7 tables: ${names.join(', ')}`, `${names.length} robbieblocks% tables; expected exactly 7`, { tables: names });
  },
};

export const seedPersonalities: Check = {
  id: 'seed-personalities',
  title: 'SELECT * FROM ai_personalities_current_state (seed README)',
  async run(q) {
    const { rows } = await q.query<{ slug?: string }>(`SELECT * FROM ai_personalities_current_state;`);
    const slugs = rows.map((r) => String(r.slug));
    const missing = ['robbie', 'steve-jobs', 'bookkeeper', 'gatekeeper'].filter((s) => !slugs.includes(s));
    return failIf(missing.map((m) => `missing personality ${m}`), `${rows.length} rows: ${slugs.join(', ')}`, `personalities missing from the view`, { slugs });
  },
};

export const requiredViews: Check = {
  id: 'required-views',
  title: 'required views answer (sync_status, robbieblocks_active_deploys)',
  async run(q) {
    const problems: string[] = [];
    const counts: Record<string, number> = {};
    for (const v of ['sync_status', 'robbieblocks_active_deploys', 'robbieblocks_published_pages']) {
      try {
        const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${v}`);
        counts[v] = rows[0]!.n;
      } catch (err) {
        problems.push(`${v}: ${(err as Error).message}`);
      }
    }
    return failIf(problems, Object.entries(counts).map(([v, n]) => `${v} (${n} rows)`).join(', '), 'a required view does not answer', counts);
  },
};
