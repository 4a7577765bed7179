import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlLiteral } from '../../src/db/literal.js';
import type { Db } from '../../src/db/types.js';
import { engineName, openTestDb } from '../helpers/db.js';

const NASTY = [
  "plain", "it's", "''", "\\", "\\'", "'; DROP TABLE x; --", "E'\\x41'", "\\\\'\\\\", "$$", "$tag$ $tag$", "line\nbreak\ttab",
  "unicode ✓ 日本", "\u2028", "%_\\%", "' OR '1'='1", "\\'; SELECT 1; --",
];

describe(`inlined literals read back exactly (${engineName})`, () => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const t = await openTestDb();
    db = t.db;
    close = t.close;
  });
  afterAll(() => close());

  it('every nasty string survives as one literal', async () => {
    for (const s of NASTY) {
      const { rows } = await db.query<{ v: string; same: boolean }>(`SELECT ${sqlLiteral(s)} AS v, ${sqlLiteral(s)} = $1 AS same`, [s]);
      expect(rows[0]).toEqual({ v: s, same: true });
    }
    for (const setting of ['on', 'off']) {
      // E'' literals do not depend on standard_conforming_strings
      const { rows } = await db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL standard_conforming_strings = ${setting}`);
        return tx.query<{ v: string }>(`SELECT ${sqlLiteral("a\\'b")} AS v`);
      });
      expect(rows[0]!.v).toBe("a\\'b");
    }
  });

  it('numbers, booleans and NULL; NUL and non-finite numbers are refused', () => {
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(true)).toBe('true');
    expect(sqlLiteral(null)).toBe('NULL');
    expect(() => sqlLiteral('a\0b')).toThrow(/NUL/);
    expect(() => sqlLiteral(Number.NaN)).toThrow();
  });

  it('readOnce: a failing first statement stops the rest and leaves the session clean', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS literal_probe (v text)');
    await expect(db.readOnce({ sql: 'SELECT 1/$1::int', params: [0] }, { sql: 'INSERT INTO literal_probe VALUES ($1) RETURNING v', params: ['never'] })).rejects.toThrow(/division by zero/);
    expect((await db.query('SELECT count(*)::int AS n FROM literal_probe')).rows[0]).toEqual({ n: 0 });
    const ok = await db.readOnce({ sql: 'SELECT 2 AS two', params: [] }, { sql: 'SELECT $1::text AS v', params: ["it's"] });
    expect(ok.first.rows[0]).toEqual({ two: 2 });
    expect(ok.result.rows[0]).toEqual({ v: "it's" });
    // prepared once, reused: a second call with another value
    expect((await db.readOnce({ sql: 'SELECT 1', params: [] }, { sql: 'SELECT $1::text AS v', params: ['again'] })).result.rows[0]).toEqual({ v: 'again' });
  });
});
