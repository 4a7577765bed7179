/**
 * The memory index on a real database: rows are queued in their writing transaction, embedded by
 * the indexer, replaced when their text changes and dropped with them; a provider failure stores
 * nothing and leaves the error visible; a model switch keeps search on the old vectors until the
 * new ones are complete and never mixes dimensions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { builtinEmbedder, createEmbedder } from '../../src/memory/embedders.js';
import { BUILTIN_MODEL } from '../../src/memory/hashed.js';
import { indexPending, startMemoryWorker } from '../../src/memory/indexer.js';
import { adoptEmbedder, readState } from '../../src/memory/models.js';
import { embedQuery, searchMemory, type Mode } from '../../src/memory/search.js';
import { memoryStatus } from '../../src/memory/status.js';
import { withTenant } from '../../src/tenancy/with-tenant.js';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { engineName, openTestDb, waitFor } from '../helpers/db.js';
import { startEmbedServer, type EmbedServer } from '../helpers/embed-server.js';

let t: Awaited<ReturnType<typeof openTestDb>>;
let db: Db;
let org: string;
let owner: string;
let server: EmbedServer;

const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: number }>(sql, params)).rows[0]!.n);
const note = async (content: string, title: string | null = null) =>
  (await db.query<{ id: string }>('INSERT INTO sticky_notes (org_id, content, title) VALUES ($1, $2, $3) RETURNING id::text', [org, content, title])).rows[0]!.id;

async function search(query: string, mode: Mode = 'hybrid', extra: { kinds?: ('notes' | 'knowledge' | 'messages' | 'code' | 'patterns')[] } = {}) {
  const state = await readState(db);
  const active = state.active_model === BUILTIN_MODEL ? builtinEmbedder() : createEmbedder({ provider: 'ollama', url: server.url, model: state.active_model! });
  const vector = await embedQuery(state, active, query, mode);
  return withTenant(db, { orgId: org, userId: owner }, (tx) => searchMemory(tx, state, vector, { query, mode, limit: 10, ...extra }));
}

beforeAll(async () => {
  t = await openTestDb();
  db = t.db;
  await migrate(db, { files: embeddedMigrations() });
  org = (await createOrganization(db, { name: 'Memory Co' })).id;
  owner = (await createUser(db, { email: 'owner@memory.example', password: 'correct horse battery staple', orgId: org, role: 'owner' })).id;
  server = await startEmbedServer({ dims: 48 });
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

describe(`memory index (${engineName})`, () => {
  it('queues a row in its writing transaction: a rolled-back insert leaves nothing, a committed one is queued and hinted', async () => {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO sticky_notes (org_id, content) VALUES ($1, $2)', [org, 'never committed']);
      throw new Error('roll back');
    }).catch(() => {});
    expect(await count(`SELECT count(*)::int AS n FROM memory.queue q JOIN sticky_notes s ON s.id = q.source_id WHERE s.content = 'never committed'`)).toBe(0);
    const heard: string[] = [];
    const l = await db.listen(['memory_pending'], { onNotify: (n) => heard.push(n.payload) });
    try {
      const id = await note('Quarterly renewal invoices are overdue; call the finance team', 'Renewal invoices');
      expect(await count('SELECT count(*)::int AS n FROM memory.queue WHERE source_id = $1', [id])).toBe(1);
      await waitFor(() => heard.includes('sticky_notes'), 'NOTIFY memory_pending', 5000);
    } finally {
      await l.close();
    }
  });

  it('embeds what is queued with the built-in model, one vector per chunk of its native length', async () => {
    expect(await adoptEmbedder(db, builtinEmbedder())).toBe('activated');
    const kb = (await db.query<{ id: string }>(
      `INSERT INTO knowledge_base (org_id, title, content) VALUES ($1, 'Handbook', $2) RETURNING id::text`,
      [org, `${'Ordinary onboarding paragraph about desks and laptops. '.repeat(60)} The zeppelin parking rules are at the end.`],
    )).rows[0]!.id;
    const r = await indexPending(db, { embedder: builtinEmbedder() });
    expect(r.failed).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM memory.queue')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM memory.chunks WHERE source_id = $1', [kb])).toBeGreaterThan(1);
    const dims = engineName === 'pglite' ? 'vector_dims(embedding)' : 'array_length(embedding, 1)';
    expect((await db.query<{ d: number }>(`SELECT DISTINCT ${dims} AS d FROM memory.chunks`)).rows).toEqual([{ d: 512 }]);
    const hits = (await search('zeppelin parking', 'hybrid', { kinds: ['knowledge'] })).hits;
    expect(hits[0]).toMatchObject({ table: 'knowledge_base', id: kb, title: 'Handbook', text_rank: 1 });
    expect(hits[0]!.snippet).toContain('zeppelin parking rules');
  });

  it('re-embeds only when the text changes; a change elsewhere is not even queued; a delete drops the vectors', async () => {
    const id = await note('Ship the spring catalogue before the trade fair');
    await indexPending(db, { embedder: builtinEmbedder() });
    const at = async () => (await db.query<{ at: string; sha: string }>('SELECT embedded_at::text AS at, content_sha256 AS sha FROM memory.chunks WHERE source_id = $1', [id])).rows[0]!;
    const first = await at();
    await db.query(`UPDATE sticky_notes SET color = 'blue' WHERE id = $1`, [id]);
    expect(await count('SELECT count(*)::int AS n FROM memory.queue WHERE source_id = $1', [id])).toBe(0);
    await db.query('UPDATE sticky_notes SET content = content WHERE id = $1', [id]);
    const same = await indexPending(db, { embedder: builtinEmbedder() });
    expect(same.done).toBe(1);
    expect(await at()).toEqual(first);
    await db.query(`UPDATE sticky_notes SET content = 'Ship the autumn catalogue after the trade fair' WHERE id = $1`, [id]);
    await indexPending(db, { embedder: builtinEmbedder() });
    expect((await at()).sha).not.toBe(first.sha);
    expect((await search('autumn catalogue', 'text')).hits.map((h) => h.id)).toContain(id);
    await db.query('DELETE FROM sticky_notes WHERE id = $1', [id]);
    expect(await count('SELECT count(*)::int AS n FROM memory.chunks WHERE source_id = $1', [id])).toBe(0);
  });

  it('a provider failure stores nothing, leaves the rows queued with the error, and is retried', async () => {
    const ollama = createEmbedder({ provider: 'ollama', url: server.url, model: 'fake-48', timeoutMs: 20_000 });
    server.fault = 'none';
    expect(await adoptEmbedder(db, ollama)).toBe('build-started');
    const queued = await count('SELECT count(*)::int AS n FROM memory.queue');
    expect(queued).toBeGreaterThan(0);
    server.fault = 'down500';
    const r = await indexPending(db, { embedder: ollama });
    expect(r.done).toBe(0);
    expect(r.errors[0]).toMatch(/ollama embedder: .* answered 500/);
    expect(await count('SELECT count(*)::int AS n FROM memory.chunks WHERE model_key = $1', ['fake-48'])).toBe(0);
    const s = await memoryStatus(db);
    expect(s.sources.reduce((n, x) => n + x.failed, 0)).toBe(queued);
    expect(s.errors[0]).toMatchObject({ attempts: 1 });
    expect(s.errors[0]!.error).toMatch(/answered 500/);
    // The switch has not happened: search still uses the built-in vectors.
    expect((await readState(db)).active_model).toBe(BUILTIN_MODEL);
    expect((await search('renewal invoices', 'vector')).model).toBe(BUILTIN_MODEL);
    // The provider is back; the backoff is over: the retry embeds the rows and completes the switch.
    server.fault = 'none';
    await db.query(`UPDATE memory.queue SET not_before = now()`);
    const again = await indexPending(db, { embedder: ollama });
    expect(again.failed).toBe(0);
    expect(again.switchedTo).toBe('fake-48');
  });

  it('after a switch only the new model\'s vectors remain, and search uses them', async () => {
    const st = await readState(db);
    expect(st).toMatchObject({ active_model: 'fake-48', active_provider: 'ollama', building_model: null });
    expect((await db.query<{ m: string }>('SELECT DISTINCT model_key AS m FROM memory.chunks')).rows).toEqual([{ m: 'fake-48' }]);
    const r = await search('renewal invoices', 'vector');
    expect(r.model).toBe('fake-48');
    expect(r.hits[0]).toMatchObject({ table: 'sticky_notes', title: 'Renewal invoices' });
    // Back to the built-in model: another build; meanwhile new rows get vectors of both models.
    expect(await adoptEmbedder(db, builtinEmbedder())).toBe('build-started');
    const id = await note('Both models index me during the switch');
    // The indexer of the configured (built-in) model reaches the active model through memory.state.
    const done = await indexPending(db, { embedder: builtinEmbedder() });
    expect(done.switchedTo).toBe(BUILTIN_MODEL);
    expect(await count('SELECT count(*)::int AS n FROM memory.chunks WHERE source_id = $1', [id])).toBe(1);
  });

  it('the worker indexes new rows as they are written (NOTIFY), without polling', async () => {
    const worker = await startMemoryWorker(db, { embedder: builtinEmbedder(), pollMs: 600_000 });
    try {
      await worker.idle();
      const id = await note('Written while the worker listens');
      await waitFor(async () => (await count('SELECT count(*)::int AS n FROM memory.chunks WHERE source_id = $1', [id])) === 1, 'the worker to embed the note', 15_000);
    } finally {
      await worker.stop();
    }
  });
});
