import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksum } from '../../src/migrate/legacy/checksum.js';
import { createTarget, engineName, onPostgres, tmpDir, type TestTarget } from '../helpers/db.js';
import { createLegacyAurora, LEGACY_COLUMNS, LEGACY_TABLES } from '../helpers/legacy-fixture.js';
import { runCli, spawnCli, waitForStderr } from '../helpers/cli.js';
import type { Db } from '../../src/db/types.js';

async function checksums(db: Db) {
  return Promise.all(LEGACY_TABLES.map((t) => tableChecksum(db, t, LEGACY_COLUMNS[t]!)));
}

describe(`legacy upgrade: kill -9 during the backfill (${engineName})`, () => {
  let t: TestTarget;
  let backups: string;
  let before: Awaited<ReturnType<typeof checksums>>;
  beforeAll(async () => {
    t = await createTarget();
    backups = tmpDir('rv-kill-backups-');
    const db = await t.open();
    await createLegacyAurora(db, { messages: 30_000, conversations: 300 });
    before = await checksums(db);
    await db.close();
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(backups, { recursive: true, force: true });
  });

  it('resumes and finishes; nothing duplicated or lost; one backup, one baseline', async () => {
    const p = spawnCli(['db', 'migrate', ...t.args, '--backup-dir', backups, '--batch-size', '300']);
    await waitForStderr(p, /messages: \d+\/30000 rows/, 180_000);
    p.child.kill('SIGKILL');
    expect((await p.done).signal).toBe('SIGKILL');

    const again = await runCli(['db', 'migrate', ...t.args, '--backup-dir', backups, '--batch-size', '300']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming the interrupted upgrade/);
    expect(again.stderr).toMatch(/baseline: done before/);
    expect(again.stderr).toMatch(/✓ upgrade verified/);
    expect(fs.readdirSync(backups).filter((f) => f.includes('pre-upgrade') && !f.endsWith('.json'))).toHaveLength(1);

    const db = await t.open();
    try {
      expect(await checksums(db)).toEqual(before);
      const n = await db.query<{ n: number; nulls: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE org_id IS NULL)::int AS nulls FROM messages`);
      expect(n.rows[0]).toEqual({ n: before.find((c) => c.table === 'messages')!.rows, nulls: 0 });
      // Every backfilled message waits for the memory indexer, once.
      const queued = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM memory.queue WHERE source_table = 'messages'`);
      expect(queued.rows[0]!.n).toBe(n.rows[0]!.n);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!onPostgres)('legacy upgrade online: a concurrent writer keeps writing', () => {
  let t: TestTarget;
  let backups: string;
  beforeAll(async () => {
    t = await createTarget();
    backups = tmpDir('rv-online-backups-');
    const db = await t.open();
    await createLegacyAurora(db, { messages: 100_000, conversations: 1_000 });
    await db.close();
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(backups, { recursive: true, force: true });
  });

  it('never fails and never waits more than 1 s for a lock', async () => {
    const writer = new pg.Client({ connectionString: t.url });
    await writer.connect();
    const conv = (await writer.query(`SELECT id FROM conversations ORDER BY id LIMIT 1`)).rows[0].id as string;
    const upgrade = spawnCli(['db', 'migrate', ...t.args, '--backup-dir', backups, '--batch-size', '2000']);
    let stop = false;
    const started = performance.now();
    const slow: string[] = [];
    const waits: number[] = [];
    let failures = 0;
    let usersAdded = 0;
    const loop = (async () => {
      while (!stop) {
        const t0 = performance.now();
        try {
          await writer.query(`INSERT INTO messages (conversation_id, role, content) VALUES ($1, 'user', 'written during the upgrade')`, [conv]);
        } catch (err) {
          failures++;
          if (failures <= 3) console.log(`insert during the upgrade failed: ${(err as Error).message}`);
        }
        waits.push(performance.now() - t0);
        // Now and then a new legacy user (no membership, no org_id) and, next, a conversation of theirs.
        if (waits.length % 25 === 1) {
          try {
            const u = await writer.query(`INSERT INTO users (username, email, password_hash) VALUES ('w_' || gen_random_uuid(), 'w_' || gen_random_uuid() || '@aurora.example', 'x') RETURNING id`);
            await writer.query(`INSERT INTO conversations (user_id, title) VALUES ($1, 'a new user during the upgrade')`, [u.rows[0].id]);
            usersAdded++;
          } catch (err) {
            failures++;
            if (failures <= 3) console.log(`user + conversation insert during the upgrade failed: ${(err as Error).message}`);
          }
        }
        if (performance.now() - t0 > 300) slow.push(`${((t0 - started) / 1000).toFixed(1)}s: waited ${(performance.now() - t0).toFixed(0)} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const r = await upgrade.done;
    stop = true;
    await loop;
    const added = await writer.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE org_id IS NULL)::int AS nulls FROM messages WHERE content = 'written during the upgrade'`);
    const convs = await writer.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE m.role = 'member' AND m.is_active)::int AS members
         FROM conversations c LEFT JOIN organization_memberships m ON m.org_id = c.org_id AND m.user_id = c.user_id
        WHERE c.title = 'a new user during the upgrade'`,
    );
    await writer.end();
    const worst = Math.max(...waits);
    console.log(`online upgrade: ${waits.length} inserts during the upgrade, worst ${worst.toFixed(0)} ms, ${failures} failed`);
    if (worst >= 1000) console.log(`inserts slower than 300 ms: ${slow.join('; ')}\n${r.stderr}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/✓ upgrade verified/);
    expect(failures).toBe(0);
    expect(worst).toBeLessThan(1000);
    expect(added.rows[0].n).toBe(waits.length);
    expect(added.rows[0].nulls).toBe(0);
    expect(usersAdded).toBeGreaterThan(0);
    expect(convs.rows[0]).toEqual({ n: usersAdded, members: usersAdded });
  });
});
