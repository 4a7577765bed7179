import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/types.js';
import { engineName, openTestDb } from '../helpers/db.js';
import {
  createLegacyAurora,
  detectLegacyEngine,
  LEGACY_COLUMNS,
  LEGACY_IDS,
  LEGACY_INDEXES,
  LEGACY_TABLES,
  LEGACY_TRIGGERS,
  LEGACY_WRITES,
  legacyCounts,
  type LegacyCounts,
  type LegacyEngine,
} from '../helpers/legacy-fixture.js';

type TestDb = Awaited<ReturnType<typeof openTestDb>>;

class Rollback extends Error {}

/** Runs `fn` in a transaction that is always rolled back, so the fixture stays as built. */
async function rolledBack(db: Db, fn: (tx: Queryable) => Promise<void>): Promise<void> {
  await expect(
    db.transaction(async (tx) => {
      await fn(tx);
      throw new Rollback('roll back');
    }),
  ).rejects.toBeInstanceOf(Rollback);
}

/** Per-table digest of every row in id order, with a fixed time zone so timestamp text is stable. */
async function checksums(db: Db): Promise<Record<string, string>> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    await tx.query(`SET LOCAL DateStyle = 'ISO, YMD'`);
    const out: Record<string, string> = {};
    for (const t of LEGACY_TABLES) {
      const { rows } = await tx.query<{ sum: string }>(`SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) AS sum FROM ${t} t`);
      out[t] = rows[0]!.sum;
    }
    return out;
  });
}

/** The legacy columns as LEGACY.md §1 defines them: "name type [NOT NULL] [= default]". */
function expectedColumns(e: LegacyEngine): string[] {
  const id = `id uuid NOT NULL = ${e.uuidOssp ? 'uuid_generate_v4()' : 'gen_random_uuid()'}`;
  const now = 'timestamp with time zone = CURRENT_TIMESTAMP';
  const obj = `jsonb = '{}'::jsonb`;
  const t: Record<string, string[]> = {
    users: [
      id,
      'username character varying(50) NOT NULL',
      'email character varying(255) NOT NULL',
      'password_hash character varying(255) NOT NULL',
      `role character varying(20) = 'user'::character varying`,
      'is_active boolean = true',
      `created_at ${now}`,
      `updated_at ${now}`,
      'last_login timestamp with time zone',
      `preferences ${obj}`,
    ],
    conversations: [
      id,
      'user_id uuid',
      'title character varying(255)',
      `created_at ${now}`,
      `updated_at ${now}`,
      'is_archived boolean = false',
      `metadata ${obj}`,
    ],
    messages: [
      id,
      'conversation_id uuid',
      'role character varying(20) NOT NULL',
      'content text NOT NULL',
      `embedding ${e.vector ? 'vector(1536)' : 'real[]'}`,
      `created_at ${now}`,
      `metadata ${obj}`,
      'token_count integer = 0',
      'model_used character varying(100)',
    ],
    mentors: [
      id,
      'name character varying(100) NOT NULL',
      'description text',
      'personality_prompt text',
      'avatar_url character varying(500)',
      'is_active boolean = true',
      `created_at ${now}`,
      `metadata ${obj}`,
    ],
    feature_requests: [
      id,
      'user_id uuid',
      'title character varying(255) NOT NULL',
      'description text',
      `status character varying(20) = 'open'::character varying`,
      `priority character varying(10) = 'medium'::character varying`,
      'github_issue_id integer',
      `created_at ${now}`,
      `updated_at ${now}`,
      'assigned_to uuid',
      `metadata ${obj}`,
    ],
    integrations: [
      id,
      'user_id uuid',
      'service character varying(50) NOT NULL',
      'config jsonb NOT NULL',
      'is_active boolean = true',
      'last_sync timestamp with time zone',
      `created_at ${now}`,
      `updated_at ${now}`,
    ],
    webhooks: [
      id,
      'user_id uuid',
      'name character varying(100) NOT NULL',
      'url character varying(500) NOT NULL',
      'events text[] NOT NULL',
      'secret character varying(255)',
      'is_active boolean = true',
      `created_at ${now}`,
      'last_triggered timestamp with time zone',
      'failure_count integer = 0',
    ],
    system_logs: [
      id,
      'level character varying(10) NOT NULL',
      'component character varying(50) NOT NULL',
      'message text NOT NULL',
      'user_id uuid',
      `metadata ${obj}`,
      `created_at ${now}`,
    ],
  };
  return LEGACY_TABLES.flatMap((name) => t[name]!.map((c) => `${name}.${c}`));
}

async function actualColumns(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ t: string; c: string; type: string; nn: boolean; def: string | null }>(
    `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS nn,
            pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY array_position($1::text[], c.relname::text), a.attnum`,
    [[...LEGACY_TABLES]],
  );
  return rows.map((r) => `${r.t}.${r.c} ${r.type}${r.nn ? ' NOT NULL' : ''}${r.def ? ` = ${r.def}` : ''}`);
}

describe(`legacy Aurora small fixture (${engineName})`, () => {
  let t: TestDb;
  let engine: LegacyEngine;
  let counts: LegacyCounts;

  beforeAll(async () => {
    t = await openTestDb();
    counts = await createLegacyAurora(t.db);
    engine = await detectLegacyEngine(t.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('picks the id default and embedding type from what the server offers', () => {
    // PGlite ships pgvector but not uuid-ossp; the PostgreSQL 15 test server the reverse.
    if (engineName === 'pglite') expect(engine).toEqual({ uuidOssp: false, vector: true });
    else expect(engine.uuidOssp).toBe(true);
  });

  it('has the small fixture counts', async () => {
    expect(counts).toEqual({
      users: 5,
      conversations: 40,
      messages: 3012,
      mentors: 8,
      feature_requests: 5,
      integrations: 4,
      webhooks: 3,
      system_logs: 8,
    });
    expect(await legacyCounts(t.db)).toEqual(counts);
  });

  it('creates exactly the legacy tables and columns', async () => {
    const tables = await t.db.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.relname)).toEqual([...LEGACY_TABLES].sort());
    expect(await actualColumns(t.db)).toEqual(expectedColumns(engine));
    expect(Object.keys(LEGACY_COLUMNS)).toEqual([...LEGACY_TABLES]);
    const cols = (await actualColumns(t.db)).map((c) => c.split(' ')[0]!);
    expect(cols).toEqual(LEGACY_TABLES.flatMap((tb) => LEGACY_COLUMNS[tb]!.map((c) => `${tb}.${c}`)));
  });

  it('has the legacy checks, unique keys and foreign keys with their delete rules', async () => {
    const { rows } = await t.db.query<{ t: string; name: string; type: string; del: string; def: string }>(
      `SELECT conrelid::regclass::text AS t, conname AS name, contype::text AS type, confdeltype::text AS del,
              pg_get_constraintdef(oid) AS def
         FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND contype IN ('c', 'f', 'u')
        ORDER BY 2`,
    );
    const checks = Object.fromEntries(rows.filter((r) => r.type === 'c').map((r) => [r.name, [...r.def.matchAll(/'([^']+)'::/g)].map((m) => m[1])]));
    expect(checks).toEqual({
      feature_requests_priority_check: ['low', 'medium', 'high', 'critical'],
      feature_requests_status_check: ['open', 'in_progress', 'closed', 'rejected'],
      messages_role_check: ['user', 'assistant', 'system', 'gatekeeper'],
      system_logs_level_check: ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'],
      users_role_check: ['admin', 'user', 'mentor'],
    });
    expect(rows.filter((r) => r.type === 'u').map((r) => r.def.replace(/^UNIQUE /, `${r.t} `))).toEqual([
      'feature_requests (github_issue_id)',
      'users (email)',
      'users (username)',
    ]);
    // confdeltype: c = cascade, n = set null, a = no action (no rule given).
    expect(rows.filter((r) => r.type === 'f').map((r) => `${r.name} ${r.del}`)).toEqual([
      'conversations_user_id_fkey c',
      'feature_requests_assigned_to_fkey a',
      'feature_requests_user_id_fkey c',
      'integrations_user_id_fkey c',
      'messages_conversation_id_fkey c',
      'system_logs_user_id_fkey n',
      'webhooks_user_id_fkey c',
    ]);
  });

  it(`has the legacy indexes (10 with pgvector, 9 without)`, async () => {
    const { rows } = await t.db.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\\_%' ORDER BY 1`,
    );
    const expected = LEGACY_INDEXES.filter((i) => engine.vector || i !== 'idx_messages_embedding');
    expect(rows.map((r) => r.indexname)).toEqual([...expected].sort());
    expect(rows).toHaveLength(engine.vector ? 10 : 9);
    const emb = rows.find((r) => r.indexname === 'idx_messages_embedding');
    if (engine.vector) expect(emb?.indexdef).toMatch(/USING ivfflat \(embedding vector_cosine_ops\)/);
  });

  it('has the 4 BEFORE UPDATE row triggers on update_updated_at_column()', async () => {
    const { rows } = await t.db.query<{ name: string; tbl: string; fn: string; type: number }>(
      `SELECT tgname AS name, tgrelid::regclass::text AS tbl, tgfoid::regproc::text AS fn, tgtype::int AS type
         FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.tbl]))).toEqual(LEGACY_TRIGGERS);
    for (const r of rows) {
      expect(r.fn).toBe('update_updated_at_column');
      // tgtype bits: 1 = row, 2 = before, 16 = update.
      expect(r.type).toBe(1 | 2 | 16);
    }
  });

  it('contains the edge cases a realistic legacy database has', async () => {
    const one = async (sql: string) => Object.values((await t.db.query(sql)).rows[0]!)[0];
    expect(
      (await t.db.query<{ name: string; n: number }>(`SELECT name, count(*)::int AS n FROM mentors GROUP BY name ORDER BY name`)).rows,
    ).toEqual([
      { name: 'Business Mentor', n: 2 },
      { name: 'Code Mentor', n: 2 },
      { name: 'Gatekeeper', n: 2 },
      { name: 'Robbie', n: 2 },
    ]);
    expect(await one(`SELECT array_agg(DISTINCT role ORDER BY role) FROM users`)).toEqual(['admin', 'mentor', 'user']);
    expect(await one(`SELECT count(*)::int FROM users WHERE NOT is_active`)).toBe(1);
    expect(await one(`SELECT count(*)::int FROM users WHERE username = 'Allan Peretz'`)).toBe(1);
    expect(await one(`SELECT count(*)::int FROM conversations WHERE is_archived`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*)::int FROM conversations WHERE user_id IS NULL`)).toBeGreaterThan(0);
    expect(await one(`SELECT array_agg(DISTINCT role ORDER BY role) FROM messages`)).toEqual(['assistant', 'gatekeeper', 'system', 'user']);
    const emb = (await t.db.query<{ with: number; without: number }>(
      `SELECT count(embedding)::int AS with, (count(*) - count(embedding))::int AS without FROM messages`,
    )).rows[0]!;
    expect(emb.with).toBe(301);
    expect(emb.without).toBeGreaterThan(emb.with);
    expect(await one(`SELECT array_length(embedding::real[], 1) FROM messages WHERE embedding IS NOT NULL LIMIT 1`)).toBe(1536);
    expect(await one(`SELECT count(*)::int FROM messages WHERE content LIKE '%Þórshöfn%'`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*)::int FROM messages WHERE content ~ '[🚀東]'`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*)::int FROM messages WHERE metadata ? 'tags'`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*)::int FROM messages WHERE metadata IS NULL`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*)::int FROM messages WHERE conversation_id IS NULL`)).toBe(1);
    expect(await one(`SELECT count(*)::int FROM feature_requests WHERE github_issue_id IS NOT NULL AND assigned_to IS NOT NULL`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*)::int FROM integrations WHERE config ? 'workspace'`)).toBe(1);
    expect(await one(`SELECT count(*)::int FROM webhooks WHERE cardinality(events) > 1 AND secret IS NOT NULL`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*) FILTER (WHERE user_id IS NULL) > 0 AND count(user_id) > 0 FROM system_logs`)).toBe(true);
    // Every updated_at is well in the past, so a bump by the trigger is visible.
    expect(
      await one(`SELECT greatest((SELECT max(updated_at) FROM users), (SELECT max(updated_at) FROM conversations),
                                 (SELECT max(updated_at) FROM feature_requests), (SELECT max(updated_at) FROM integrations))
                        < now() - interval '30 days'`),
    ).toBe(true);
  });

  it('bumps updated_at through the legacy trigger on UPDATE', async () => {
    await rolledBack(t.db, async (tx) => {
      for (const [table, id, col] of [
        ['users', LEGACY_IDS.allan, 'preferences'],
        ['conversations', LEGACY_IDS.conversation, 'metadata'],
        ['feature_requests', LEGACY_IDS.featureRequest, 'metadata'],
        ['integrations', 'e0000000-0000-4000-8000-000000000001', 'config'],
      ] as const) {
        const before = (await tx.query<{ u: Date }>(`SELECT updated_at AS u FROM ${table} WHERE id = $1`, [id])).rows[0]!.u;
        const after = (await tx.query<{ u: Date }>(`UPDATE ${table} SET ${col} = ${col} WHERE id = $1 RETURNING updated_at AS u`, [id])).rows[0]!.u;
        expect(new Date(after).getTime(), table).toBeGreaterThan(new Date(before).getTime() + 30 * 86_400_000);
      }
    });
  });

  it('runs every LEGACY_WRITES statement', async () => {
    const positional = LEGACY_WRITES.filter((w) => /^INSERT/i.test(w.sql) && !/^INSERT INTO \w+\s*\(/i.test(w.sql));
    expect(positional.map((w) => w.sql)).toEqual([expect.stringMatching(/^INSERT INTO system_logs VALUES \(/)]);
    expect(LEGACY_WRITES.some((w) => /org_id/i.test(w.sql))).toBe(false);

    await rolledBack(t.db, async (tx) => {
      for (const w of LEGACY_WRITES) {
        const r = await tx.query(w.sql, w.params);
        // Every insert and update touches its row; every select finds something.
        expect(r.rowCount, w.name).toBeGreaterThan(0);
      }
    });
    expect(await legacyCounts(t.db)).toEqual(counts);
  });

  it('is reproducible: a second build on the same engine has identical content', async () => {
    const other = await openTestDb();
    try {
      await createLegacyAurora(other.db);
      expect(await checksums(other.db)).toEqual(await checksums(t.db));
    } finally {
      await other.close();
    }
  });
});

describe(`legacy Aurora large fixture (${engineName})`, () => {
  let t: TestDb;
  afterAll(async () => {
    await t?.close();
  });

  it('builds 200 conversations and 20,000 messages set-based', async () => {
    t = await openTestDb();
    const counts = await createLegacyAurora(t.db, { messages: 20_000, conversations: 200 });
    expect(counts).toEqual({
      users: 5 + 20,
      conversations: 200,
      messages: 20_000,
      mentors: 8,
      feature_requests: 5,
      integrations: 4,
      webhooks: 3,
      system_logs: 8 + 200,
    });
    const r = (await t.db.query<{ roles: number; emb: number; orphans: number; owners: number }>(
      `SELECT count(DISTINCT role)::int AS roles, count(embedding)::int AS emb,
              count(*) FILTER (WHERE conversation_id NOT IN (SELECT id FROM conversations))::int AS orphans,
              (SELECT count(DISTINCT user_id)::int FROM conversations) AS owners
         FROM messages`,
    )).rows[0]!;
    expect(r).toEqual({ roles: 4, emb: 200, orphans: 0, owners: 25 });

    // The workload also runs against the large fixture (it references the shared base rows).
    await rolledBack(t.db, async (tx) => {
      for (const w of LEGACY_WRITES) expect((await tx.query(w.sql, w.params)).rowCount, w.name).toBeGreaterThan(0);
    });
  });
});
