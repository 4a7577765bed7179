import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { RobbieverseError } from '../../src/errors.js';
import { loadMigrationsFromDir, toMigrations } from '../../src/migrate/files.js';
import { readHistory } from '../../src/migrate/history.js';
import { migrate, type MigrateEvent } from '../../src/migrate/runner.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { copyFixture, engineName, onPostgres, openTestDb } from '../helpers/db.js';

/** Everything a migration could have changed: user tables, columns, functions and the history. */
async function snapshot(db: Db) {
  const tables = await db.query(
    `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'i')
      ORDER BY 1, 2`,
  );
  const fns = await db.query(`SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1`);
  const history = await readHistory(db);
  return { tables: tables.rows, fns: fns.rows, history };
}

async function expectRefused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<RobbieverseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the migration to be refused').toBeInstanceOf(RobbieverseError);
  const re = err as RobbieverseError;
  expect(re.code).toBe(code);
  expect(re.message).toMatch(pattern);
  expect(re.hint).toBeTruthy();
  return re;
}

describe(`migration runner (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  let dir: string;
  beforeEach(async () => {
    t = await openTestDb();
    dir = copyFixture('basic');
  });
  afterEach(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies every migration from empty, then a second run does nothing', async () => {
    const events: MigrateEvent[] = [];
    const first = await migrate(t.db, { files: loadMigrationsFromDir(dir), onEvent: (e) => events.push(e) });
    expect(first.applied.map((a) => a.name)).toEqual(['001-accounts', '002-notes', '003-seed']);
    expect(events.filter((e) => e.type === 'migration-done')).toHaveLength(3);

    const rows = await t.db.query<{ name: string }>('SELECT name FROM accounts ORDER BY name');
    expect(rows.rows.map((r) => r.name)).toEqual(['alpha; the first', 'beta']);
    const note = await t.db.query<{ body: string }>('SELECT body FROM notes');
    expect(note.rows[0]!.body).toBe("it's a note;\nwith an escaped ' quote");
    expect((await t.db.query<{ n: string | number }>('SELECT account_count() AS n')).rows[0]!.n).toEqual(2);

    const before = await snapshot(t.db);
    const second = await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(3);
    expect(await snapshot(t.db)).toEqual(before);

    const status = await migrationStatus(t.db, loadMigrationsFromDir(dir));
    expect(status.upToDate).toBe(true);
    expect(status.applied.map((a) => a.name)).toEqual(['001-accounts', '002-notes', '003-seed']);
    expect(status.pending).toEqual([]);
  });

  it('status lists pending migrations before they are applied', async () => {
    const files = loadMigrationsFromDir(dir);
    await migrate(t.db, { files: files.slice(0, 1) });
    const s = await migrationStatus(t.db, files);
    expect(s.applied.map((a) => a.name)).toEqual(['001-accounts']);
    expect(s.pending.map((p) => p.name)).toEqual(['002-notes', '003-seed']);
    expect(s.drift).toEqual([]);
    expect(s.upToDate).toBe(false);
  });

  it('takes the capability branch that matches the server', async () => {
    const r = await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    const type = await t.db.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'notes'::regclass AND attname = 'embedding'`,
    );
    expect(type.rows[0]!.t).toBe(r.capabilities.extensions.vector ? 'vector(3)' : 'real[]');
    // PGlite ships pgvector; the CI's PostgreSQL 15 does not have it.
    expect(r.capabilities.extensions.vector).toBe(!onPostgres);
    const caps = await t.db.query<{ value: string }>(`SELECT value FROM robbieverse_meta.capabilities WHERE name = 'embedding_type'`);
    expect(caps.rows[0]!.value).toBe(onPostgres ? 'real[]' : 'vector');
  });

  it('refuses an edited applied migration and changes nothing', async () => {
    await migrate(t.db, { files: loadMigrationsFromDir(dir).slice(0, 2) });
    const before = await snapshot(t.db);
    fs.appendFileSync(path.join(dir, '001-accounts.sql'), '\nALTER TABLE accounts ADD COLUMN sneaky int;\n');
    const err = await expectRefused(migrate(t.db, { files: loadMigrationsFromDir(dir) }), 'E_MIGRATION_DRIFT', /001-accounts\.sql was changed after it was applied/);
    expect(err.hint).toMatch(/new migration/);
    expect(await snapshot(t.db)).toEqual(before);
    const s = await migrationStatus(t.db, loadMigrationsFromDir(dir));
    expect(s.drift.map((d) => d.kind)).toEqual(['edited']);
  });

  it('refuses when an applied migration file was removed', async () => {
    await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    const before = await snapshot(t.db);
    fs.rmSync(path.join(dir, '002-notes.sql'));
    await expectRefused(migrate(t.db, { files: loadMigrationsFromDir(dir) }), 'E_MIGRATION_DRIFT', /002-notes was applied .* but its file is gone/);
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('refuses a new migration numbered before an applied one', async () => {
    fs.renameSync(path.join(dir, '002-notes.sql'), path.join(dir, '004-notes.sql'));
    // 004's embedding table references accounts; apply 001 and 003 first (003 needs notes, so drop it)
    fs.rmSync(path.join(dir, '003-seed.sql'));
    await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    const before = await snapshot(t.db);
    fs.writeFileSync(path.join(dir, '002-late.sql'), 'CREATE TABLE late (id int);\n');
    await expectRefused(migrate(t.db, { files: loadMigrationsFromDir(dir) }), 'E_MIGRATION_DRIFT', /002-late\.sql is new, but a later migration \(4\) is already applied/);
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('refuses a database that is ahead of the code', async () => {
    await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    const before = await snapshot(t.db);
    await expectRefused(migrate(t.db, { files: loadMigrationsFromDir(dir).slice(0, 2) }), 'E_MIGRATION_DRIFT', /ahead of the code/);
    expect(await snapshot(t.db)).toEqual(before);
  });

  it('reports a failing statement with file and line, and leaves nothing of that migration', async () => {
    await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    const before = await snapshot(t.db);
    fs.writeFileSync(
      path.join(dir, '004-broken.sql'),
      [
        '-- the first statement works, the second does not',
        'CREATE TABLE half_done (id int);',
        '',
        'INSERT INTO half_done VALUES (1);',
        'SELECT id,',
        '       no_such_column',
        '  FROM half_done;',
        'CREATE TABLE never_made (id int);',
      ].join('\n'),
    );
    const err = await expectRefused(migrate(t.db, { files: loadMigrationsFromDir(dir) }), 'E_MIGRATION_FAILED', /^004-broken\.sql:6: column "no_such_column" does not exist/);
    expect(err.details).toMatchObject({ file: '004-broken.sql', line: 6, sqlstate: '42703' });
    expect(err.hint).toMatch(/rolled back/);
    expect(await snapshot(t.db)).toEqual(before);
    // Still usable afterwards: fix the file and go on.
    fs.writeFileSync(path.join(dir, '004-broken.sql'), 'CREATE TABLE fixed (id int);\n');
    const r = await migrate(t.db, { files: loadMigrationsFromDir(dir) });
    expect(r.applied.map((a) => a.name)).toEqual(['004-broken']);
  });

  it('reports a runtime error without a position at the failing statement', async () => {
    fs.writeFileSync(path.join(dir, '004-dup.sql'), "INSERT INTO accounts (name) VALUES ('gamma');\n\nINSERT INTO accounts (name) VALUES ('beta');\n");
    const err = await expectRefused(migrate(t.db, { files: loadMigrationsFromDir(dir) }), 'E_MIGRATION_FAILED', /^004-dup\.sql:3: duplicate key value/);
    expect(err.details).toMatchObject({ sqlstate: '23505' });
    const gamma = await t.db.query(`SELECT 1 FROM accounts WHERE name = 'gamma'`);
    expect(gamma.rows).toHaveLength(0);
  });
});

describe('migration files', () => {
  it('rejects badly named files, duplicate numbers and broken capability sections', () => {
    expect(() => toMigrations([{ file: 'accounts.sql', sql: '' }])).toThrow(/does not match NNN-name\.sql/);
    expect(() => toMigrations([{ file: '001-a.sql', sql: '' }, { file: '001-b.sql', sql: '' }])).toThrow(/two migrations share number 1/);
    expect(() => toMigrations([{ file: '001-a.sql', sql: '-- @if vector\nSELECT 1;\n' }])).toThrow(/001-a\.sql:1: "-- @if" is never closed/);
    expect(() => toMigrations([{ file: '001-a.sql', sql: 'SELECT 1;\n-- @if warp_drive\n-- @end\n' }])).toThrow(/001-a\.sql:2: "-- @if warp_drive": expected one of/);
    expect(() => toMigrations([{ file: '001-a.sql', sql: '-- @end\n' }])).toThrow(/without "-- @if"/);
    expect(() => toMigrations([{ file: '001-a.sql', sql: 'SELECT 1;\n-- done\nCOMMIT;\n' }])).toThrow(/001-a\.sql:3: migrations must not contain transaction control/);
    // A plpgsql block's own BEGIN is not transaction control.
    expect(() => toMigrations([{ file: '001-a.sql', sql: 'DO $$ BEGIN PERFORM 1; END $$;\n' }])).not.toThrow();
  });

  it('orders by number and treats CRLF as the same content', () => {
    const a = toMigrations([{ file: '010-b.sql', sql: 'SELECT 1;\r\n' }, { file: '002-a.sql', sql: '' }]);
    expect(a.map((m) => m.version)).toEqual([2, 10]);
    const lf = toMigrations([{ file: '010-b.sql', sql: 'SELECT 1;\n' }]);
    expect(a[1]!.checksum).toBe(lf[0]!.checksum);
  });
});

afterAll(() => {});
