import fs from 'node:fs';
import path from 'node:path';
import { componentLibrarySql, LIBRARY_SQL_FILE, libraryStatementSql, loadComponentLibrary } from '../blocks/library.js';
import { libraryDir } from '../blocks/paths.js';
import { PgliteDb } from '../db/pglite.js';
import { renderBundle } from '../migrate/bundle.js';
import type { MigrationFile } from '../migrate/files.js';
import { migrate } from '../migrate/runner.js';
import { schemaDocs } from './docs.js';
import { schemaSnapshot } from './snapshot.js';

/** The generated files checked into the repository, relative to its root. */
export const ARTIFACTS = {
  bundle: 'database/init-unified-schema.sql',
  library: LIBRARY_SQL_FILE,
  snapshot: 'database/schema-snapshot.txt',
  docs: 'docs/schema.md',
} as const;

export type ArtifactName = keyof typeof ARTIFACTS;

/** The component library a repository root holds (`<root>/blocks`), else the one of this package. */
export function libraryDirFor(root?: string): string {
  const dir = root ? path.join(root, 'blocks') : '';
  return dir && fs.existsSync(path.join(dir, 'components.json')) ? dir : libraryDir();
}

/**
 * Builds the generated files from a fresh embedded database (PGlite + pgvector) migrated with
 * `files`: the psql bundle (ending with the component library of `blocksDir`), the library's SQL,
 * the normalised snapshot and the schema reference.
 */
export async function generateArtifacts(files: MigrationFile[], opts: { blocksDir?: string } = {}): Promise<Record<ArtifactName, string>> {
  const lib = loadComponentLibrary(opts.blocksDir ?? libraryDir());
  const db = await PgliteDb.open();
  try {
    await migrate(db, { files, library: lib });
    return {
      bundle: renderBundle(files, { generator: '`robbieverse db sql`', library: libraryStatementSql(lib) }),
      library: componentLibrarySql(lib),
      snapshot: await schemaSnapshot(db),
      docs: await schemaDocs(db, files),
    };
  } finally {
    await db.close();
  }
}

/** Which artifacts differ from the files under `root` (missing counts as different). */
export function staleArtifacts(root: string, generated: Record<ArtifactName, string>): ArtifactName[] {
  return (Object.keys(ARTIFACTS) as ArtifactName[]).filter((k) => {
    const file = path.join(root, ARTIFACTS[k]);
    return !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== generated[k];
  });
}

export function writeArtifacts(root: string, generated: Record<ArtifactName, string>): string[] {
  return (Object.keys(ARTIFACTS) as ArtifactName[]).map((k) => {
    const file = path.join(root, ARTIFACTS[k]);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, generated[k]);
    return ARTIFACTS[k];
  });
}
