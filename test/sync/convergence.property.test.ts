import crypto from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '../../src/db/pglite.js';
import { encodeHlc } from '../../src/sync/hlc.js';
import { onPostgres } from '../helpers/db.js';
import { checksum, closeAll, createHub, createNode, joinNode, sync, syncUntilQuiet, type Hub, type SyncNode } from '../helpers/sync.js';

/**
 * The property of the whole engine: one hub and three nodes (one of them PostgreSQL on the
 * PostgreSQL pass) write, delete, exchange, get cut off and restarted in a random order; once
 * healed and quiet, all four hold identical synced tables, every contested row holds the write with
 * the greatest (hlc, node id), and every write that was overwritten without being built upon is in
 * the hub's sync_conflicts. A fixed list of seeds plus one random seed (printed; replay one with
 * SYNC_PROPERTY_SEED=…). SYNC_PROPERTY_STEPS sets the commands per run.
 */
const ORG = '00000000-0000-4000-8000-000000000001';
const FIXED_SEEDS = [1, 7, 42, 2026, 31337];
const RANDOM_SEED = Number(process.env.SYNC_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SEEDS = process.env.SYNC_PROPERTY_SEED ? [RANDOM_SEED] : [...FIXED_SEEDS, RANDOM_SEED];
const STEPS = Number(process.env.SYNC_PROPERTY_STEPS ?? 36);
const IDS_PER_RUN = 4;

type Cmd =
  | { t: 'write'; at: number; id: number; del: boolean; title: string }
  | { t: 'sync'; node: number }
  | { t: 'cut'; node: number }
  | { t: 'heal'; node: number }
  | { t: 'restart'; node: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('write' as const), at: fc.integer({ min: 0, max: 3 }), id: fc.integer({ min: 0, max: IDS_PER_RUN - 1 }), del: fc.integer({ min: 0, max: 3 }).map((x) => x === 0), title: fc.string({ minLength: 1, maxLength: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('sync' as const), node: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cut' as const), node: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('heal' as const), node: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), node: fc.integer({ min: 1, max: 3 }) }) },
);

interface Write {
  record_id: string;
  hlc: string;
  origin: string;
  op: string;
  title: string | null;
  base_hlc: string | null;
}

describe(`sync property: a hub and three nodes converge (${onPostgres ? 'postgres hub, postgres + pglite nodes' : 'pglite'})`, () => {
  let hub: Hub;
  let nodes: SyncNode[];

  beforeAll(async () => {
    hub = await createHub();
    nodes = await Promise.all([
      createNode('prop-a', 'pglite'),
      createNode('prop-b', onPostgres ? 'postgres' : 'pglite'),
      createNode('prop-c', 'pglite'),
    ]);
    for (const [i, n] of nodes.entries()) await joinNode(hub, n, `prop-node-${i + 1}`);
  }, 600_000);
  afterAll(async () => {
    await closeAll();
  });

  const dbAt = (at: number) => (at === 0 ? hub.db : nodes[at - 1]!.db);

  async function restart(n: SyncNode): Promise<void> {
    if (n.kind === 'pglite') {
      await n.db.close();
      n.db = await PgliteDb.open(path.join(n.home, 'pgdata'));
    } else {
      await n.db.close();
      n.db = await n.target!.open();
    }
  }

  async function run(seed: number): Promise<void> {
    const ids = Array.from({ length: IDS_PER_RUN }, () => crypto.randomUUID());
    const cmds = fc.sample(fc.array(cmdArb, { minLength: STEPS, maxLength: STEPS }), { seed, numRuns: 1 })[0]!;
    const cut = new Set<number>();
    const log: string[] = [];
    try {
      for (const c of cmds) {
        log.push(JSON.stringify(c));
        if (c.t === 'write') {
          const db = dbAt(c.at);
          const id = ids[c.id]!;
          const exists = (await db.query('SELECT 1 FROM tasks WHERE id = $1', [id])).rows.length > 0;
          if (c.del) {
            if (exists) await db.query('DELETE FROM tasks WHERE id = $1', [id]);
          } else if (exists) {
            await db.query('UPDATE tasks SET title = $2 WHERE id = $1', [id, `${c.at}:${c.title}`]);
          } else {
            await db.query('INSERT INTO tasks (id, org_id, title) VALUES ($1, $2, $3)', [id, ORG, `${c.at}:${c.title}`]);
          }
        } else if (c.t === 'sync') {
          if (!cut.has(c.node)) await sync(nodes[c.node - 1]!);
        } else if (c.t === 'cut') cut.add(c.node);
        else if (c.t === 'heal') cut.delete(c.node);
        else await restart(nodes[c.node - 1]!);
      }
      // heal everything and let the network go quiet
      await syncUntilQuiet(nodes, 8);

      const all = [hub.db, ...nodes.map((n) => n.db)];
      const sums = await Promise.all(all.map((db) => checksum(db, 'tasks')));
      for (const s of sums.slice(1)) expect(s, 'tasks identical on the hub and every node').toEqual(sums[0]);

      // every write made anywhere: the origin's own log rows
      const writes: Write[] = [];
      for (const db of all) {
        const { rows } = await db.query<Write>(
          `SELECT record_id::text, hlc::text, origin_node_id::text AS origin, op, row_data ->> 'title' AS title, base_hlc::text
             FROM sync.change_log
            WHERE table_name = 'tasks' AND record_id = ANY ($1::uuid[]) AND origin_node_id = (SELECT node_id FROM sync.local)`,
          [ids],
        );
        writes.push(...rows);
      }
      const newer = (a: Write, b: Write) => BigInt(a.hlc) > BigInt(b.hlc) || (a.hlc === b.hlc && a.origin > b.origin);
      const conflicts = await hub.db.query<{ record_id: string; loser_node_id: string; loser_hlc: string }>(
        `SELECT record_id::text, loser_node_id::text, loser_hlc FROM sync_conflicts WHERE table_name = 'tasks' AND record_id = ANY ($1::uuid[])`,
        [ids],
      );
      const lost = new Set(conflicts.rows.map((c) => `${c.record_id}/${c.loser_node_id}/${c.loser_hlc}`));
      for (const id of ids) {
        const ws = writes.filter((w) => w.record_id === id);
        if (!ws.length) continue;
        const winner = ws.reduce((a, b) => (newer(b, a) ? b : a));
        for (const db of all) {
          const v = await db.query<{ hlc: string; node_id: string; deleted: boolean }>(
            `SELECT hlc::text, node_id::text, deleted FROM sync.row_versions WHERE table_name = 'tasks' AND record_id = $1`,
            [id],
          );
          expect(v.rows[0], `version of ${id}`).toMatchObject({ hlc: winner.hlc, node_id: winner.origin, deleted: winner.op === 'D' });
          const row = await db.query<{ title: string }>('SELECT title FROM tasks WHERE id = $1', [id]);
          if (winner.op === 'D') expect(row.rows, `${id} stays deleted`).toHaveLength(0);
          else expect(row.rows[0]?.title, `${id} holds the winning write`).toBe(winner.title);
        }
        for (const w of ws) {
          if (w === winner) continue;
          const builtUpon = ws.some((o) => o.base_hlc === w.hlc);
          const recorded = lost.has(`${id}/${w.origin}/${encodeHlc(BigInt(w.hlc))}`);
          expect(builtUpon || recorded, `write ${w.hlc} by ${w.origin} on ${id} (${w.op}) is superseded by a write on top of it or recorded as a loser`).toBe(true);
        }
      }
      // quiet means quiet: another round moves nothing
      for (const n of nodes) {
        const r = await sync(n);
        expect(r.push.sent + r.pull.received, `${n.name} after quiescence`).toBe(0);
      }
    } catch (err) {
      throw new Error(`sync property failed for seed ${seed} (replay: SYNC_PROPERTY_SEED=${seed})\ncommands:\n  ${log.join('\n  ')}\n${(err as Error).stack ?? err}`);
    }
  }

  for (const seed of SEEDS) {
    it(`converges for seed ${seed}${seed === RANDOM_SEED && !FIXED_SEEDS.includes(seed) ? ' (random)' : ''}`, async () => {
      await run(seed);
    }, 180_000);
  }
});
