import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { withTenant } from '../../src/tenancy/with-tenant.js';
import { verifyDatabase } from '../../src/verify/index.js';
import { engineName, onPostgres, openTestDb } from '../helpers/db.js';
import { RowFactory, type Values } from '../helpers/rowgen.js';

/** Columns the merge-strategy seed spells out, with their types (format_type spelling). */
const MS_COLUMNS: Record<string, Record<string, string>> = {
  users: {
    id: 'uuid', org_id: 'uuid', username: 'character varying(50)', email: 'character varying(255)', password_hash: 'character varying(255)',
    first_name: 'text', last_name: 'text', job_title: 'text', phone: 'text', avatar_url: 'text', timezone: 'text',
    role: 'character varying(20)', is_active: 'boolean', created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone',
    last_login: 'timestamp with time zone', preferences: 'jsonb',
  },
  conversations: {
    id: 'uuid', org_id: 'uuid', user_id: 'uuid', title: 'character varying(255)', session_type: 'text', participants: 'uuid[]',
    created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone', is_archived: 'boolean', metadata: 'jsonb',
  },
  messages: {
    id: 'uuid', org_id: 'uuid', conversation_id: 'uuid', user_id: 'uuid', role: 'character varying(20)', content: 'text',
    embedding: onPostgres ? 'real[]' : 'vector', personality_mode: 'text', flirt_level: 'integer', genghis_gandhi_level: 'integer',
    created_at: 'timestamp with time zone', metadata: 'jsonb', token_count: 'integer', model_used: 'character varying(100)',
  },
  organizations: {
    id: 'uuid', name: 'text', domain: 'text', org_type: 'text', status: 'text', created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone',
  },
  contacts: {
    id: 'uuid', org_id: 'uuid', first_name: 'text', last_name: 'text', email: 'text', phone: 'text', company: 'text', job_title: 'text',
    linkedin_url: 'text', avatar_url: 'text', notes: 'text', tags: 'text[]', is_vip: 'boolean',
    created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone',
  },
  deals: {
    id: 'uuid', org_id: 'uuid', company_id: 'uuid', primary_contact_id: 'uuid', owner_id: 'uuid', name: 'text', amount_cents: 'bigint',
    currency: 'character varying(3)', stage: 'text', probability: 'integer', expected_close_date: 'date',
    created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone',
  },
  tasks: {
    id: 'uuid', org_id: 'uuid', user_id: 'uuid', title: 'text', description: 'text', status: 'text', priority: 'text',
    due_date: 'timestamp with time zone', completed_at: 'timestamp with time zone', created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone',
  },
  sticky_notes: {
    id: 'uuid', org_id: 'uuid', user_id: 'uuid', content: 'text', note_type: 'text', color: 'text', tags: 'text[]', related_to_id: 'uuid',
    related_to_type: 'text', created_at: 'timestamp with time zone', updated_at: 'timestamp with time zone',
  },
  touch_ready_queue: {
    id: 'uuid', org_id: 'uuid', contact_id: 'uuid', draft_message: 'text', rationale: 'text', channel: 'text', priority: 'integer', status: 'text',
    created_at: 'timestamp with time zone', sent_at: 'timestamp with time zone',
  },
  meeting_health: {
    id: 'uuid', org_id: 'uuid', calendar_event_id: 'uuid', has_agenda: 'boolean', duration_minutes: 'integer', attendee_count: 'integer',
    health_score: 'integer', health_status: 'text', created_at: 'timestamp with time zone',
  },
  personality_settings: {
    id: 'uuid', user_id: 'uuid', flirt_mode: 'integer', gandhi_genghis: 'integer', genghis_gandhi_intensity: 'integer',
    cocktail_lightning_energy: 'integer', current_mood: 'text', current_expression: 'text', updated_at: 'timestamp with time zone',
  },
};

/** Bad values the merge strategy's CHECKs must reject, with the constraint the error must name. */
const BAD_VALUES: { table: string; column: string; value: unknown; constraint: string }[] = [
  { table: 'tasks', column: 'status', value: 'blocked', constraint: 'tasks_status_check' },
  { table: 'tasks', column: 'priority', value: 'urgent', constraint: 'tasks_priority_check' },
  { table: 'sticky_notes', column: 'note_type', value: 'grocery', constraint: 'sticky_notes_note_type_check' },
  { table: 'touch_ready_queue', column: 'channel', value: 'fax', constraint: 'touch_ready_queue_channel_check' },
  { table: 'touch_ready_queue', column: 'status', value: 'dismissed', constraint: 'touch_ready_queue_status_check' },
  { table: 'meeting_health', column: 'health_score', value: 101, constraint: 'meeting_health_health_score_check' },
  { table: 'meeting_health', column: 'health_score', value: -1, constraint: 'meeting_health_health_score_check' },
  { table: 'personality_settings', column: 'flirt_mode', value: 11, constraint: 'personality_settings_flirt_mode_check' },
  { table: 'personality_settings', column: 'gandhi_genghis', value: 0, constraint: 'personality_settings_gandhi_genghis_check' },
  { table: 'personality_settings', column: 'genghis_gandhi_intensity', value: 101, constraint: 'personality_settings_genghis_gandhi_intensity_check' },
  { table: 'personality_settings', column: 'cocktail_lightning_energy', value: -5, constraint: 'personality_settings_cocktail_lightning_energy_check' },
  { table: 'organizations', column: 'org_type', value: 'government', constraint: 'organizations_org_type_check' },
];

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string; constraint?: string } | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string; message: string; constraint?: string }) => e,
  );
}

/** Runs `fn` inside a transaction that is always rolled back, so a refused statement leaves nothing behind. */
async function attempt(db: Db, fn: (tx: Queryable) => Promise<unknown>) {
  let err: { code?: string; message: string; constraint?: string } | undefined;
  await db
    .transaction(async (tx) => {
      err = await errorOf(fn(tx));
      throw new Error('rollback');
    })
    .catch(() => {});
  return err;
}

describe(`the unified schema (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  let db: Db;
  beforeAll(async () => {
    t = await openTestDb();
    db = t.db;
    await migrate(db, { files: embeddedMigrations() });
  });
  afterAll(() => t.close());

  it('migrates from empty with zero errors and passes db verify', async () => {
    const report = await verifyDatabase(db, { files: embeddedMigrations() });
    const failed = report.checks.filter((c) => c.status === 'fail');
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(report.ok).toBe(true);
    const mode = report.checks.find((c) => c.id === 'vector-mode')!;
    expect(mode.data?.mode).toBe(onPostgres ? 'exact' : 'pgvector');
    const tables = report.checks.find((c) => c.id === 'seed-table-count')!;
    expect(Number(tables.data?.tables)).toBeGreaterThanOrEqual(85);
  });

  it('re-running migrate changes nothing', async () => {
    const before = await db.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
    const r = await migrate(db, { files: embeddedMigrations() });
    expect(r.applied).toEqual([]);
    const after = await db.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
    expect(after.rows).toEqual(before.rows);
  });

  it('has every column the merge strategy spells out, with its type', async () => {
    const { rows } = await db.query<{ t: string; c: string; type: string }>(
      `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = ANY ($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped`,
      [Object.keys(MS_COLUMNS)],
    );
    const actual: Record<string, Record<string, string>> = {};
    for (const r of rows) (actual[r.t] ??= {})[r.c] = r.type;
    const mismatches: string[] = [];
    for (const [table, cols] of Object.entries(MS_COLUMNS)) {
      for (const [col, type] of Object.entries(cols)) {
        if (actual[table]?.[col] !== type) mismatches.push(`${table}.${col}: expected ${type}, found ${actual[table]?.[col] ?? 'nothing'}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("rejects bad values with the CHECK constraint's name in the error", async () => {
    const f = new RowFactory(db);
    for (const bad of BAD_VALUES) {
      const err = await attempt(db, async (tx) => {
        const rf = new RowFactory(tx);
        const org = bad.table === 'organizations' ? undefined : (await rf.insert('organizations', undefined, { name: 'check-org' })).id as string;
        const values = bad.table === 'organizations' ? { name: 'x' } : await rf.values(bad.table, org, bad.table === 'personality_settings' ? { user_id: (await rf.user(org!)).id } : {});
        const v: Values = { ...values, [bad.column]: bad.value };
        const cols = Object.keys(v);
        await tx.query(`INSERT INTO ${bad.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => v[c]));
      });
      expect(err, `${bad.table}.${bad.column} = ${String(bad.value)} was accepted`).toBeDefined();
      expect(err!.code, err!.message).toBe('23514');
      expect(err!.message).toContain(bad.constraint);
    }
    void f;
  });

  it('maintains updated_at on update', async () => {
    const rf = new RowFactory(db);
    const org = await rf.insert('organizations', undefined, { name: 'updated-at org' });
    const contact = await rf.insert('contacts', org.id as string);
    await db.query(`UPDATE contacts SET created_at = created_at - interval '1 day', updated_at = now() - interval '1 day' WHERE id = $1`, [contact.id]);
    const before = await db.query<{ u: string }>(`SELECT updated_at::text AS u FROM contacts WHERE id = $1`, [contact.id]);
    await db.query(`UPDATE contacts SET notes = 'changed' WHERE id = $1`, [contact.id]);
    const after = await db.query<{ fresh: boolean }>(`SELECT updated_at > now() - interval '1 minute' AS fresh FROM contacts WHERE id = $1`, [contact.id]);
    expect(before.rows[0]!.u).not.toBeUndefined();
    expect(after.rows[0]!.fresh).toBe(true);
  });

  it('ships the reference data', async () => {
    const q = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
    expect(await q(`SELECT count(*)::int AS n FROM organizations WHERE id = '00000000-0000-4000-8000-000000000001' AND name = 'Default Organization'`)).toBe(1);
    const slugs = await db.query<{ slug: string }>(`SELECT slug FROM ai_personalities_current_state ORDER BY slug`);
    expect(slugs.rows.map((r) => r.slug)).toEqual(['bookkeeper', 'gatekeeper', 'robbie', 'steve-jobs']);
    expect(await q(`SELECT count(*)::int AS n FROM ai_personality_state`)).toBe(4);
    expect(await q(`SELECT count(*)::int AS n FROM deal_stages`)).toBe(9);
    expect(await q(`SELECT count(*)::int AS n FROM towns WHERE org_id = '00000000-0000-4000-8000-000000000001'`)).toBe(4);
    expect(await q(`SELECT count(*)::int AS n FROM robbieblocks_node_branding`)).toBe(4);
    expect(await q(`SELECT count(*)::int AS n FROM robbieblocks_style_tokens`)).toBe(33);
    expect(await q(`SELECT count(*)::int AS n FROM simulation_templates`)).toBe(4);
    expect(await q(`SELECT count(*)::int AS n FROM engagement_rules`)).toBe(10);
    expect(await q(`SELECT count(*)::int AS n FROM personality_settings WHERE user_id IS NULL`)).toBe(1);
    // the seed's four, and the built-in embedder's model (migration 046)
    expect(await q(`SELECT count(*)::int AS n FROM embedding_models`)).toBe(5);
    expect(await q(`SELECT count(*)::int AS n FROM embedding_models WHERE model_key = 'builtin-hashed-ngrams-512' AND dimensions = 512`)).toBe(1);
    expect(await q(`SELECT count(*)::int AS n FROM users`)).toBe(0);
  });
});

describe(`tenant isolation on every tenant table (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  let db: Db;
  let tables: string[];
  let orgA: string;
  let orgB: string;
  let userA: string;
  let userB: string;
  beforeAll(async () => {
    t = await openTestDb();
    db = t.db;
    await migrate(db, { files: embeddedMigrations() });
    const { rows } = await db.query<{ t: string }>(
      `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id'
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('users', 'audit_log') ORDER BY 1`,
    );
    tables = rows.map((r) => r.t);
    const rf = new RowFactory(db);
    orgA = (await rf.insert('organizations', undefined, { name: 'Org A' })).id as string;
    orgB = (await rf.insert('organizations', undefined, { name: 'Org B' })).id as string;
    userA = (await rf.user(orgA, 'owner')).id as string;
    userB = (await rf.user(orgB, 'owner')).id as string;
  });
  afterAll(() => t.close());

  it('covers all the tenant tables', () => {
    expect(tables.length).toBeGreaterThanOrEqual(75);
  });

  it("org A's application role never reads, changes or deletes org B's rows, nor inserts into B", async () => {
    const rf = new RowFactory(db);
    const failures: string[] = [];
    for (const table of tables) {
      try {
        // Rows owned by a member, as the app would write them (private rows are the owner's only).
        const owned = async (org: string, user: string) => ((await rf.table(table)).columns.some((c) => c.name === 'user_id') && table !== 'organization_memberships' ? { user_id: user } : {});
        const rowA = await rf.insert(table, orgA, await owned(orgA, userA));
        const rowB = await rf.insert(table, orgB, await owned(orgB, userB));
        const insertB = await rf.values(table, orgB, await owned(orgB, userB));
        const seen = await withTenant(db, { orgId: orgA, userId: userA }, async (tx) => {
          const own = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [rowA.id]);
          const other = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1 OR org_id = $2`, [rowB.id, orgB]);
          const upd = await tx.query(`UPDATE ${table} SET org_id = org_id WHERE id = $1`, [rowB.id]);
          const del = await tx.query(`DELETE FROM ${table} WHERE id = $1`, [rowB.id]);
          return { own: own.rows[0]!.n, other: other.rows[0]!.n, updated: upd.rowCount, deleted: del.rowCount };
        });
        // The control: A sees its own row, so a zero for B's rows means something.
        if (seen.own !== 1) failures.push(`${table}: org A cannot see its own row (control failed)`);
        if (seen.other !== 0) failures.push(`${table}: org A read ${seen.other} of org B's rows`);
        if (seen.updated !== 0) failures.push(`${table}: org A updated org B's row`);
        if (seen.deleted !== 0) failures.push(`${table}: org A deleted org B's row`);
        const stillThere = await db.query(`SELECT 1 FROM ${table} WHERE id = $1`, [rowB.id]);
        if (stillThere.rows.length !== 1) failures.push(`${table}: org B's row is gone`);
        const cols = Object.keys(insertB);
        const err = await attempt(db, (tx) =>
          withTenantTx(tx, orgA, userA, () =>
            tx.query(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => insertB[c])),
          ),
        );
        if (!err) failures.push(`${table}: org A inserted a row naming org B`);
        // Refused by row-level security (42501), or earlier by a trigger that cannot see B's rows.
        else if (!['42501', '23503', 'P0001'].includes(err.code ?? '')) failures.push(`${table}: insert naming org B failed for another reason: ${err.message}`);
      } catch (e) {
        failures.push(`${table}: test setup failed: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses a reference from an org A row to an org B row, on every tenant reference', async () => {
    const rf = new RowFactory(db);
    const failures: string[] = [];
    let checked = 0;
    for (const table of tables) {
      for (const fk of await rf.tenantFks(table)) {
        checked++;
        const err = await attempt(db, async (tx) => {
          const f = new RowFactory(tx);
          const parentKeyB = await f.parentKey(fk, orgB, 0);
          const v = await f.values(table, orgA, Object.fromEntries(fk.cols.filter((c) => c !== 'org_id').map((c) => [c, parentKeyB[c]])));
          v.org_id = orgA;
          const cols = Object.keys(v);
          await tx.query(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => v[c]));
        });
        if (!err) failures.push(`${table}.${fk.name}: an org A row referenced org B's ${fk.refTable} row`);
        else if (err.code !== '23503') failures.push(`${table}.${fk.name}: refused, but not by the foreign key: ${err.message}`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });
});

/** Like withTenant, inside an existing transaction (so the caller can roll it back). */
async function withTenantTx<T>(tx: Queryable, orgId: string, userId: string, fn: () => Promise<T>): Promise<T> {
  await tx.query('SELECT app_set_context($1::uuid, $2::uuid)', [orgId, userId]);
  await tx.exec('SET LOCAL ROLE robbie_app');
  return fn();
}

describe(`conversation counters (${engineName})`, () => {
  it('message_count and last_message_at follow inserts, soft deletes, moves and deletes', async () => {
    const t = await openTestDb();
    try {
      await migrate(t.db, { files: embeddedMigrations() });
      const rf = new RowFactory(t.db);
      const org = (await rf.insert('organizations', undefined, { name: 'counter org' })).id as string;
      const a = (await rf.insert('conversations', org)).id as string;
      const b = (await rf.insert('conversations', org)).id as string;
      const post = (conv: string, at: string) =>
        t.db.query<{ id: string }>(`INSERT INTO messages (org_id, conversation_id, role, content, created_at) VALUES ($1, $2, 'user', 'hi', $3) RETURNING id`, [org, conv, at]);
      const counts = async () =>
        (await t.db.query<{ id: string; n: number; last: string | null }>(
          `SELECT id, message_count AS n, last_message_at::text AS last FROM conversations WHERE id = ANY ($1::uuid[]) ORDER BY id = $2 DESC`,
          [[a, b], a],
        )).rows.map((r) => [r.n, r.last?.slice(0, 10) ?? null]);
      await post(a, '2026-01-01T00:00:00Z');
      const m2 = (await post(a, '2026-02-01T00:00:00Z')).rows[0]!.id;
      await post(a, '2025-12-01T00:00:00Z'); // older than the newest: last_message_at stays
      expect(await counts()).toEqual([[3, '2026-02-01'], [0, null]]);
      await t.db.query(`UPDATE messages SET deleted_at = now() WHERE id = $1`, [m2]);
      expect(await counts()).toEqual([[2, '2026-01-01'], [0, null]]);
      await t.db.query(`UPDATE messages SET conversation_id = $1 WHERE conversation_id = $2 AND deleted_at IS NULL AND created_at < '2026-01-01'`, [b, a]);
      expect(await counts()).toEqual([[1, '2026-01-01'], [1, '2025-12-01']]);
      await t.db.query(`DELETE FROM messages WHERE conversation_id = $1`, [a]);
      expect(await counts()).toEqual([[0, null], [1, '2025-12-01']]);
    } finally {
      await t.close();
    }
  });
});
