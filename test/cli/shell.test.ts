import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

describe(`robbieverse db shell (${engineName})`, () => {
  let t: TestTarget;
  beforeAll(async () => {
    t = await createTarget();
  });
  afterAll(() => t.cleanup());

  it('runs psql on the database (through a temporary socket for the embedded one)', async () => {
    const r = await runCli(['db', 'shell', ...t.args], { input: "CREATE TABLE shell_made (v text);\nINSERT INTO shell_made VALUES ('from the shell');\nSELECT v FROM shell_made;\n" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(engineName === 'pglite' ? /connected to the embedded database/ : /connected to the PostgreSQL at/);
    expect(r.stdout).toMatch(/from the shell/);
    // What the shell wrote is in the database afterwards.
    const q = await runCli(['db', 'query', 'SELECT v FROM shell_made', ...t.args, '--json']);
    expect(JSON.parse(q.stdout).rows).toEqual([{ v: 'from the shell' }]);
  });

  it('falls back to its own prompt when psql is not installed', async () => {
    const r = await runCli(['db', 'shell', ...t.args], { input: 'SELECT 6 * 7 AS answer;\n\\q\n', env: { PATH: '/nonexistent' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/psql not found/);
    expect(r.stdout).toMatch(/answer\s*\n-+\n 42/);
  });
});
