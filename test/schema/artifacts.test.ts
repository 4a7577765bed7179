import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { ARTIFACTS, generateArtifacts, staleArtifacts } from '../../src/schema/artifacts.js';
import { onPostgres } from '../helpers/db.js';

const root = path.join(import.meta.dirname, '..', '..');

// Generated from a fresh embedded database; the PostgreSQL pass runs the same check once is enough.
describe.skipIf(onPostgres)('generated schema files are checked in and current', () => {
  it('database/init-unified-schema.sql, database/schema-snapshot.txt and docs/schema.md match the schema', async () => {
    const generated = await generateArtifacts(embeddedMigrations());
    const stale = staleArtifacts(root, generated).map((k) => ARTIFACTS[k]);
    expect(stale, 'the schema changed: run `npm run build && npx robbieverse schema generate` and commit the result').toEqual([]);
    // The snapshot is a real description: it names every table and the policies.
    expect(generated.snapshot).toMatch(/^table contacts \[rls\]/m);
    expect(generated.snapshot).toMatch(/policy tenant_isolation permissive all to public using \(\(org_id = \( SELECT app_current_org_id\(\)/);
    expect(generated.docs).toMatch(/^### ai_personalities$/m);
  });
});
