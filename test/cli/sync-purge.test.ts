import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../helpers/cli.js';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';

/** `robbieverse sync purge` as a command: its usage errors and what it does on a hub (the purge rules are in test/sync/retention.test.ts). */
describe(`sync purge command (${engineName})`, () => {
  let t: TestTarget;
  beforeAll(async () => {
    t = await createTarget();
    const m = await runCli(['db', 'migrate', ...t.args]);
    expect(m.code, m.stderr).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('a bad duration is exit 2 with examples, before the database is opened', async () => {
    const r = await runCli(['sync', 'purge', '--retention', '3 weeks', ...t.args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"3 weeks" is not a duration/);
    expect(r.stderr).toMatch(/hint: .*30d/);
  });

  it('on a database that does not sync: exit 2, says where to run it', async () => {
    const r = await runCli(['sync', 'purge', ...t.args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not sync/);
    expect(r.stderr).toMatch(/hint: run it on the master/);
  });

  it('on a master with no nodes: purges what is older than the retention and reports the horizon', async () => {
    const q = await runCli(['db', 'query', `SELECT sync.become_hub('purge-master'); INSERT INTO tasks (org_id, title) VALUES ('00000000-0000-4000-8000-000000000001', 'logged on the hub')`, ...t.args]);
    expect(q.code, q.stderr).toBe(0);
    const keep = await runCli(['sync', 'purge', '--json', ...t.args]);
    expect(keep.code, keep.stderr).toBe(0);
    expect(json(keep)).toMatchObject({ role: 'hub', log_rows: 0, horizon: null });
    const r = await runCli(['sync', 'purge', '--retention', '0s', ...t.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/purged 1 log row and 0 tombstones older than 0s · horizon \(\d+, \d+\)/);
  });
});
