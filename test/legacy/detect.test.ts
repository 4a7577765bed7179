import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RobbieverseError } from '../../src/errors.js';
import { detectDatabaseState } from '../../src/migrate/legacy/detect.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName, openTestDb } from '../helpers/db.js';

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
