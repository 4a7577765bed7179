import fs from 'node:fs';
import type { Db } from './types.js';

/** Empties a server database: every object in public and the runner's history. Development only. */
export async function resetServerDatabase(db: Db): Promise<void> {
  await db.exec(`
    DROP SCHEMA IF EXISTS robbieverse_meta CASCADE;
    DROP SCHEMA IF EXISTS public CASCADE;
    CREATE SCHEMA public AUTHORIZATION pg_database_owner;
    GRANT USAGE ON SCHEMA public TO PUBLIC;
    COMMENT ON SCHEMA public IS 'standard public schema';
  `);
}

/** Deletes an embedded data directory (the caller holds the home lock). */
export function removeDataDir(dataDir: string): void {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
