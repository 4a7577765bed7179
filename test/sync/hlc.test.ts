import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { RobbieverseError } from '../../src/errors.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import {
  HLC_SCALE,
  HybridClock,
  compareStamps,
  decodeHlc,
  encodeHlc,
  formatHlc,
  hlcCounter,
  hlcPhysicalMs,
  isSkewed,
} from '../../src/sync/hlc.js';
import { engineName, onPostgres, openTestDb, type TestTarget } from '../helpers/db.js';

/**
 * The TypeScript clock against the SQL one (schema/031: sync.hlc_next, sync.hlc_observe,
 * sync.hlc_encode/decode, sync.newer). FAST_CHECK_RUNS scales the runs, FAST_CHECK_SEED replays
 * one (the seed is in the test name and in fast-check's failure message).
 */
const RUNS = Number(process.env.FAST_CHECK_RUNS || 150);
const SEED = process.env.FAST_CHECK_SEED ? Number(process.env.FAST_CHECK_SEED) : Math.floor(Math.random() * 2 ** 31);
const MAX_STAMP = 2n ** 63n - 1n;
const BASE_WALL = 1_796_000_000_000; // December 2026

/** Set to true only to tolerate a clock that returns floor + 1 at a full counter (it must not). */
const SQL_NEXT_SKIPS_FLOOR = false;

type Ev =
  | { kind: 'next'; dWall: number; times: number }
  | { kind: 'observeWall'; dMs: number; counter: number }
  | { kind: 'observeLast'; delta: number };

const eventArb: fc.Arbitrary<Ev> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('next' as const),
      // still, forward a little, back a little, a jump either way, an hour back, a day ahead
      dWall: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: -3, max: -1 }),
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.constantFrom(-3_600_000, 86_400_000),
      ),
      times: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 8 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('observeWall' as const),
      dMs: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -100_000, max: 100_000 })),
      counter: fc.oneof(fc.constantFrom(0, 1, 65534, 65535), fc.integer({ min: 0, max: 65535 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('observeLast' as const),
      delta: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(65535, 65536, 65537)),
    }),
  },
);

const next = (dWall: number, times = 1): Ev => ({ kind: 'next', dWall, times });
const fullCounter = (dMs: number): Ev => ({ kind: 'observeWall', dMs, counter: 65535 });
/** Always run first: the counter overflowing, a full counter meeting the next ms, the wall stepping back. */
const EDGE_CASES: [number, Ev[]][] = [
  [0, [next(0), fullCounter(0), next(0, 2)]],
  [0, [next(0), fullCounter(0), next(1, 2)]],
  [7, [next(0), fullCounter(-1), next(0, 3)]],
  [0, [next(0, 3), next(-3_600_000, 3), next(86_400_000), { kind: 'observeLast', delta: 65536 }, next(-1, 2)]],
];

const max = (a: bigint, b: bigint) => (a > b ? a : b);

describe(`hybrid logical clock, TypeScript and SQL (${engineName}); seed ${SEED}, ${RUNS} runs`, () => {
  let db: Db;
  let target: TestTarget | undefined;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, target, close } = await openTestDb());
    await migrate(db, { files: embeddedMigrations() });
  });
  afterAll(async () => close?.());

  const sqlNext = async (wall: bigint) =>
    BigInt((await db.query<{ v: string }>('SELECT sync.hlc_next($1::bigint)::text AS v', [wall.toString()])).rows[0]!.v);
  const sqlObserve = (seen: bigint) => db.query('SELECT sync.hlc_observe($1::bigint)', [seen.toString()]);
  const sqlLast = async () =>
    BigInt(
      (await db.query<{ v: string }>('SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS v FROM sync.hlc_seq')).rows[0]!.v,
    );
  const resetSql = () => db.query(`SELECT setval('sync.hlc_seq', 1, false)`);
  const connect = (n: number) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const c = new pg.Client({ connectionString: target!.url });
        await c.connect();
        return c;
      }),
    );

  it('gives the same stamps as sync.hlc_next/hlc_observe for any sequence of events, with the clock properties', async () => {
    let skipped = 0;
    let overflows = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1_000_000 }), fc.array(eventArb, { minLength: 1, maxLength: 30 }), async (start, events) => {
        await resetSql();
        const clock = new HybridClock();
        let wall = BigInt(BASE_WALL + start);
        let hi = 0n; // highest physical ms seen: walls, observed stamps, own stamps
        let maxSeen = -1n;
        let prev = -1n;
        for (const ev of events) {
          if (ev.kind === 'next') {
            wall = max(0n, wall + BigInt(ev.dWall));
            for (let i = 0; i < ev.times; i++) {
              const before = clock.last;
              const overflow = before % HLC_SCALE === 65535n && before / HLC_SCALE >= wall;
              const floorCase = before + 1n === wall * HLC_SCALE;
              const ts = clock.next(wall);
              const sql = await sqlNext(wall);
              if (SQL_NEXT_SKIPS_FLOOR && floorCase && sql === ts + 1n) {
                skipped++;
                clock.observe(sql); // follow the SQL clock past the value it skipped
              } else {
                expect(sql, `next(${wall}) after last ${before}`).toBe(ts);
              }
              expect(ts).toBe(max(before + 1n, wall * HLC_SCALE));
              expect(sql).toBeGreaterThan(prev);
              expect(sql).toBeGreaterThan(maxSeen);
              if (overflow) overflows++;
              expect(BigInt(hlcPhysicalMs(sql)), `physical part of ${formatHlc(sql)}`).toBe(overflow ? hi + 1n : max(wall, hi));
              prev = sql;
              hi = max(hi, BigInt(hlcPhysicalMs(sql)));
            }
          } else {
            const seen =
              ev.kind === 'observeWall'
                ? max(0n, (wall + BigInt(ev.dMs)) * HLC_SCALE + BigInt(ev.counter))
                : max(0n, clock.last + BigInt(ev.delta));
            const before = clock.last;
            clock.observe(seen);
            await sqlObserve(seen);
            expect(clock.last).toBe(max(before, seen));
            expect(await sqlLast(), `observe(${seen}) after last ${before}`).toBe(clock.last);
            maxSeen = max(maxSeen, seen);
            hi = max(hi, seen / HLC_SCALE);
          }
        }
        expect(await sqlLast()).toBe(clock.last);
      }),
      { numRuns: RUNS, seed: SEED, examples: EDGE_CASES },
    );
    // The fixed examples reach both edges: a full counter, and a full counter meeting the next ms.
    expect(overflows).toBeGreaterThan(0);
    if (SQL_NEXT_SKIPS_FLOOR) expect(skipped).toBeGreaterThan(0);
  });

  it('sync.hlc_next(W) after observing W × 65536 - 1 is W × 65536', async () => {
    const wall = BigInt(BASE_WALL);
    await resetSql();
    await sqlObserve(wall * HLC_SCALE - 1n);
    expect(await sqlNext(wall)).toBe(new HybridClock(wall * HLC_SCALE - 1n).next(wall));
  });

  it('encodes and decodes like sync.hlc_encode/hlc_decode, and text order is numeric order', async () => {
    const stamp = fc.oneof(
      fc.bigInt({ min: 0n, max: MAX_STAMP }),
      fc.bigInt({ min: BigInt(BASE_WALL) * HLC_SCALE, max: BigInt(BASE_WALL + 10_000) * HLC_SCALE }),
      fc.constantFrom(0n, 1n, 65535n, 65536n, MAX_STAMP, MAX_STAMP - 1n),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(stamp, { minLength: 1, maxLength: 40 }), async (hs) => {
        const texts = hs.map((h) => encodeHlc(h));
        for (const [i, t] of texts.entries()) {
          expect(t).toMatch(/^[0-9a-f]{16}$/);
          expect(decodeHlc(t)).toBe(hs[i]);
        }
        const r = await db.query<{ enc: string; dec: string }>(
          `SELECT sync.hlc_encode(h::bigint) AS enc, sync.hlc_decode(sync.hlc_encode(h::bigint))::text AS dec
             FROM unnest($1::text[]) WITH ORDINALITY AS t(h, i) ORDER BY i`,
          [hs.map(String)],
        );
        expect(r.rows.map((x) => x.enc)).toEqual(texts);
        expect(r.rows.map((x) => BigInt(x.dec))).toEqual(hs);
        // Sorting by text (in TS, and in SQL with the database's own collation) sorts by number.
        const byNumber = [...hs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(encodeHlc);
        expect([...texts].sort()).toEqual(byNumber);
        const sqlSorted = await db.query<{ enc: string }>(
          'SELECT sync.hlc_encode(h::bigint) AS enc FROM unnest($1::text[]) AS t(h) ORDER BY 1',
          [hs.map(String)],
        );
        expect(sqlSorted.rows.map((x) => x.enc)).toEqual(byNumber);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('sync.newer agrees with compareStamps, equal stamps with different nodes included', async () => {
    const nodes = fc.uuid().map((u) => u.toLowerCase());
    const fewStamps = fc.constantFrom(0n, 117_702_656_000_000_000n, 117_702_656_000_000_001n, MAX_STAMP);
    const side = fc.record({ hlc: fc.oneof(fewStamps, fc.bigInt({ min: 0n, max: MAX_STAMP })), nodeId: nodes });
    const pair = fc.oneof(
      fc.tuple(side, side),
      side.chain((a) => fc.tuple(fc.constant(a), nodes.map((nodeId) => ({ hlc: a.hlc, nodeId })))), // same stamp, other node
      side.map((a) => [a, { ...a }] as const), // identical
    );
    await fc.assert(
      fc.asyncProperty(fc.array(pair, { minLength: 1, maxLength: 40 }), async (pairs) => {
        const r = await db.query<{ ab: boolean; ba: boolean }>(
          `SELECT sync.newer(a::bigint, an::uuid, b::bigint, bn::uuid) AS ab, sync.newer(b::bigint, bn::uuid, a::bigint, an::uuid) AS ba
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(a, an, b, bn, i) ORDER BY i`,
          [pairs.map((p) => String(p[0].hlc)), pairs.map((p) => p[0].nodeId), pairs.map((p) => String(p[1].hlc)), pairs.map((p) => p[1].nodeId)],
        );
        for (const [i, [a, b]] of pairs.entries()) {
          const c = compareStamps(a, b);
          expect(compareStamps(b, a)).toBe(-c || 0);
          expect(r.rows[i], `${encodeHlc(a.hlc)}/${a.nodeId} vs ${encodeHlc(b.hlc)}/${b.nodeId}`).toEqual({ ab: c === 1, ba: c === -1 });
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it.skipIf(!onPostgres)('4 connections calling sync.hlc_next with the same wall clock at once get distinct, increasing stamps', async () => {
    const clients = await connect(4);
    try {
      await resetSql();
      const got: bigint[][] = [[], [], [], []];
      // Each round moves the wall on, so every round starts with all four on the locked path.
      for (let round = 0; round < 40; round++) {
        const wall = String(BASE_WALL + round);
        await Promise.all(
          clients.map(async (c, k) => {
            for (let i = 0; i < 5; i++) {
              const r = await c.query<{ v: string }>('SELECT sync.hlc_next($1::bigint)::text AS v', [wall]);
              got[k]!.push(BigInt(r.rows[0]!.v));
            }
          }),
        );
        for (const mine of got) expect(mine.at(-1)! / HLC_SCALE).toBe(BigInt(wall));
      }
      for (const mine of got) for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThan(mine[i - 1]!);
      const all = got.flat();
      expect(new Set(all).size).toBe(all.length);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  // A race in 031's sync.hlc_next, off by default because it depends on timing: when the sequence
  // is a few values below a millisecond boundary F, a caller on the locked path can setval(F)
  // after others took F + 1 outside the lock, and F + 1 is handed out twice. HLC_RACE_ROUNDS=5000
  // showed duplicates in about 2% of rounds on PostgreSQL 15; none with the fix in the report.
  const RACE_ROUNDS = Number(process.env.HLC_RACE_ROUNDS || 0);
  it.runIf(onPostgres && RACE_ROUNDS > 0)(`sync.hlc_next near a millisecond boundary never repeats a stamp (${RACE_ROUNDS} rounds)`, async () => {
    const clients = await connect(6);
    try {
      let wall = BigInt(BASE_WALL);
      const repeats: string[] = [];
      for (let round = 0; round < RACE_ROUNDS; round++) {
        wall += 10n;
        const floor = wall * HLC_SCALE;
        await clients[0]!.query(`SELECT setval('sync.hlc_seq', $1::bigint, true)`, [String(floor - 3n)]);
        const got = await Promise.all(
          clients.map((c, k) =>
            c.query<{ a: string; b: string }>('SELECT sync.hlc_next($1::bigint)::text AS a, sync.hlc_next($1::bigint)::text AS b', [
              String(k % 2 ? wall - 1n : wall),
            ]),
          ),
        );
        const after = await clients[0]!.query<{ a: string }>('SELECT sync.hlc_next($1::bigint)::text AS a', [String(wall - 5n)]);
        const all = [...got.flatMap((r) => [r.rows[0]!.a, r.rows[0]!.b]), after.rows[0]!.a].map((v) => BigInt(v) - floor);
        if (new Set(all).size !== all.length) repeats.push(`round ${round}: floor + [${all.join(', ')}]`);
      }
      expect(repeats, `${repeats.length} of ${RACE_ROUNDS} rounds repeated a stamp`).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describe('hybrid logical clock helpers', () => {
  const ms = Date.UTC(2026, 11, 7, 1, 2, 3, 456);

  it('splits, formats and bounds stamps', () => {
    const h = BigInt(ms) * HLC_SCALE + 5n;
    expect(hlcPhysicalMs(h)).toBe(ms);
    expect(hlcCounter(h)).toBe(5);
    expect(formatHlc(h)).toBe('2026-12-07T01:02:03.456Z+5');
    expect(encodeHlc(h)).toBe(h.toString(16).padStart(16, '0'));
    expect(isSkewed((BigInt(ms) + 1000n) * HLC_SCALE, ms, 1000)).toBe(false);
    expect(isSkewed((BigInt(ms) + 1000n) * HLC_SCALE + 1n, BigInt(ms), 1000n)).toBe(true);
    expect(isSkewed(0n, ms, 0)).toBe(false);
  });

  it('keeps stamps increasing when the wall clock steps back, and above what it observed', () => {
    const c = new HybridClock();
    expect(c.next(ms)).toBe(BigInt(ms) * HLC_SCALE);
    expect(c.next(ms - 10_000)).toBe(BigInt(ms) * HLC_SCALE + 1n);
    c.observe(BigInt(ms + 5) * HLC_SCALE + 65535n);
    c.observe(1n); // behind: no effect
    expect(c.next(BigInt(ms))).toBe(BigInt(ms + 6) * HLC_SCALE);
    expect(c.last).toBe(BigInt(ms + 6) * HLC_SCALE);
  });

  it('compares by stamp, then node id', () => {
    const a = { hlc: 10n, nodeId: '00000000-0000-0000-0000-00000000000a' };
    expect(compareStamps(a, { hlc: 11n, nodeId: '0' })).toBe(-1);
    expect(compareStamps(a, { hlc: 10n, nodeId: '00000000-0000-0000-0000-000000000009' })).toBe(1);
    expect(compareStamps(a, { ...a })).toBe(0);
  });

  it('refuses what is not a stamp with E_USAGE and a hint', () => {
    const bad = ['', '0', '000000000000000', '00000000000000001', '0001A2B3C4D50000', '0x01a2b3c4d50000', ' 001a2b3c4d50000', '000000000000000g', '8000000000000000', 'ffffffffffffffff'];
    for (const s of bad) {
      let err: unknown;
      try {
        decodeHlc(s);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(s)).toBeInstanceOf(RobbieverseError);
      expect((err as RobbieverseError).code).toBe('E_USAGE');
      expect((err as RobbieverseError).hint).toBeTruthy();
    }
    expect(() => decodeHlc(42 as unknown as string)).toThrow(RobbieverseError);
    expect(() => encodeHlc(-1n)).toThrow(/not a version stamp/);
    expect(() => encodeHlc(2n ** 63n)).toThrow(/not a version stamp/);
    expect(() => new HybridClock().next(1.5)).toThrow(/whole number/);
    expect(() => new HybridClock().next(Number.NaN)).toThrow(RobbieverseError);
    expect(() => new HybridClock().observe(-1n)).toThrow(RobbieverseError);
    expect(() => new HybridClock(2n ** 63n)).toThrow(RobbieverseError);
    expect(() => new HybridClock(MAX_STAMP).next(0)).toThrow(/not a version stamp/);
  });
});
