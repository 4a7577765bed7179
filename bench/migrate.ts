/**
 * Migration benchmark. Prints figures and rewrites bench/RESULTS.md.
 *  - PostgreSQL 15 (a throwaway cluster started here): the runner vs `psql -f` of the same SQL,
 *    each on a fresh database, median of N runs, ratio against psql measured in this run.
 *  - PGlite: cold create, warm open, and migrate, in this process, median of N runs.
 * Usage: npm run bench [-- --runs 5]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import { capabilityFlags, detectCapabilities } from '../src/db/types.js';
import { renderBundle } from '../src/migrate/bundle.js';
import { renderForCapabilities } from '../src/migrate/directives.js';
import { loadMigrationsFromDir } from '../src/migrate/files.js';
import { migrate } from '../src/migrate/runner.js';
import { generateSchema } from './generate-schema.js';
import { writeSection } from './results.js';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const CLI = path.join(root, 'dist', 'cli', 'index.js');
if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const hasTime = fs.existsSync('/usr/bin/time');

/** Runs a command, returning wall time and peak RSS (KiB, when /usr/bin/time is there). */
function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { ms: number; rssKb?: number } {
  const t0 = performance.now();
  const r = hasTime
    ? spawnSync('/usr/bin/time', ['-f', 'RSS_KB=%M', cmd, ...args], { encoding: 'utf8', env: env ?? process.env })
    : spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  const m = /RSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { ms, rssKb: m ? Number(m[1]) : undefined };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-bench-'));
const schemaDir = path.join(work, 'schema');
const { files, lines } = generateSchema(schemaDir);
const migrations = loadMigrationsFromDir(schemaDir);
// psql -f gets the same SQL the runner runs on that server: the matching capability branch only.
const bundle = path.join(work, 'bundle.sql');
fs.writeFileSync(bundle, renderBundle(migrations, { generator: 'bench' }));
console.log(`schema: ${files} files, ${lines} lines`);

const results: string[] = [];
const out = (s: string) => {
  console.log(s);
  results.push(s);
};

// ---------- PostgreSQL ----------
const started = execFileSync('bash', [path.join(root, 'scripts', 'throwaway-postgres.sh'), 'start'], { encoding: 'utf8' });
const env = Object.fromEntries([...started.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])) as Record<string, string>;
const serverUrl = env.TEST_DATABASE_URL!;
try {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
  let n = 0;
  const freshDb = async () => {
    const name = `bench_${n++}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(serverUrl);
    u.pathname = '/' + name;
    return u.toString();
  };
  const probe = await PostgresDb.open(serverUrl);
  const flags = capabilityFlags(await detectCapabilities(probe));
  await probe.close();
  const serverPlain = path.join(work, 'server-plain.sql');
  fs.writeFileSync(serverPlain, migrations.map((m) => `BEGIN;\n${renderForCapabilities(m.sql, m.file, flags)}\n;\nCOMMIT;`).join('\n'));
  const tables = (fs.readFileSync(serverPlain, 'utf8').match(/CREATE TABLE/g) ?? []).length;

  const psqlPlain: number[] = [];
  const psqlBundle: number[] = [];
  const cli: number[] = [];
  const lib: number[] = [];
  const rss: { psql?: number; cli?: number } = {};
  for (let i = 0; i < runs; i++) {
    const a = timed('psql', [await freshDb(), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', serverPlain]);
    psqlPlain.push(a.ms);
    rss.psql = a.rssKb;
    psqlBundle.push(timed('psql', [await freshDb(), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', bundle]).ms);
    const c = timed(process.execPath, [CLI, 'db', 'migrate', '--migrations', schemaDir, '--url', await freshDb(), '--json']);
    cli.push(c.ms);
    rss.cli = c.rssKb;
    const db = await PostgresDb.open(await freshDb());
    const t0 = performance.now();
    await migrate(db, { files: migrations });
    lib.push(performance.now() - t0);
    await db.close();
  }
  await admin.end();
  const base = median(psqlPlain);
  out(`\n### PostgreSQL ${version} — full-size schema (${lines} lines, ${migrations.length} files, ${tables} tables), median of ${runs}\n`);
  out('| what | time | vs psql -f |');
  out('|---|---|---|');
  out(`| psql -f, plain SQL, one transaction per file (baseline) | ${fmt(base)} | 1.00× |`);
  out(`| psql -f of the \`db sql\` bundle | ${fmt(median(psqlBundle))} | ${(median(psqlBundle) / base).toFixed(2)}× |`);
  out(`| runner, in process (\`migrate()\`) | ${fmt(median(lib))} | ${(median(lib) / base).toFixed(2)}× |`);
  out(`| runner, whole CLI process (\`robbieverse db migrate\`, incl. Node start-up) | ${fmt(median(cli))} | ${(median(cli) / base).toFixed(2)}× |`);
  if (rss.psql && rss.cli) out(`\nPeak RSS: psql ${(rss.psql / 1024).toFixed(0)} MiB, robbieverse CLI ${(rss.cli / 1024).toFixed(0)} MiB.`);
} finally {
  execFileSync('bash', [path.join(root, 'scripts', 'throwaway-postgres.sh'), 'stop', env.PG_TMP!]);
}

// ---------- PGlite ----------
const cold: number[] = [];
const warm: number[] = [];
const mig: number[] = [];
const memMig: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = path.join(work, `pglite-${i}`);
  let t0 = performance.now();
  let db = await PgliteDb.open(dir);
  await db.query('SELECT 1');
  cold.push(performance.now() - t0);
  t0 = performance.now();
  await migrate(db, { files: migrations });
  mig.push(performance.now() - t0);
  await db.close();
  t0 = performance.now();
  db = await PgliteDb.open(dir);
  await db.query('SELECT 1');
  warm.push(performance.now() - t0);
  await db.close();
  const mem = await PgliteDb.open();
  t0 = performance.now();
  await migrate(mem, { files: migrations });
  memMig.push(performance.now() - t0);
  await mem.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
const pgliteRss = process.memoryUsage().rss;
out(`\n### PGlite 0.5.14 (PostgreSQL 18 + pgvector), in process, median of ${runs}\n`);
out('| what | time |');
out('|---|---|');
out(`| cold create (new data directory, first query) | ${fmt(median(cold))} |`);
out(`| warm open (existing data directory, first query) | ${fmt(median(warm))} |`);
out(`| migrate the full-size schema (on disk) | ${fmt(median(mig))} |`);
out(`| migrate the full-size schema (memory://) | ${fmt(median(memMig))} |`);
out(`\nRSS of the benchmark process after the PGlite runs: ${(pgliteRss / 2 ** 20).toFixed(0)} MiB.`);

fs.rmSync(work, { recursive: true, force: true });
writeSection('migrate', results.join('\n'));
console.log('\nupdated bench/RESULTS.md');
