/**
 * Search is tenant-safe: a member of organization A never finds B's rows, nor another member's
 * private rows, through the API or the CLI — the same rows, the same word in all of them.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinEmbedder } from '../../src/memory/embedders.js';
import { adoptEmbedder } from '../../src/memory/models.js';
import { indexPending } from '../../src/memory/indexer.js';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { json, runCli } from '../helpers/cli.js';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';

describe(`memory search is tenant-safe (${engineName})`, () => {
  let h: ApiHarness;
  const ids: Record<string, string> = {};
  let tokens: Record<'a1' | 'a2' | 'b1', string>;

  beforeAll(async () => {
    h = await startApi();
    const a = await h.org('Alpha');
    const b = await h.org('Beta');
    const a1 = await h.user(a, 'a1@alpha.example', 'owner');
    const a2 = await h.user(a, 'a2@alpha.example', 'member');
    const b1 = await h.user(b, 'b1@beta.example', 'owner');
    tokens = { a1: a1.token, a2: a2.token, b1: b1.token };
    const add = async (key: string, sql: string, params: unknown[]) => {
      ids[key] = (await h.db.query<{ id: string }>(`${sql} RETURNING id::text`, params)).rows[0]!.id;
    };
    await add('alphaTeam', `INSERT INTO sticky_notes (org_id, user_id, content) VALUES ($1, $2, 'zebra crossing plan for the alpha office')`, [a, a1.id]);
    await add('alphaPrivate', `INSERT INTO sticky_notes (org_id, user_id, content, privacy_level) VALUES ($1, $2, 'zebra diary of a2, private', 'private')`, [a, a2.id]);
    await add('alphaKb', `INSERT INTO knowledge_base (org_id, title, content) VALUES ($1, 'Zebra policy', 'how alpha handles zebra requests')`, [a]);
    await add('betaNote', `INSERT INTO sticky_notes (org_id, user_id, content) VALUES ($1, $2, 'zebra secret of beta')`, [b, b1.id]);
    await add('betaCode', `INSERT INTO code_blocks (org_id, user_id, session_id, file_path, language, content) VALUES ($1, $2, 's1', 'zebra.ts', 'typescript', 'export const zebra = 1')`, [b, b1.id]);
    await add('betaPattern', `INSERT INTO learned_patterns (org_id, user_id, pattern_type, pattern_name, example_code, explanation) VALUES ($1, $2, 'error_handling', 'zebra retry', 'retry(zebra)', 'wrap zebra calls in a retry')`, [b, b1.id]);
    await adoptEmbedder(h.db, builtinEmbedder());
    await indexPending(h.db, { embedder: builtinEmbedder() });
  });
  afterAll(() => h?.close());

  const found = async (who: 'a1' | 'a2' | 'b1', path: string) => {
    const r = await h.call('GET', path, { token: tokens[who] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return new Set((r.body.hits as { id: string }[]).map((x) => x.id));
  };

  for (const mode of ['hybrid', 'vector', 'text']) {
    it(`API, ${mode}: each member finds exactly the rows they may read`, async () => {
      const q = `/api/search?q=zebra&in=notes,knowledge,code&mode=${mode}&limit=50`;
      expect(await found('a1', q)).toEqual(new Set([ids.alphaTeam, ids.alphaKb]));
      expect(await found('a2', q)).toEqual(new Set([ids.alphaTeam, ids.alphaKb, ids.alphaPrivate]));
      expect(await found('b1', q)).toEqual(new Set([ids.betaNote, ids.betaCode]));
    });
  }

  it('API: hits say where they come from, with score parts; bad input is a 400 that says what to do; no credential is a 401', async () => {
    const r = await h.call('GET', '/api/search?q=zebra%20policy&in=knowledge', { token: tokens.a1 });
    expect(r.body.hits[0]).toMatchObject({ table: 'knowledge_base', kind: 'knowledge', id: ids.alphaKb, title: 'Zebra policy', text_rank: 1, vector_rank: 1 });
    expect(typeof r.body.hits[0].similarity).toBe('number');
    expect(r.body.model).toBe('builtin-hashed-ngrams-512');
    const bad = await h.call('GET', '/api/search?q=zebra&in=everything', { token: tokens.a1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/"everything" is not something search can look in.*messages, notes, knowledge, code, patterns/);
    expect((await h.call('GET', '/api/search?q=%20', { token: tokens.a1 })).status).toBe(400);
    expect((await h.call('GET', '/api/search?q=zebra')).status).toBe(401);
    // Query text is data, never SQL or tsquery syntax.
    for (const q of [`zebra'); DROP TABLE sticky_notes; --`, 'zebra & | ! :* ( \\', 'ü'.repeat(2000)]) {
      const r = await h.call('GET', `/api/search?q=${encodeURIComponent(q)}`, { token: tokens.a1 });
      expect(r.status, q).toBe(200);
    }
    expect((await h.call('GET', `/api/search?q=${'x'.repeat(2001)}`, { token: tokens.a1 })).status).toBe(400);
    const nul = await h.call('GET', `/api/search?q=${encodeURIComponent('zebra\u0000')}&mode=text`, { token: tokens.a1 });
    expect(nul.status).toBe(400);
    expect(nul.body.error.message).toMatch(/NUL character/);
    expect((await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sticky_notes')).rows[0]!.n).toBe(3);
  });

  it('API: code search covers code of the own organization only', async () => {
    const r = await h.call('GET', '/api/code/search?q=zebra', { token: tokens.b1 });
    expect(r.status).toBe(200);
    expect(r.body.hits.map((x: { id: string }) => x.id)).toEqual([ids.betaCode]);
    expect(r.body.patterns.map((x: { id: string }) => x.id)).toEqual([ids.betaPattern]);
    expect(r.body.patterns[0]).toMatchObject({ table: 'learned_patterns', title: 'zebra retry', vector_rank: 1 });
    const a = await h.call('GET', '/api/code/search?q=zebra', { token: tokens.a1 });
    expect(a.body.hits).toEqual([]);
    expect(a.body.patterns).toEqual([]);
  });
});

describe(`memory search through the CLI (${engineName})`, () => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await createTarget();
    const run = async (args: string[], input?: string) => {
      const r = await runCli([...args, ...target.args], { input });
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    await run(['db', 'migrate']);
    await run(['orgs', 'create', '--name', 'Alpha']);
    await run(['orgs', 'create', '--name', 'Beta']);
    for (const [email, org, role] of [['a1@alpha.example', 'Alpha', 'owner'], ['a2@alpha.example', 'Alpha', 'member'], ['b1@beta.example', 'Beta', 'owner']]) {
      await run(['users', 'create', '--email', email!, '--org', org!, '--role', role!, '--password-stdin'], 'correct horse battery staple');
    }
    const db = await target.open();
    try {
      await db.query(`INSERT INTO sticky_notes (org_id, user_id, content) SELECT o.id, u.id, 'zebra note of ' || o.name
                        FROM organizations o JOIN organization_memberships m ON m.org_id = o.id AND m.role = 'owner' JOIN users u ON u.id = m.user_id
                       WHERE o.name IN ('Alpha', 'Beta')`);
      await db.query(`INSERT INTO sticky_notes (org_id, user_id, content, privacy_level)
                      SELECT m.org_id, u.id, 'zebra private thought of a2', 'private' FROM users u JOIN organization_memberships m ON m.user_id = u.id WHERE u.email = 'a2@alpha.example'`);
    } finally {
      await db.close();
    }
    const idx = await run(['memory', 'index', '--json']);
    expect(json(idx)).toMatchObject({ embedded: 3, failed: 0, pending: 0, model: 'builtin-hashed-ngrams-512' });
  });
  afterAll(() => target?.cleanup());

  const contents = async (args: string[]) => {
    const r = await runCli(['memory', 'search', 'zebra', '--json', ...args, ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    return json<{ hits: { snippet: string }[]; as: string }>(r);
  };

  it('as the owner by default, as a named member with --as; never another organization\'s rows', async () => {
    const a = await contents(['--org', 'Alpha']);
    expect(a.as).toBe('a1@alpha.example');
    expect(a.hits.map((x) => x.snippet)).toEqual(['zebra note of Alpha']);
    const a2 = await contents(['--org', 'Alpha', '--as', 'a2@alpha.example']);
    expect(a2.hits.map((x) => x.snippet).sort()).toEqual(['zebra note of Alpha', 'zebra private thought of a2']);
    const b = await contents(['--org', 'Beta', '--mode', 'vector']);
    expect(b.hits.map((x) => x.snippet)).toEqual(['zebra note of Beta']);
  });

  it('a member of another organization cannot be searched as; usage errors say what to do', async () => {
    const r = await runCli(['memory', 'search', 'zebra', '--org', 'Beta', '--as', 'a1@alpha.example', ...target.args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a1@alpha.example is not an active member of this organization/);
    const noOrg = await runCli(['memory', 'search', 'zebra', ...target.args]);
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toMatch(/say which organization.*--org/s);
    const kinds = await runCli(['memory', 'search', 'zebra', '--org', 'Beta', '--in', 'files', ...target.args]);
    expect(kinds.code).toBe(2);
    expect(kinds.stderr).toMatch(/"files" is not something search can look in/);
  });

  it('an embedder that cannot be reached: a clear error, exit 1, and the index as it was', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const r = await runCli(['memory', 'index', '--provider', 'ollama', '--embed-url', `http://127.0.0.1:${port}`, ...target.args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`ollama embedder: cannot reach http://127.0.0.1:${port}/api/embed: ECONNREFUSED`));
    expect(r.stderr).toMatch(/hint: start it \(ollama serve\)/);
    const s = json(await runCli(['memory', 'status', '--json', ...target.args]));
    expect(s.state).toMatchObject({ active_model: 'builtin-hashed-ngrams-512', building_model: null });
    expect(s.sources.find((x: { table: string }) => x.table === 'sticky_notes').indexed).toEqual({ 'builtin-hashed-ngrams-512': 3 });
  });
});
