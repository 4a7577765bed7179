import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, createTarget, onPostgres, tmpDir, type TestTarget } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';
import { SEED_EXAMPLE } from '../blocks/helpers.js';

/** pg_dump --schema-only without the lines that differ between two equal databases. */
function normalisedSchema(url: string): string {
  const r = spawnSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => !/^--/.test(l) && !/^SET /.test(l) && !/^SELECT pg_catalog\.set_config/.test(l) && !/^\\(un)?restrict /.test(l) && l.trim() !== '')
    .join('\n');
}

function psqlFile(url: string, file: string) {
  return spawnSync('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', '-f', file], { encoding: 'utf8' });
}

describe.skipIf(!onPostgres)('`db sql`: one file for psql, safe to run twice', () => {
  const targets: TestTarget[] = [];
  let out: string;
  beforeAll(() => {
    out = tmpDir('rv-bundle-');
  });
  afterAll(async () => {
    for (const t of targets) await t.cleanup();
    fs.rmSync(out, { recursive: true, force: true });
  });

  for (const source of ['built-in schema', 'fixture migrations']) {
    it(`gives the same catalog as db migrate, applied twice without error (${source})`, async () => {
      const extra = source === 'fixture migrations' ? ['--migrations', copyFixture('basic')] : [];
      const file = path.join(out, `bundle-${targets.length}.sql`);
      const gen = await runCli(['db', 'sql', ...extra, '-o', file]);
      expect(gen.code, gen.stderr).toBe(0);

      const viaPsql = await createTarget();
      const viaRunner = await createTarget();
      targets.push(viaPsql, viaRunner);
      const first = psqlFile(viaPsql.url!, file);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stderr).toBe('');
      const schemaAfterFirst = normalisedSchema(viaPsql.url!);
      const second = psqlFile(viaPsql.url!, file);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).not.toMatch(/applying/);
      expect(normalisedSchema(viaPsql.url!)).toBe(schemaAfterFirst);

      const m = await runCli(['db', 'migrate', ...extra, ...viaRunner.args]);
      expect(m.code, m.stderr).toBe(0);
      expect(normalisedSchema(viaRunner.url!)).toBe(schemaAfterFirst);

      // The runner accepts the database the bundle built: same history, same checksums.
      const status = await runCli(['db', 'status', ...extra, ...viaPsql.args, '--json']);
      expect(status.code, status.stdout).toBe(0);
      expect(json(status)).toMatchObject({ pending: [], drift: [], upToDate: true });
    });
  }

  it('the checked-in database/init-unified-schema.sql runs twice with psql -f, as the seed README says', async () => {
    const t = await createTarget();
    targets.push(t);
    const file = path.join(import.meta.dirname, '..', '..', 'database', 'init-unified-schema.sql');
    const components = () =>
      spawnSync('psql', [t.url!, '-XAtc', `SELECT component_key, id = reference_uuid('robbieblocks_components', component_key), updated_at
                                             FROM robbieblocks_components ORDER BY 1`], { encoding: 'utf8' }).stdout;
    let first = '';
    for (const run of [1, 2]) {
      const r = psqlFile(t.url!, file);
      expect(r.status, `run ${run}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      // the component library closes the bundle: registered on the first run, untouched on the second
      if (run === 1) {
        expect(r.stdout).toMatch(/component library: 9 added, 0 updated, 0 unchanged/);
        first = components();
        expect(first.trim().split('\n')).toHaveLength(9);
        expect(first).not.toMatch(/\|f\|/);
      } else {
        expect(r.stdout).not.toMatch(/component library/);
        expect(components()).toBe(first);
      }
    }
    // the seed README's example, verbatim
    const seed = spawnSync('psql', [t.url!, '-X', '-v', 'ON_ERROR_STOP=1'], { input: SEED_EXAMPLE, encoding: 'utf8' });
    expect(seed.status, seed.stderr).toBe(0);
    expect(seed.stdout).toMatch(/INSERT 0 1\s+INSERT 0 1/);
    // … and deploys once a builder runs
    const sites = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-bundle-sites-'));
    try {
      const built = await runCli(['blocks', 'worker', '--once', '--node', 'vengeance-local', '--deploy-root', sites, ...t.args]);
      expect(built.code, built.stderr).toBe(0);
    } finally {
      fs.rmSync(sites, { recursive: true, force: true });
    }
    const play = spawnSync('psql', [t.url!, '-XAtc', `SELECT d.deploy_status FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
                                                       WHERE n.node_key = 'vengeance-local' AND d.app_namespace = 'play' ORDER BY d.created_at DESC LIMIT 1`], { encoding: 'utf8' });
    expect(play.stdout.trim()).toBe('success');
    const count = spawnSync('psql', [t.url!, '-XAtc', `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`], { encoding: 'utf8' });
    expect(Number(count.stdout.trim())).toBeGreaterThanOrEqual(85);
    const verify = await runCli(['db', 'verify', ...t.args, '--json']);
    expect(verify.code, verify.stdout).toBe(0);
  });

  it('refuses to run over a database whose applied migrations differ', async () => {
    const dir = copyFixture('basic');
    const t = await createTarget();
    targets.push(t);
    expect((await runCli(['db', 'migrate', '--migrations', dir, ...t.args])).code).toBe(0);
    fs.appendFileSync(path.join(dir, '001-accounts.sql'), '\n-- edited\n');
    const file = path.join(out, 'edited.sql');
    await runCli(['db', 'sql', '--migrations', dir, '-o', file]);
    const r = psqlFile(t.url!, file);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/applied migrations differ from this bundle: 001-accounts/);
  });
});
