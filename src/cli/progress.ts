import type { MigrateEvent } from '../migrate/runner.js';
import type { UpgradeEvent, UpgradeReport } from '../migrate/legacy/upgrade.js';
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
      case 'library':
        if (e.skipped) write(color.dim(`component library: not written here (a sync node receives it from the master)\n`));
        else if (e.inserted || e.updated) write(`component library: ${e.inserted} added, ${e.updated} updated, ${e.unchanged} unchanged\n`);
        break;
    }
  };
}

/** Human progress for the in-place legacy upgrade. */
export function upgradeProgress(write: (s: string) => void = (s) => process.stderr.write(s)): (e: UpgradeEvent) => void {
  const migrating = migrationProgress(write);
  let lastBackfill = 0;
  return (e) => {
    switch (e.type) {
      case 'detected':
        write(color.yellow(e.resumed ? 'resuming the interrupted upgrade of this legacy Aurora database\n' : 'legacy Aurora database found: upgrading it in place (additive; legacy code keeps working)\n'));
        break;
      case 'backup':
        write(`  backup: ${e.backup.path} (${e.backup.bytes} bytes, sha256 ${e.backup.sha256.slice(0, 16)}…)\n`);
        break;
      case 'step-start':
        if (e.step !== 'backup') write(`  ${e.step} … ${e.step === 'migrate' || e.step === 'backfill' ? '\n' : ''}`);
        break;
      case 'step-done':
        if (e.skipped) write(color.dim(`  ${e.step}: done before\n`));
        else if (e.step !== 'backup') write(`${e.step === 'migrate' || e.step === 'backfill' ? `  ${e.step} ` : ''}${color.green('done')} ${color.dim(ms(e.ms))}\n`);
        break;
      case 'backfill-progress':
        if (e.done === e.total || Date.now() - lastBackfill > 1000) {
          lastBackfill = Date.now();
          write(`    ${e.table}: ${e.done}/${e.total} rows\n`);
        }
        break;
      case 'ddl-retry':
        write(color.yellow(`    waiting for a lock (attempt ${e.attempt}): ${e.sql}\n`));
        break;
      case 'migrate':
        if (e.event.type === 'migration-start' || e.event.type === 'migration-done') migrating(e.event);
        break;
    }
  };
}

export function upgradeSummary(r: UpgradeReport): string {
  const lines = [
    `${r.ok ? color.green('✓ upgrade verified') : color.red('✗ upgrade verification FAILED')} in ${ms(r.ms)}`,
    '  table              rows before → after   checksum of legacy columns',
    ...r.tables.map((t) => `  ${t.table.padEnd(18)} ${String(t.rowsBefore).padStart(11)} → ${String(t.rowsAfter).padEnd(8)} ${t.match ? color.green('equal') : color.red('DIFFERENT')}`),
    ...r.invariants.filter((i) => !i.ok).map((i) => color.red(`  ✗ ${i.name}${i.detail ? `: ${i.detail}` : ''}`)),
    ...r.warnings.map((w) => color.yellow(`  ! ${w}`)),
  ];
  if (r.backup) lines.push(`  backup: ${r.backup.path}`, `  to undo: robbieverse db restore ${r.backup.path} --yes`);
  if (r.reportPath) lines.push(`  report: ${r.reportPath}`);
  return lines.join('\n') + '\n';
}
