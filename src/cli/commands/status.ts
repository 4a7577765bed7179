import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { migrationStatus } from '../../migrate/status.js';
import { action, dbOptions, describeTarget, migrationsFrom, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, printJson } from '../output.js';

export function statusCommand(): Command {
  const cmd = new Command('status')
    .summary('show applied, pending and drifted migrations')
    .description('Compares the migration files with the database\'s history. Changes nothing.')
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse db status
  $ robbieverse db status --json | jq '.pending'

Exit codes: 0 no drift (pending migrations are fine) · 3 drift: edited, missing, out-of-order or newer migrations`,
    );
  dbOptions(cmd, { migrations: true, json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) => {
      const files = migrationsFrom(o);
      return withCommandDatabase(o, { command: 'robbieverse db status' }, async (opened, cfg) => {
        const s = await migrationStatus(opened.db, files);
        if (o.json) printJson(s);
        else {
          const out: string[] = [`database: ${describeTarget(opened)}`];
          for (const a of s.applied) {
            const bad = s.drift.find((d) => d.version === a.version);
            out.push(`  ${bad ? color.red('✗') : color.green('✓')} ${a.name.padEnd(40)} ${color.dim(a.appliedAt)}`);
          }
          for (const p of s.pending) out.push(`  ${color.yellow('•')} ${p.name.padEnd(40)} ${color.yellow('pending')}`);
          if (!s.applied.length && !s.pending.length) out.push('  (no migrations)');
          out.push(
            `${s.applied.length} applied, ${s.pending.length} pending, ${s.drift.length} problem${s.drift.length === 1 ? '' : 's'}` +
              (s.upToDate ? color.green(' — up to date') : ''),
          );
          for (const d of s.drift) out.push(color.red(`  ${d.kind}: ${d.message}`));
          process.stdout.write(out.join('\n') + '\n');
        }
        return s.drift.length ? EXIT.drift : EXIT.ok;
      });
    }),
  );
}
