/**
 * The cost of row-level security: contacts with 100,000 rows across 100 organizations.
 * A primary-key lookup and a 50-row page, as org A's application role (RLS applies) vs the
 * owner (no RLS), in the same run, on PostgreSQL 15 (throwaway cluster) and on PGlite.
 * Prints a table and appends it to bench/RESULTS.md (replacing the previous RLS section).
 * Usage: npx tsx bench/rls.ts [--iterations 2000]
 */
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db, Queryable } from '../src/db/types.js';
import { embeddedMigrations } from '../src/migrate/embedded.js';
import { migrate } from '../src/migrate/runner.js';
import { writeSection } from './results.js';
import { startOwnServer } from '../test/helpers/server.js';

const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1]) || 2000;
const ORGS = 100;
const PER_ORG = 1000;
const ROUNDS = 9;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function load(db: Db): Promise<{ orgA: string; userA: string; ids: string[] }> {
  await migrate(db, { files: embeddedMigrations() });
  await db.transaction(async (tx) => {
    // Bulk load without the audit trigger (superuser only); the tables' policies stay on.
    await tx.exec(`SET LOCAL session_replication_role = replica`);
    await tx.exec(`
      INSERT INTO organizations (name) SELECT 'bench org ' || g FROM generate_series(1, ${ORGS}) g;
      INSERT INTO contacts (org_id, first_name, last_name, email, tags)
      SELECT o.id, 'First' || g, 'Last' || g, 'p' || g || '@example.test', ARRAY['bench']
        FROM (SELECT id FROM organizations WHERE name LIKE 'bench org %') o, generate_series(1, ${PER_ORG}) g;
      ANALYZE contacts;`);
  });
  const orgA = (await db.query<{ id: string }>(`SELECT id FROM organizations WHERE name = 'bench org 1'`)).rows[0]!.id;
  const user = await db.query<{ id: string }>(
    `INSERT INTO users (org_id, email, password_hash) VALUES ($1, 'bench@example.test', 'x') RETURNING id`,
    [orgA],
  );
  await db.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [orgA, user.rows[0]!.id]);
  const ids = (await db.query<{ id: string }>(`SELECT id FROM contacts WHERE org_id = $1`, [orgA])).rows.map((r) => r.id);
  return { orgA, userA: user.rows[0]!.id, ids };
}

const LOOKUP = `SELECT * FROM contacts WHERE id = $1`;
const PAGE = `SELECT * FROM contacts WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT 50`;

/** µs per query for one round of n queries. */
async function round(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((performance.now() - t0) * 1000) / n;
}

async function measure(db: Db, label: string): Promise<string[]> {
  const { orgA, userA, ids } = await load(db);
  const zero = '00000000-0000-0000-0000-000000000000';
  const rows: string[] = [];
  // RLS on, inside one tenant transaction: the policy's own cost.
  const inTenant = async (fn: (s: Queryable) => Promise<number>) =>
    db.withSession(async (s) => {
      await s.exec('BEGIN');
      await s.query('SELECT app_set_context($1::uuid, $2::uuid)', [orgA, userA]);
      await s.exec('SET LOCAL ROLE robbie_app');
      try {
        return await fn(s);
      } finally {
        await s.exec('ROLLBACK');
      }
    });
  const asOwner = (fn: (s: Queryable) => Promise<number>) => db.withSession(fn);
  for (const [name, sql, args] of [
    ['primary-key lookup', LOOKUP, (i: number) => [ids[i % ids.length]]],
    ['50-row page', PAGE, (_i: number) => [orgA, zero]],
  ] as const) {
    const n = Math.round(iterations / ROUNDS);
    const ownerRounds: number[] = [];
    const appRounds: number[] = [];
    // Warm both paths, then alternate rounds so drift in speed hits both alike.
    await asOwner((s) => round(200, (i) => s.query(sql, args(i) as unknown[])));
    await inTenant((s) => round(200, (i) => s.query(sql, args(i) as unknown[])));
    for (let r = 0; r < ROUNDS; r++) {
      ownerRounds.push(await asOwner((s) => round(n, (i) => s.query(sql, args(i) as unknown[]))));
      appRounds.push(
        await inTenant((s) =>
          round(n, async (i) => {
            const res = await s.query(sql, args(i) as unknown[]);
            if (res.rows.length === 0) throw new Error(`${name}: no rows as the app role`);
          }),
        ),
      );
    }
    const owner = median(ownerRounds);
    const app = median(appRounds);
    rows.push(`| ${label} | ${name} | ${owner.toFixed(0)} µs | ${app.toFixed(0)} µs | ${(app / owner).toFixed(2)}× |`);
    console.log(rows[rows.length - 1]);
  }
  // Isolation holds in the benchmark too: org A's role sees 1,000 of the 100,000 rows.
  const visible = await inTenant(async (s) => (await s.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts')).rows[0]!.n);
  if (visible !== PER_ORG) throw new Error(`expected ${PER_ORG} visible rows, got ${visible}`);
  return rows;
}

const out: string[] = [
  `### Row-level security cost — contacts, ${ORGS * PER_ORG} rows in ${ORGS} organizations, median of ${ROUNDS} alternating rounds of ${Math.round(iterations / ROUNDS)} queries`,
  '',
  '| engine | query | owner (no RLS) | org A app role (RLS) | ratio |',
  '|---|---|---|---|---|',
];

const server = startOwnServer();
try {
  const pgDb = await PostgresDb.open(server.url);
  out.push(...(await measure(pgDb, 'PostgreSQL 15')));
  await pgDb.close();
} finally {
  server.stop();
}
const lite = await PgliteDb.open();
out.push(...(await measure(lite, 'PGlite')));
await lite.close();

writeSection('rls', out.join('\n'));
console.log('\nupdated bench/RESULTS.md');
