import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { tableChecksum } from '../../src/migrate/legacy/checksum.js';
import { DEFAULT_ORG_ID } from '../../src/migrate/legacy/upgrade.js';
import { migrateOrUpgrade } from '../../src/migrate/legacy/migrate-or-upgrade.js';
import { verifyDatabase } from '../../src/verify/index.js';
import { createTarget, engineName, tmpDir, type TestTarget } from '../helpers/db.js';
import { createLegacyAurora, LEGACY_COLUMNS, LEGACY_TABLES, LEGACY_WRITES } from '../helpers/legacy-fixture.js';
import { json, runCli } from '../helpers/cli.js';
import type { Db } from '../../src/db/types.js';

async function checksums(db: Db) {
  return Promise.all(LEGACY_TABLES.map((t) => tableChecksum(db, t, LEGACY_COLUMNS[t]!)));
}

describe(`in-place upgrade of a legacy Aurora database (${engineName})`, () => {
  let t: TestTarget;
  let backups: string;
  let before: Awaited<ReturnType<typeof checksums>>;
  beforeAll(async () => {
    t = await createTarget();
    backups = tmpDir('rv-upgrade-backups-');
    const db = await t.open();
    await createLegacyAurora(db);
    before = await checksums(db);
    await db.close();
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(backups, { recursive: true, force: true });
  });

  it('db migrate says so, backs up, upgrades in place, and verifies', async () => {
    const r = await runCli(['db', 'migrate', ...t.args, '--backup-dir', backups, '--batch-size', '500']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/legacy Aurora database found: upgrading it in place/);
    expect(r.stderr).toMatch(/backup: .*pre-upgrade/);
    expect(r.stderr).toMatch(/messages: \d+\/\d+ rows/);
    expect(r.stderr).toMatch(/✓ upgrade verified/);
    expect(r.stderr).toMatch(/to undo: robbieverse db restore /);
    const reports = fs.readdirSync(backups).filter((f) => f.endsWith('-report.json'));
    expect(reports).toHaveLength(1);
    const report = JSON.parse(fs.readFileSync(path.join(backups, reports[0]!), 'utf8'));
    expect(report.ok).toBe(true);
    for (const tb of report.tables) expect(tb.match, tb.table).toBe(true);
  });

  it('kept every legacy row and value, and the schema passes db verify', async () => {
    const db = await t.open();
    try {
      expect(await checksums(db)).toEqual(before);
      const v = await verifyDatabase(db, { files: embeddedMigrations() });
      const failed = v.checks.filter((c) => c.status === 'fail');
      expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
      const orgs = await db.query<{ n: number }>(`SELECT count(DISTINCT org_id)::int AS n FROM messages`);
      expect(orgs.rows[0]!.n).toBe(1);
      const owner = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM organization_memberships WHERE role = 'owner' AND org_id = $1`, [DEFAULT_ORG_ID]);
      expect(owner.rows[0]!.n).toBe(1);
    } finally {
      await db.close();
    }
  });

  it("the legacy application's statements run unchanged afterwards", async () => {
    const db = await t.open();
    try {
      for (const w of LEGACY_WRITES) {
        await db.query(w.sql, w.params).catch((e: Error) => {
          throw new Error(`${w.name}: ${e.message}`);
        });
      }
      // With the session's organization set, a legacy insert lands there instead.
      const other = await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Second org') RETURNING id`);
      const inSession = await db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('app.org_id', $1, true)`, [other.rows[0]!.id]);
        const c = await tx.query<{ id: string; org_id: string }>(`INSERT INTO conversations (title) VALUES ('in a session') RETURNING id, org_id`);
        const m = await tx.query<{ org_id: string }>(`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', 'hi') RETURNING org_id`, [c.rows[0]!.id]);
        return [c.rows[0]!.org_id, m.rows[0]!.org_id];
      });
      expect(inSession).toEqual([other.rows[0]!.id, other.rows[0]!.id]);
      const orphans = await db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM users WHERE org_id IS NULL) + (SELECT count(*) FROM messages WHERE org_id IS NULL)::int AS n`,
      );
      expect(Number(orphans.rows[0]!.n)).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('a second run is a no-op', async () => {
    const r = await runCli(['db', 'migrate', ...t.args, '--backup-dir', backups, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ applied: [] });
    expect(fs.readdirSync(backups).filter((f) => f.includes('pre-upgrade') && !f.endsWith('.json'))).toHaveLength(1);
  });

  it('restoring the backup gives back the legacy database exactly', async () => {
    const file = fs.readdirSync(backups).find((f) => f.includes('pre-upgrade') && !f.endsWith('.json'))!;
    const r = await runCli(['db', 'restore', path.join(backups, file), '--yes', ...t.args]);
    expect(r.code, r.stderr).toBe(0);
    const db = await t.open();
    try {
      expect(await checksums(db)).toEqual(before);
      const gone = await db.query<{ orgs: string | null; meta: number }>(
        `SELECT to_regclass('organizations')::text AS orgs, (SELECT count(*)::int FROM pg_namespace WHERE nspname = 'robbieverse_meta') AS meta`,
      );
      expect(gone.rows[0]).toEqual({ orgs: null, meta: 0 });
    } finally {
      await db.close();
    }
  });
});

void migrateOrUpgrade;
