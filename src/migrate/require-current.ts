import type { Db } from '../db/types.js';
import { RobbieverseError } from '../errors.js';
import type { MigrationFile } from './files.js';
import { migrationStatus } from './status.js';

/**
 * Refuses a database whose schema is not exactly this version's: nothing applied yet, pending
 * migrations, or drift. Commands that use the tables (the API, account administration) call it
 * first so the user gets a next step instead of "relation does not exist".
 */
export async function requireCurrentSchema(db: Db, files: MigrationFile[]): Promise<void> {
  const s = await migrationStatus(db, files);
  if (s.drift.length) {
    throw new RobbieverseError('E_MIGRATION_DRIFT', `the database's migration history does not match this version: ${s.drift[0]!.message}`, {
      hint: 'see robbieverse db status',
      details: { drift: s.drift },
    });
  }
  if (s.pending.length) {
    const none = s.applied.length === 0;
    throw new RobbieverseError(
      'E_MIGRATION_DRIFT',
      none
        ? 'the database has no Robbieverse schema yet'
        : `the schema is not current: ${s.pending.length} migration${s.pending.length === 1 ? ' is' : 's are'} pending (${s.pending.map((p) => p.name).slice(0, 3).join(', ')}${s.pending.length > 3 ? ', …' : ''})`,
      { hint: 'run robbieverse db migrate (or robbieverse up), then try again', details: { pending: s.pending } },
    );
  }
}
