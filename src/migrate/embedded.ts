import { embeddedSchema } from '../generated/schema.js';
import { toMigrations, type MigrationFile } from './files.js';

let cached: MigrationFile[] | undefined;

/** The schema/*.sql files as they were when this package was built. */
export function embeddedMigrations(): MigrationFile[] {
  cached ??= toMigrations(embeddedSchema);
  return cached;
}
