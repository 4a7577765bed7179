import type { Queryable } from '../db/types.js';

export type CheckStatus = 'pass' | 'fail' | 'info';

export interface CheckResult {
  /** Stable id, e.g. `fk-indexes`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** One line for humans. */
  summary: string;
  /** Offending objects, when there are any. */
  problems?: string[];
  data?: Record<string, unknown>;
}

export interface Check {
  id: string;
  title: string;
  run(q: Queryable): Promise<Omit<CheckResult, 'id' | 'title'>>;
}

export function pass(summary: string, data?: Record<string, unknown>): Omit<CheckResult, 'id' | 'title'> {
  return { status: 'pass', summary, data };
}

export function failIf(problems: string[], okSummary: string, failSummary: string, data?: Record<string, unknown>): Omit<CheckResult, 'id' | 'title'> {
  return problems.length ? { status: 'fail', summary: failSummary, problems, data } : { status: 'pass', summary: okSummary, data };
}

/**
 * Tables in `public` that carry an org_id but are global by design (SCHEMA.md Rule 4):
 * users.org_id is a home organization, audit_log.org_id the scope of an event (NULL = platform);
 * api_keys and user_sessions are credentials, found by the hash of a token before any
 * organization is known (migration 028 binds each to one membership).
 * They still need row-level security; they are not held to the tenant-table shape.
 */
export const GLOBAL_TABLES_WITH_ORG_ID = ['users', 'audit_log', 'api_keys', 'user_sessions'];

export async function tenantTables(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ t: string }>(
    `SELECT c.relname AS t
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> ALL ($1::text[])
      ORDER BY 1`,
    [GLOBAL_TABLES_WITH_ORG_ID],
  );
  return rows.map((r) => r.t);
}
