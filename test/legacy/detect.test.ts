import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RobbieverseError } from '../../src/errors.js';
import { detectDatabaseState } from '../../src/migrate/legacy/detect.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName, openTestDb } from '../helpers/db.js';
import { createLegacyAurora, LEGACY_COLUMNS, LEGACY_TABLES } from '../helpers/legacy-fixture.js';
import { tableChecksum } from '../../src/migrate/legacy/checksum.js';

/** The archived "Robbie Memory System": known table names, other shapes (LEGACY.md §2.3). */
const MEMORY_SYSTEM = `
  CREATE TABLE conversations (id serial PRIMARY KEY, user_message text, robbie_response text, mood text, attraction_level int);
  CREATE TABLE mood_history (id serial PRIMARY KEY, mood text, changed_at timestamptz DEFAULT now());
  CREATE TABLE current_mood (id int PRIMARY KEY DEFAULT 1, mood text);
  INSERT INTO conversations (user_message, robbie_response, mood) VALUES ('hi', 'hello', 'playful');`;

describe(`what kind of database is this (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  beforeEach(async () => {
    t = await openTestDb();
  });
  afterEach(() => t.close());

  it('empty, then current after migrating', async () => {
    expect(await detectDatabaseState(t.db)).toEqual({ kind: 'empty' });
    await migrate(t.db, { files: embeddedMigrations() });
    expect(await detectDatabaseState(t.db)).toMatchObject({ kind: 'current' });
  });

  it('refuses a database that is neither ours nor legacy Aurora, and changes nothing', async () => {
    await t.db.exec(MEMORY_SYSTEM);
    const state = await detectDatabaseState(t.db);
    expect(state.kind).toBe('unknown');
    const err = await migrate(t.db, { files: embeddedMigrations() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RobbieverseError);
    expect((err as RobbieverseError).code).toBe('E_FOREIGN_DATABASE');
    expect((err as RobbieverseError).message).toMatch(/found: conversations, current_mood, mood_history/);
    expect((err as RobbieverseError).message).toMatch(/conversations lacks the legacy columns/);
    expect((err as RobbieverseError).hint).toMatch(/nothing was changed/);
    // Nothing was created, not even the runner's own schema.
    const meta = await t.db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'robbieverse_meta'`);
    expect(meta.rows).toHaveLength(0);
    const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations');
    expect(rows.rows[0]!.n).toBe(1);
  });
});

describe(`a legacy Aurora database (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  beforeEach(async () => {
    t = await openTestDb();
    await createLegacyAurora(t.db);
  });
  afterEach(() => t.close());

  it('is recognised and refused by migrate, with nothing changed', async () => {
    const state = await detectDatabaseState(t.db);
    expect(state).toMatchObject({ kind: 'legacy-aurora' });
    const before = await Promise.all(LEGACY_TABLES.map((tb) => tableChecksum(t.db, tb, LEGACY_COLUMNS[tb]!)));
    const err = await migrate(t.db, { files: embeddedMigrations() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as RobbieverseError).code).toBe('E_LEGACY_DATABASE');
    expect((err as RobbieverseError).message).toMatch(/this is a legacy Aurora database/);
    expect((err as RobbieverseError).hint).toMatch(/nothing was changed/);
    const after = await Promise.all(LEGACY_TABLES.map((tb) => tableChecksum(t.db, tb, LEGACY_COLUMNS[tb]!)));
    expect(after).toEqual(before);
  });

  it('checksums are stable, cover every row, and change when one value changes', async () => {
    const a = await tableChecksum(t.db, 'messages', LEGACY_COLUMNS.messages!, 500);
    const b = await tableChecksum(t.db, 'messages', LEGACY_COLUMNS.messages!, 1000);
    expect(a.rows).toBeGreaterThan(1000);
    expect(a.checksum).toMatch(/^[0-9a-f]{32}$/);
    // The same chunking gives the same digest; before and after an upgrade use the same chunk size.
    expect((await tableChecksum(t.db, 'messages', LEGACY_COLUMNS.messages!, 500)).checksum).toBe(a.checksum);
    expect(b.rows).toBe(a.rows);
    await t.db.query(`UPDATE messages SET content = content || '.' WHERE id = (SELECT id FROM messages ORDER BY id DESC LIMIT 1)`);
    const c = await tableChecksum(t.db, 'messages', LEGACY_COLUMNS.messages!, 500);
    expect(c.rows).toBe(a.rows);
    expect(c.checksum).not.toBe(a.checksum);
  });
});
