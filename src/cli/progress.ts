import type { MigrateEvent } from '../migrate/runner.js';
import { color, ms } from './output.js';

/** Human progress for a migration run, on stderr so stdout stays data. */
export function migrationProgress(write: (s: string) => void = (s) => process.stderr.write(s)): (e: MigrateEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'capabilities': {
        const c = e.capabilities;
        write(color.dim(`server: ${c.engine === 'pglite' ? 'PGlite' : 'PostgreSQL'} ${c.serverVersion}; pgvector ${c.extensions.vector ? 'available' : 'not available (embeddings use real[])'}\n`));
        break;
      }
      case 'lock-wait':
        write(color.yellow(`waiting for another migration to finish${e.holderPid ? ` (server pid ${e.holderPid})` : ''}…\n`));
        break;
      case 'lock-acquired':
        write(color.dim(`got the migration lock after ${ms(e.waitedMs)}\n`));
        break;
      case 'plan':
        write(e.pending === 0 ? `up to date: ${e.applied} migration${e.applied === 1 ? '' : 's'} applied, nothing pending\n` : `${e.pending} pending migration${e.pending === 1 ? '' : 's'} (${e.applied} already applied)\n`);
        break;
      case 'migration-start':
        write(`  [${e.index}/${e.total}] ${e.name} … `);
        break;
      case 'migration-done':
        write(`${color.green('done')} ${color.dim(ms(e.ms))}\n`);
        break;
    }
  };
}
