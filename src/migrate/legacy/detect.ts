import type { Queryable } from '../../db/types.js';
import { readHistory } from '../history.js';

/** The legacy Aurora tables and the columns that identify them (LEGACY.md §1). */
export const AURORA_SIGNATURE: Record<string, string[]> = {
  users: ['id', 'username', 'email', 'password_hash', 'role', 'is_active', 'preferences'],
  conversations: ['id', 'user_id', 'title', 'is_archived', 'metadata'],
  messages: ['id', 'conversation_id', 'role', 'content', 'embedding', 'token_count', 'model_used'],
  mentors: ['id', 'name', 'description', 'personality_prompt', 'avatar_url'],
  feature_requests: ['id', 'user_id', 'title', 'status', 'priority', 'github_issue_id'],
  integrations: ['id', 'user_id', 'service', 'config', 'last_sync'],
  webhooks: ['id', 'user_id', 'name', 'url', 'events', 'secret', 'last_triggered'],
  system_logs: ['id', 'level', 'component', 'message', 'user_id'],
};

export type DatabaseState =
  /** Nothing in `public`: a fresh install. */
  | { kind: 'empty' }
  /** The platform's own migration history is present. */
  | { kind: 'current'; applied: number }
  /** The 8 legacy Aurora tables and nothing of the unified schema: upgrade in place. */
  | { kind: 'legacy-aurora'; tables: string[] }
  /** Aurora after the archived 001–009 migrations (organizations, org_id, their schema_migrations). */
  | { kind: 'legacy-archived'; tables: string[]; signals: string[] }
  /** Something else: refuse, change nothing, say what was found. */
  | { kind: 'unknown'; tables: string[]; differences: string[] };

/** Classifies a database from its catalog alone (reads only). */
export async function detectDatabaseState(q: Queryable): Promise<DatabaseState> {
  const history = await readHistory(q);
  if (history.length) return { kind: 'current', applied: history.length };
  const { rows } = await q.query<{ t: string; cols: string[] }>(
    `SELECT c.relname AS t, array_agg(a.attname::text ORDER BY a.attnum) AS cols
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      GROUP BY c.relname ORDER BY c.relname`,
  );
  if (!rows.length) return { kind: 'empty' };
  const tables = rows.map((r) => r.t);
  const cols = new Map(rows.map((r) => [r.t, new Set(r.cols)]));
  const differences: string[] = [];
  for (const [t, needed] of Object.entries(AURORA_SIGNATURE)) {
    const have = cols.get(t);
    if (!have) differences.push(`table ${t} is missing`);
    else {
      const missing = needed.filter((c) => !have.has(c));
      if (missing.length) differences.push(`${t} lacks the legacy column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    }
  }
  const extra = tables.filter((t) => !(t in AURORA_SIGNATURE));
  if (differences.length === 0) {
    const archived = [
      cols.has('organizations') ? 'table organizations' : '',
      cols.get('users')?.has('org_id') ? 'users.org_id' : '',
      cols.get('schema_migrations')?.has('migration_name') ? 'an archived schema_migrations table' : '',
    ].filter(Boolean);
    if (archived.length) return { kind: 'legacy-archived', tables, signals: archived };
    if (extra.length === 0) return { kind: 'legacy-aurora', tables };
    differences.push(`tables that are not part of the legacy Aurora schema: ${extra.join(', ')}`);
  }
  return { kind: 'unknown', tables, differences };
}
