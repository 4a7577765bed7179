import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';

describe(`robbieverse db … (${engineName})`, () => {
  let t: TestTarget;
  let dir: string;
  beforeAll(async () => {
    t = await createTarget();
    dir = copyFixture('basic');
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('migrates with progress, reports status, and a second run does nothing', async () => {
    const m = await runCli(['db', 'migrate', '--migrations', dir, ...t.args]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).toMatch(/3 pending migrations \(0 already applied\)/);
    expect(m.stderr).toMatch(/\[1\/3\] 001-accounts … done/);
    expect(m.stderr).toMatch(/\[3\/3\] 003-seed … done/);
    expect(m.stderr).toMatch(/applied 3 migrations/);

    const again = await runCli(['db', 'migrate', '--migrations', dir, ...t.args, '--json']);
    expect(again.code).toBe(0);
    expect(json(again)).toMatchObject({ applied: [], alreadyApplied: 3 });

    const s = await runCli(['db', 'status', '--migrations', dir, ...t.args, '--json']);
    expect(s.code).toBe(0);
    const status = json(s);
    expect(status.applied.map((a: { name: string }) => a.name)).toEqual(['001-accounts', '002-notes', '003-seed']);
    expect(status).toMatchObject({ pending: [], drift: [], upToDate: true });

    const human = await runCli(['db', 'status', '--migrations', dir, ...t.args]);
    expect(human.stdout).toMatch(/3 applied, 0 pending, 0 problems — up to date/);
  });

  it('prints query results as a table or JSON', async () => {
    const q = await runCli(['db', 'query', 'SELECT name FROM accounts ORDER BY name', ...t.args]);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^ name\s*\n-+\n alpha; the first\s*\n beta\s*\n\(2 rows\)/);
    const j = await runCli(['db', 'query', 'SELECT count(*)::int AS n FROM accounts', ...t.args, '--json']);
    expect(json(j)).toEqual({ rows: [{ n: 2 }], rowCount: 1 });
    const bad = await runCli(['db', 'query', 'SELECT nope FROM accounts', ...t.args]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: column "nope" does not exist/);
  });

  it('refuses drift with exit code 3 and says what to do', async () => {
    const edited = copyFixture('basic');
    fs.appendFileSync(path.join(edited, '002-notes.sql'), '\n-- an innocent-looking edit\n');
    const r = await runCli(['db', 'migrate', '--migrations', edited, ...t.args]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refusing to migrate/);
    expect(r.stderr).toMatch(/002-notes\.sql was changed after it was applied/);
    expect(r.stderr).toMatch(/hint: restore the applied file/);
    const s = await runCli(['db', 'status', '--migrations', edited, ...t.args, '--json']);
    expect(s.code).toBe(3);
    expect(json(s).drift[0]).toMatchObject({ kind: 'edited', name: '002-notes' });
    fs.rmSync(edited, { recursive: true, force: true });
  });

  it('resets only with --yes', async () => {
    const no = await runCli(['db', 'reset', '--migrations', dir, ...t.args]);
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/run again with --yes/);
    const still = await runCli(['db', 'query', 'SELECT count(*)::int AS n FROM accounts', ...t.args, '--json']);
    expect(json(still).rows[0].n).toBe(2);

    await runCli(['db', 'query', "INSERT INTO accounts (name) VALUES ('gamma')", ...t.args]);
    const yes = await runCli(['db', 'reset', '--yes', '--migrations', dir, ...t.args]);
    expect(yes.code, yes.stderr).toBe(0);
    const after = await runCli(['db', 'query', 'SELECT count(*)::int AS n FROM accounts', ...t.args, '--json']);
    expect(json(after).rows[0].n).toBe(2); // re-seeded, gamma gone
  });
});

describe('robbieverse --help and usage errors', () => {
  it('teaches every command by example', async () => {
    for (const args of [[], ['up'], ['db'], ['db', 'migrate'], ['db', 'status'], ['db', 'sql'], ['db', 'query'], ['db', 'shell'], ['db', 'reset']]) {
      const r = await runCli([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: robbieverse/);
      if (args[0] !== 'db' || args.length > 1) expect(r.stdout, args.join(' ')).toMatch(/Examples?:/);
    }
  });

  it('rejects unknown commands, bad URLs and bad config with exit code 2', async () => {
    const r = await runCli(['db', 'migrat']);
    expect(r.code).toBe(2);
    const u = await runCli(['db', 'status', '--url', 'mysql://x']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/unsupported database URL "mysql:\/\/x"/);
    const dir = fs.mkdtempSync('/tmp/rv-cfg-');
    fs.writeFileSync(path.join(dir, 'robbieverse.config.json'), JSON.stringify({ url: 'memory://', colour: 'blue' }));
    const c = await runCli(['db', 'status'], { cwd: dir });
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/Unrecognized key.*colour/i);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports an unreachable server with exit code 5', async () => {
    const r = await runCli(['db', 'status', '--url', 'postgres://nobody@127.0.0.1:9/nothing']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/cannot connect to postgres:\/\/nobody@127\.0\.0\.1:9\/nothing/);
  });
});
