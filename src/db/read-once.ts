import { createHash } from 'node:crypto';
import { sqlLiteral, type Scalar } from './literal.js';
import type { Queryable, QueryResult } from './types.js';

/** Statement names prepared on each session (a session = a pooled client or PGlite's one session). */
const prepared = new WeakMap<object, Set<string>>();

const names = new Map<string, string>();

export function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = 'rvq_' + createHash('sha1').update(sql).digest('hex').slice(0, 24);
    if (names.size > 10_000) names.clear();
    names.set(sql, name);
  }
  return name;
}

/**
 * The shared body of Db.readOnce for both adapters. `session` is one pinned session, `key` an
 * object identifying it; `execAll` sends one multi-statement message and returns every result.
 */
export async function readOnceOn(
  session: Queryable,
  key: object,
  execAll: (sql: string) => Promise<QueryResult[]>,
  first: Statement,
  then: Statement,
): Promise<{ first: QueryResult; result: QueryResult }> {
  let names = prepared.get(key);
  if (!names) prepared.set(key, (names = new Set()));
  const statements = [first, then].map((st) => ({ ...st, name: statementName(st.sql) }));
  const fresh = statements.filter((st, i) => !names.has(st.name) && statements.findIndex((x) => x.name === st.name) === i);
  const execute = (st: (typeof statements)[number]) => `EXECUTE ${st.name}${st.params.length ? `(${st.params.map(sqlLiteral).join(', ')})` : ''}`;
  const message = `${fresh.map((st) => `PREPARE ${st.name} AS ${st.sql};\n`).join('')}BEGIN; ${execute(statements[0]!)}; ${execute(statements[1]!)}; COMMIT;`;
  try {
    const results = await execAll(message);
    for (const st of fresh) names.add(st.name);
    const offset = fresh.length;
    return { first: results[offset + 1]!, result: results[offset + 2]! };
  } catch (err) {
    await session.exec('ROLLBACK').catch(() => {});
    for (const st of fresh) {
      // PREPARE is not undone by the rollback: remember the ones that were made.
      const r = await session.query('SELECT 1 FROM pg_prepared_statements WHERE name = $1', [st.name]).catch(() => undefined);
      if (r?.rows.length) names.add(st.name);
    }
    throw err;
  }
}

/** A statement with `$n` parameters, sent as PREPARE once per session and EXECUTE with literals. */
export interface Statement {
  sql: string;
  params: Scalar[];
}
