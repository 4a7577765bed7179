import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/api/accounts.js';
import { asServerError } from '../../src/errors.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrateOrUpgrade } from '../../src/migrate/legacy/migrate-or-upgrade.js';
import { DEFAULT_ORG_ID } from '../../src/migrate/legacy/upgrade.js';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { createLegacyAurora, LEGACY_IDS } from '../helpers/legacy-fixture.js';
import type { Db, Queryable } from '../../src/db/types.js';

const KEYS = {
  conversations: 'conversations_org_id_user_id_fkey',
  messages: 'messages_org_id_user_id_fkey',
  integrations: 'integrations_org_id_user_id_fkey',
  webhooks: 'webhooks_org_id_user_id_fkey',
};

async function upgrade(db: Db) {
  const r = await migrateOrUpgrade(db, { files: embeddedMigrations(), noBackup: true, batchSize: 500 });
  expect(r.kind).toBe('upgraded');
  if (r.kind !== 'upgraded') throw new Error('not upgraded');
  const failed = r.report.invariants.filter((i) => !i.ok);
  expect(failed).toEqual([]);
  expect(r.report.tables.filter((t) => !t.match)).toEqual([]);
  expect(r.report.ok).toBe(true);
  return r.report;
}

async function sqlState(q: Queryable, sql: string, params?: unknown[]): Promise<string | null> {
  try {
    await q.query(sql, params);
    return null;
  } catch (err) {
    return asServerError(err)?.code ?? (err as Error).message;
  }
}

async function membership(q: Queryable, org: string, user: string) {
  const { rows } = await q.query<{ role: string; is_active: boolean }>(
    `SELECT role, is_active FROM organization_memberships WHERE org_id = $1 AND user_id = $2`,
    [org, user],
  );
  return rows[0] ?? null;
}

describe(`legacy upgrade: user references stay inside the organization (${engineName})`, () => {
  let t: TestTarget;
  let db: Db;
  let otherOrg: string;
  let outsider: string;
  beforeAll(async () => {
    t = await createTarget();
    db = await t.open();
    await createLegacyAurora(db);
    await upgrade(db);
    otherOrg = (await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Other org') RETURNING id`)).rows[0]!.id;
    // A member of the other organization only (inserted as the API does: org_id named, own membership).
    outsider = (await db.query<{ id: string }>(
      `INSERT INTO users (org_id, email, password_hash) VALUES ($1, 'outsider@other.example', 'x') RETURNING id`,
      [otherOrg],
    )).rows[0]!.id;
    await db.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [otherOrg, outsider]);
  });
  afterAll(async () => {
    await db?.close();
    await t.cleanup();
  });

  it('gives the four tables composite keys with the delete rules of their user keys, validated and indexed', async () => {
    const { rows } = await db.query<{ t: string; c: string; del: string; valid: boolean; cols: string[] }>(
      `SELECT conrelid::regclass::text AS t, conname AS c, confdeltype::text AS del, convalidated AS valid,
              ARRAY(SELECT attname::text FROM unnest(conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n ORDER BY k.o) AS cols
         FROM pg_constraint
        WHERE contype = 'f' AND confrelid = 'organization_memberships'::regclass
          AND conrelid::regclass::text IN ('conversations', 'messages', 'integrations', 'webhooks')
        ORDER BY 1`,
    );
    expect(rows).toEqual([
      { t: 'conversations', c: KEYS.conversations, del: 'c', valid: true, cols: ['org_id', 'user_id'] },
      { t: 'integrations', c: KEYS.integrations, del: 'c', valid: true, cols: ['org_id', 'user_id'] },
      { t: 'messages', c: KEYS.messages, del: 'n', valid: true, cols: ['org_id', 'user_id'] },
      { t: 'webhooks', c: KEYS.webhooks, del: 'c', valid: true, cols: ['org_id', 'user_id'] },
    ]);
    const idx = await db.query<{ n: string }>(
      `SELECT relname::text AS n FROM pg_class WHERE relkind = 'i'
          AND relname IN ('conversations_org_id_user_id_idx', 'messages_org_id_user_id_idx', 'integrations_org_id_user_id_idx', 'webhooks_org_id_user_id_idx')
        ORDER BY 1`,
    );
    expect(idx.rows.map((r) => r.n)).toEqual(['conversations_org_id_user_id_idx', 'integrations_org_id_user_id_idx', 'messages_org_id_user_id_idx', 'webhooks_org_id_user_id_idx']);
  });

  it('refuses a conversation, message, integration or webhook naming a user of another organization (23503)', async () => {
    const conv = LEGACY_IDS.conversation;
    expect(await sqlState(db, `INSERT INTO conversations (org_id, user_id, title) VALUES ($1, $2, 'x')`, [DEFAULT_ORG_ID, outsider])).toBe('23503');
    expect(await sqlState(db, `INSERT INTO messages (conversation_id, user_id, role, content) VALUES ($1, $2, 'user', 'x')`, [conv, outsider])).toBe('23503');
    expect(await sqlState(db, `INSERT INTO integrations (org_id, user_id, service, config) VALUES ($1, $2, 'slack', '{}')`, [DEFAULT_ORG_ID, outsider])).toBe('23503');
    expect(await sqlState(db, `INSERT INTO webhooks (org_id, user_id, name, url, events) VALUES ($1, $2, 'h', 'https://h.example', '{}')`, [DEFAULT_ORG_ID, outsider])).toBe('23503');
    // Pointing an existing row at a non-member is refused too.
    expect(await sqlState(db, `UPDATE conversations SET user_id = $2 WHERE id = $1`, [conv, outsider])).toBe('23503');
    // The same rows naming a member are fine.
    expect(await sqlState(db, `INSERT INTO conversations (org_id, user_id, title) VALUES ($1, $2, 'x')`, [otherOrg, outsider])).toBeNull();
    expect(await sqlState(db, `INSERT INTO messages (conversation_id, user_id, role, content) VALUES ($1, $2, 'user', 'x')`, [conv, LEGACY_IDS.allan])).toBeNull();
  });

  it("the legacy application's user, then its conversation, message, integration and webhook, still insert", async () => {
    // Statement by statement (autocommit) and in one transaction.
    const u1 = (await db.query<{ id: string }>(
      `INSERT INTO users (username, email, password_hash) VALUES ('lw_new', 'lw_new@aurora.example', 'x') RETURNING id`,
    )).rows[0]!.id;
    const c1 = (await db.query<{ id: string; org_id: string }>(`INSERT INTO conversations (user_id, title) VALUES ($1, 'hi') RETURNING id, org_id`, [u1])).rows[0]!;
    expect(c1.org_id).toBe(DEFAULT_ORG_ID);
    await db.query(`INSERT INTO messages (conversation_id, user_id, role, content) VALUES ($1, $2, 'user', 'hello')`, [c1.id, u1]);
    await db.query(`INSERT INTO integrations (user_id, service, config) VALUES ($1, 'notion', '{}')`, [u1]);
    await db.query(`INSERT INTO webhooks (user_id, name, url, events) VALUES ($1, 'h', 'https://h.example', '{}')`, [u1]);
    expect(await membership(db, DEFAULT_ORG_ID, u1)).toEqual({ role: 'member', is_active: true });

    const u2 = await db.transaction(async (tx) => {
      const id = (await tx.query<{ id: string }>(
        `INSERT INTO users (username, email, password_hash, role, is_active) VALUES ('lw_admin', 'lw_admin@aurora.example', 'x', 'admin', false) RETURNING id`,
      )).rows[0]!.id;
      const c = (await tx.query<{ id: string }>(`INSERT INTO conversations (user_id, title) VALUES ($1, 'tx') RETURNING id`, [id])).rows[0]!.id;
      await tx.query(`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', 'in a transaction')`, [c]);
      return id;
    });
    expect(await membership(db, DEFAULT_ORG_ID, u2)).toEqual({ role: 'admin', is_active: false });

    // Several legacy users in one statement each get theirs.
    const many = await db.query<{ id: string }>(
      `INSERT INTO users (username, email, password_hash)
       SELECT 'lw_m' || g, 'lw_m' || g || '@aurora.example', 'x' FROM generate_series(1, 3) g RETURNING id`,
    );
    for (const r of many.rows) expect(await membership(db, DEFAULT_ORG_ID, r.id)).toEqual({ role: 'member', is_active: true });
  });

  it('a user inserted with its organization named gets no automatic membership (the API makes its own)', async () => {
    const id = (await db.query<{ id: string }>(
      `INSERT INTO users (org_id, email, password_hash) VALUES ($1, 'api-made@aurora.example', 'x') RETURNING id`,
      [DEFAULT_ORG_ID],
    )).rows[0]!.id;
    expect(await membership(db, DEFAULT_ORG_ID, id)).toBeNull();
    expect(await sqlState(db, `INSERT INTO conversations (user_id, title) VALUES ($1, 'not yet a member')`, [id])).toBe('23503');
    await db.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, 'viewer')`, [DEFAULT_ORG_ID, id]);
    expect(await membership(db, DEFAULT_ORG_ID, id)).toEqual({ role: 'viewer', is_active: true });
    // The CLI's users create, on the upgraded database, makes exactly the membership it was asked for.
    const made = await createUser(db, { email: 'cli-made@aurora.example', password: 'a long enough passphrase 42', orgId: DEFAULT_ORG_ID, role: 'admin' });
    expect(made).toMatchObject({ existed: false, membership: 'created', role: 'admin' });
    expect(await membership(db, DEFAULT_ORG_ID, made.id)).toEqual({ role: 'admin', is_active: true });
  });

  it('an interrupted user-keys step resumes: rows naming non-members are made valid as 029 does', async () => {
    // Back to the state before the step: the keys gone, and rows that name a non-member of their organization.
    for (const [tbl, key] of Object.entries(KEYS)) await db.exec(`ALTER TABLE ${tbl} DROP CONSTRAINT ${key}`);
    const conv = (await db.query<{ id: string }>(
      `INSERT INTO conversations (org_id, user_id, title) VALUES ($1, $2, 'named a non-member') RETURNING id`,
      [otherOrg, LEGACY_IDS.guest],
    )).rows[0]!.id;
    const msg = (await db.query<{ id: string }>(
      `INSERT INTO messages (conversation_id, user_id, role, content) VALUES ($1, $2, 'user', 'x') RETURNING id`,
      [LEGACY_IDS.conversation, outsider],
    )).rows[0]!.id;
    await db.exec(`UPDATE robbieverse_meta.legacy_upgrade SET status = 'running' WHERE step IN ('user-keys', 'verify')`);
    const before = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM conversations`)).rows[0]!.n;

    const report = await upgrade(db);
    expect(report.resumed).toBe(true);
    // CASCADE (the user's own row): kept, the user gets an inactive viewer membership; SET NULL: nulled.
    expect((await db.query(`SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2`, [conv, LEGACY_IDS.guest])).rows).toHaveLength(1);
    expect(await membership(db, otherOrg, LEGACY_IDS.guest)).toEqual({ role: 'viewer', is_active: false });
    expect((await db.query<{ u: string | null }>(`SELECT user_id AS u FROM messages WHERE id = $1`, [msg])).rows[0]!.u).toBeNull();
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM conversations`)).rows[0]!.n).toBe(before);
    const invalid = await db.query(`SELECT conname FROM pg_constraint WHERE conname = ANY ($1::text[]) AND convalidated`, [Object.values(KEYS)]);
    expect(invalid.rows).toHaveLength(4);
    // Run again: nothing to do, nothing changes.
    const again = await migrateOrUpgrade(db, { files: embeddedMigrations(), noBackup: true });
    expect(again.kind).toBe('migrated');
  });
});
