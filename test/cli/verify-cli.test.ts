import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { json, runCli } from '../helpers/cli.js';

describe(`robbieverse db verify (${engineName})`, () => {
  let t: TestTarget;
  beforeAll(async () => {
    t = await createTarget();
  });
  afterAll(() => t.cleanup());

  it('fails on an empty database, passes once migrated, and fails again when a rule is broken', async () => {
    const empty = await runCli(['db', 'verify', ...t.args, '--json']);
    expect(empty.code).toBe(3);
    expect(json(empty).checks.find((c: { id: string }) => c.id === 'migrations').status).toBe('fail');

    expect((await runCli(['db', 'migrate', ...t.args])).code).toBe(0);
    const ok = await runCli(['db', 'verify', ...t.args]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/✓ tables in public \(seed README: 85\+\): \d+ tables/);
    expect(ok.stdout).toMatch(/✓ SELECT \* FROM ai_personalities_current_state \(seed README\): 4 rows/);
    expect(ok.stdout).toMatch(engineName === 'pglite' ? /vector mode: pgvector \d/ : /vector mode: exact search/);
    expect(ok.stdout).toMatch(/distribution readiness .*: ready: all \d+ tenant tables/);
    expect(ok.stdout).toMatch(/all checks passed/);

    // Break two rules the way a careless migration would; verify must notice both.
    const broke = await runCli(['db', 'query', 'ALTER TABLE contacts DISABLE ROW LEVEL SECURITY; DROP INDEX tasks_user_id_idx', ...t.args]);
    expect(broke.code, broke.stderr).toBe(0);
    const bad = await runCli(['db', 'verify', ...t.args, '--json']);
    expect(bad.code).toBe(3);
    const report = json(bad);
    expect(report.ok).toBe(false);
    const failed = Object.fromEntries(report.checks.filter((c: { status: string }) => c.status === 'fail').map((c: { id: string; problems: string[] }) => [c.id, c.problems]));
    expect(failed.tenancy).toContain('contacts: row-level security not enabled');
    expect(failed['fk-indexes'].join('\n')).toMatch(/^tasks\.tasks_user_id_fkey \(user_id\)$/m);
  });
});
