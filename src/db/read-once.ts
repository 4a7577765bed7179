import { createHash } from 'node:crypto';
import { sqlLiteral, type Scalar } from './literal.js';
import type { Queryable, QueryResult } from './types.js';

/** Statement names prepared on each session (a session = a pooled client or PGlite's one session). */
const prepared = new WeakMap<object, Set<string>>();

export function statementName(sql: string): string {
  return 'rvq_' + createHash('sha1').update(sql).digest('hex').slice(0, 24);
}

/**
 * The shared body of Db.readOnce for both adapters. `session` is one pinned session, `key` an
 * object identifying it; `execAll` sends one multi-statement message and returns every result.
 */
export async function readOnceOn(
  session: Queryable,
  key: object,
  execAll: (sql: string) => Promise<QueryResult[]>,
  first: string,
  sql: string,
  params: Scalar[],
): Promise<{ first: QueryResult; result: QueryResult }> {
  let names = prepared.get(key);
  if (!names) prepared.set(key, (names = new Set()));
  const name = statementName(sql);
  const fresh = !names.has(name);
  const args = params.length ? `(${params.map(sqlLiteral).join(', ')})` : '';
  const message = `${fresh ? `PREPARE ${name} AS ${sql};\n` : ''}BEGIN; ${first}; EXECUTE ${name}${args}; COMMIT;`;
  try {
    const results = await execAll(message);
    names.add(name);
    const offset = fresh ? 1 : 0;
    return { first: results[offset + 1]!, result: results[offset + 2]! };
  } catch (err) {
    await session.exec('ROLLBACK').catch(() => {});
    if (fresh) {
      // PREPARE is not undone by the rollback: remember it if it was made.
      const r = await session.query('SELECT 1 FROM pg_prepared_statements WHERE name = $1', [name]).catch(() => undefined);
      if (r?.rows.length) names.add(name);
    }
    throw err;
  }
}
