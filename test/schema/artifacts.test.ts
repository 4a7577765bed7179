import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { ARTIFACTS, generateArtifacts, staleArtifacts } from '../../src/schema/artifacts.js';
import { runCli } from '../helpers/cli.js';
import { onPostgres, tmpDir } from '../helpers/db.js';

const root = path.join(import.meta.dirname, '..', '..');

// Generated from a fresh embedded database; the PostgreSQL pass runs the same check once is enough.
describe.skipIf(onPostgres)('generated schema files are checked in and current', () => {
  it('database/init-unified-schema.sql, component-library.sql, schema-snapshot.txt and docs/schema.md match the schema', async () => {
    const generated = await generateArtifacts(embeddedMigrations());
    const stale = staleArtifacts(root, generated).map((k) => ARTIFACTS[k]);
    expect(stale, 'the schema changed: run `npm run build && npx robbieverse schema generate` and commit the result').toEqual([]);
    // The snapshot is a real description: it names every table and the policies.
    expect(generated.snapshot).toMatch(/^table contacts \[rls\]/m);
    expect(generated.snapshot).toMatch(/policy tenant_isolation permissive all to public using \(\(org_id = \( SELECT app_current_org_id\(\)/);
    expect(generated.docs).toMatch(/^### ai_personalities$/m);
  });

  it('`schema generate --check` fails when blocks/ and database/component-library.sql disagree', async () => {
    const copy = tmpDir('rv-artifacts-root-');
    try {
      for (const f of [...Object.values(ARTIFACTS), 'blocks/components.json']) {
        fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
        fs.copyFileSync(path.join(root, f), path.join(copy, f));
      }
      fs.cpSync(path.join(root, 'blocks', 'components'), path.join(copy, 'blocks', 'components'), { recursive: true });
      const same = await runCli(['schema', 'generate', '--check', '--root', copy]);
      expect(same.code, same.stderr).toBe(0);

      const probe = '.mood-indicator--probe { order: 2; }';
      fs.appendFileSync(path.join(copy, 'blocks', 'components', 'mood-indicator', 'styles.css'), `\n${probe}\n`);
      const changed = await runCli(['schema', 'generate', '--check', '--root', copy]);
      expect(changed.code).toBe(3);
      expect(changed.stderr).toMatch(/out of date: database\/init-unified-schema\.sql, database\/component-library\.sql\n/);

      const write = await runCli(['schema', 'generate', '--root', copy]);
      expect(write.code, write.stderr).toBe(0);
      expect(fs.readFileSync(path.join(copy, 'database', 'component-library.sql'), 'utf8')).toContain(probe);
      expect((await runCli(['schema', 'generate', '--check', '--root', copy])).code).toBe(0);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
