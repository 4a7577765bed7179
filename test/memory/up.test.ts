/**
 * `up` runs the memory indexer: a note written by another client (through the embedded
 * engine's socket, or straight to the server) is embedded within seconds and found by search.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createTarget, engineName, waitFor, type TestTarget } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

describe(`up indexes memory in the background (${engineName})`, () => {
  let target: TestTarget;
  let up: Spawned | undefined;
  afterAll(async () => {
    up?.child.kill('SIGTERM');
    await up?.done;
    await target?.cleanup();
  });

  it('a note written meanwhile is embedded and found', async () => {
    target = await createTarget();
    up = spawnCli(['up', ...target.args, '--port', '0', '--api-port', '0', '--no-sites']);
    await waitForStderr(up, /press Ctrl-C to stop/);
    expect(up.stderr()).toMatch(/memory:\s+indexing with builtin in the background/);
    const q = await runCli(['db', 'query', `INSERT INTO sticky_notes (org_id, content) SELECT id, 'The walrus budget is approved' FROM organizations WHERE name = 'Default Organization'`, ...target.args]);
    expect(q.code, q.stderr).toBe(0);
    await waitFor(async () => {
      const s = json(await runCli(['memory', 'status', '--json', ...target.args]));
      const notes = s.sources.find((x: { table: string }) => x.table === 'sticky_notes');
      return notes.indexed['builtin-hashed-ngrams-512'] === 1 && notes.pending === 0;
    }, 'the note to be indexed by up', 30_000);
    const r = await runCli(['memory', 'search', 'walrus budgets', '--org', 'Default Organization', '--mode', 'vector', '--json', ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).hits[0].snippet).toBe('The walrus budget is approved');
  });
});
