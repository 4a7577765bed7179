/**
 * Migration benchmark: the runner against psql -f of the same SQL, measured in the same run.
 * Two schemas: the unified schema (schema/, 116 tables) and a generated ~90-table, ~4,000-line
 * schema of the same shapes. Engines:
 *  - PostgreSQL 15 (a throwaway cluster started here): psql -f of the SQL the runner runs on that
 *    server (one transaction per file) is the baseline; then psql -f of the `db sql` bundle, the
 *    runner in process, and the whole CLI process.
 *  - PGlite: cold create, warm open, and the runner in process (disk and memory://); the
 *    baseline is psql -f of the same SQL through the embedded database's socket.
 * Median of N runs (--runs, default 5). Rewrites its section of bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import { serveSocket } from '../src/db/socket.js';
import { socketUrl } from '../src/db/open.js';
import { capabilityFlags, detectCapabilities, type Db } from '../src/db/types.js';
import { renderBundle } from '../src/migrate/bundle.js';
import { renderForCapabilities } from '../src/migrate/directives.js';
import { loadMigrationsFromDir, type MigrationFile } from '../src/migrate/files.js';
import { migrate } from '../src/migrate/runner.js';
import { generateSchema } from './generate-schema.js';
import { writeSection } from './results.js';
import { startOwnServer } from '../test/helpers/server.js';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const CLI = path.join(root, 'dist', 'cli', 'index.js');
if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const hasTime = fs.existsSync('/usr/bin/time');

/** Runs a command, returning wall time and peak RSS (KiB, when /usr/bin/time is there). */
function timed(cmd: string, args: string[]): { ms: number; rssKb?: number } {
  const t0 = performance.now();
  const r = hasTime
    ? spawnSync('/usr/bin/time', ['-f', 'RSS_KB=%M', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  const m = /RSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { ms, rssKb: m ? Number(m[1]) : undefined };
}

const psqlArgs = (url: string, file: string) => [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file];

/** The SQL the runner would run on this server, as one psql script, a transaction per file. */
async function plainScript(db: Db, files: MigrationFile[], file: string): Promise<void> {
  const flags = capabilityFlags(await detectCapabilities(db));
  fs.writeFileSync(file, files.map((m) => `BEGIN;\n${renderForCapabilities(m.sql, m.file, flags)}\n;\nCOMMIT;`).join('\n'));
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-bench-'));
const synthDir = path.join(work, 'synthetic');
const synth = generateSchema(synthDir);
const schemas = [
  { label: 'unified schema', dir: path.join(root, 'schema') },
  { label: 'generated schema', dir: synthDir },
].map((s) => {
  const files = loadMigrationsFromDir(s.dir);
  const lines = files.reduce((n, f) => n + f.sql.split('\n').length, 0);
  const bundle = path.join(work, `${s.label.replace(/\W/g, '-')}-bundle.sql`);
  fs.writeFileSync(bundle, renderBundle(files, { generator: 'bench' }));
  return { ...s, files, lines, bundle };
});
console.log(`schemas: ${schemas.map((s) => `${s.label} (${s.files.length} files, ${s.lines} lines)`).join('; ')}; generated: ${synth.lines} lines`);

const results: string[] = [];
const out = (s: string) => {
  console.log(s);
  results.push(s);
};

// ---------- PostgreSQL ----------
const server = startOwnServer();
const serverUrl = server.url;
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
  out(`#### PostgreSQL ${version.split(' ')[0]}: runner vs psql -f, median of ${runs} (target ≤ 1.2×)\n`);
  out('| schema | psql -f (baseline) | psql -f of `db sql` bundle | runner in process | ratio | whole CLI process | ratio | peak RSS psql / CLI |');
  out('|---|---|---|---|---|---|---|---|');
  for (const s of schemas) {
    const probe = await PostgresDb.open(serverUrl);
    const plain = path.join(work, `${s.label.replace(/\W/g, '-')}-server.sql`);
    await plainScript(probe, s.files, plain);
    await probe.close();
    const psqlPlain: number[] = [];
    const psqlBundle: number[] = [];
    const cli: number[] = [];
    const lib: number[] = [];
    const rss: { psql?: number; cli?: number } = {};
    // Interleaved, so drift in the machine's speed hits every contender alike.
    for (let i = 0; i < runs; i++) {
      const a = timed('psql', psqlArgs(await freshDb(), plain));
      psqlPlain.push(a.ms);
      rss.psql = a.rssKb;
      psqlBundle.push(timed('psql', psqlArgs(await freshDb(), s.bundle)).ms);
      const c = timed(process.execPath, [CLI, 'db', 'migrate', '--migrations', s.dir, '--url', await freshDb(), '--json']);
      cli.push(c.ms);
      rss.cli = c.rssKb;
      const db = await PostgresDb.open(await freshDb());
      const t0 = performance.now();
      await migrate(db, { files: s.files });
      lib.push(performance.now() - t0);
      await db.close();
    }
    const base = median(psqlPlain);
    out(
      `| ${s.label} (${s.files.length} files, ${s.lines} lines) | ${fmt(base)} | ${fmt(median(psqlBundle))} | ${fmt(median(lib))} | ${ratio(median(lib), base)} | ${fmt(median(cli))} | ${ratio(median(cli), base)} | ${
        rss.psql && rss.cli ? `${(rss.psql / 1024).toFixed(0)} / ${(rss.cli / 1024).toFixed(0)} MiB` : 'n/a'
      } |`,
    );
  }
  await admin.end();
} finally {
  server.stop();
}

// ---------- PGlite ----------
out(`\n#### PGlite 0.5.14 (PostgreSQL 18 + pgvector), in process, median of ${runs}\n`);
out('| schema | cold create (new data dir) | warm open | runner, on disk | runner, memory:// | psql -f through the socket (baseline) | runner on disk vs baseline |');
out('|---|---|---|---|---|---|---|');
for (const s of schemas) {
  const cold: number[] = [];
  const warm: number[] = [];
  const mig: number[] = [];
  const memMig: number[] = [];
  const viaSocket: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = path.join(work, `pglite-${i}`);
    let t0 = performance.now();
    let db = await PgliteDb.open(dir);
    await db.query('SELECT 1');
    cold.push(performance.now() - t0);
    t0 = performance.now();
    await migrate(db, { files: s.files });
    mig.push(performance.now() - t0);
    await db.close();
    t0 = performance.now();
    db = await PgliteDb.open(dir);
    await db.query('SELECT 1');
    warm.push(performance.now() - t0);
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });

    const mem = await PgliteDb.open();
    t0 = performance.now();
    await migrate(mem, { files: s.files });
    memMig.push(performance.now() - t0);
    await mem.close();

    const disk = await PgliteDb.open(dir);
    const plain = path.join(work, 'pglite-plain.sql');
    await plainScript(disk, s.files, plain);
    const sock = await serveSocket(disk, '127.0.0.1', 0, { password: 'bench', maxConnections: 1, statementTimeoutMs: 0 });
    // psql is a separate process here, so this runs asynchronously to keep the socket served.
    t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      import('node:child_process').then(({ execFile }) =>
        execFile('psql', psqlArgs(socketUrl(sock, 'bench'), plain), (err) => (err ? reject(err) : resolve())),
      );
    });
    viaSocket.push(performance.now() - t0);
    await sock.stop();
    await disk.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  out(
    `| ${s.label} | ${fmt(median(cold))} | ${fmt(median(warm))} | ${fmt(median(mig))} | ${fmt(median(memMig))} | ${fmt(median(viaSocket))} | ${ratio(median(mig), median(viaSocket))} |`,
  );
}
out(`\nRSS of the benchmark process at the end: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB.`);

fs.rmSync(work, { recursive: true, force: true });
writeSection('migrate', `### Migrations\n\n${results.join('\n')}`);
console.log('\nupdated bench/RESULTS.md');
