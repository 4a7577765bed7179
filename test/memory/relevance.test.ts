/**
 * Search quality on a labelled fixture (200 documents over notes, messages and knowledge; 40
 * queries with judged relevant documents): nDCG@10 and recall@10 of text-only, vector-only and
 * hybrid search, reported; hybrid is not worse than the better of the two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName, openTestDb } from '../helpers/db.js';
import { loadDocs, loadFixture, ndcgAt, recallAt, score, type Scores } from '../helpers/relevance.js';

describe(`search quality on the labelled fixture (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  const results: Record<string, Scores> = {};
  beforeAll(async () => {
    t = await openTestDb();
    await migrate(t.db, { files: embeddedMigrations() });
    const org = (await createOrganization(t.db, { name: 'Fixture Co' })).id;
    const user = (await createUser(t.db, { email: 'judge@fixture.example', password: 'correct horse battery staple', orgId: org, role: 'owner' })).id;
    const f = loadFixture();
    expect(f.docs.length).toBeGreaterThanOrEqual(200);
    expect(f.queries.length).toBeGreaterThanOrEqual(40);
    const byDb = await loadDocs(t.db, org, f);
    for (const mode of ['text', 'vector', 'hybrid'] as const) results[mode] = await score(t.db, org, user, f, byDb, mode);
    process.stdout.write(`\nsearch quality (${engineName}, 40 queries, 200 documents):\n` +
      Object.entries(results).map(([m, s]) => `  ${m.padEnd(7)} nDCG@10 ${s.ndcg10.toFixed(3)}  recall@10 ${s.recall10.toFixed(3)}`).join('\n') + '\n');
  });
  afterAll(() => t?.close());

  it('the measures themselves: a perfect ranking scores 1, a miss 0', () => {
    expect(ndcgAt(['a', 'b', 'x'], new Set(['a', 'b']))).toBe(1);
    expect(ndcgAt(['x', 'y'], new Set(['a']))).toBe(0);
    expect(ndcgAt(['x', 'a'], new Set(['a']))).toBeCloseTo(1 / Math.log2(3), 10);
    expect(recallAt(['a', 'x'], new Set(['a', 'b']))).toBe(0.5);
  });

  it('each side finds something on its own', () => {
    expect(results.text!.ndcg10).toBeGreaterThan(0.2);
    expect(results.vector!.ndcg10).toBeGreaterThan(0.2);
  });

  it('hybrid is not worse than the better of text-only and vector-only', () => {
    expect(results.hybrid!.ndcg10).toBeGreaterThanOrEqual(Math.max(results.text!.ndcg10, results.vector!.ndcg10));
    expect(results.hybrid!.recall10).toBeGreaterThanOrEqual(Math.max(results.text!.recall10, results.vector!.recall10));
  });
});
