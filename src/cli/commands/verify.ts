import { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { verifyDatabase, type CheckResult } from '../../verify/index.js';
import { action, dbOptions, describeTarget, migrationsFrom, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { color, ms, printJson } from '../output.js';

function line(r: CheckResult): string {
  const mark = r.status === 'pass' ? color.green('✓') : r.status === 'fail' ? color.red('✗') : color.cyan('i');
  const out = [`${mark} ${r.title}: ${r.summary}`];
  for (const p of (r.problems ?? []).slice(0, 20)) out.push(`    ${r.status === 'fail' ? color.red('-') : '-'} ${p}`);
  if ((r.problems?.length ?? 0) > 20) out.push(`    … and ${r.problems!.length - 20} more (--json lists all)`);
  return out.join('\n');
}

export function verifyCommand(): Command {
  const cmd = new Command('verify')
    .summary('check the schema: seed README checks, foreign-key indexes, tenancy, vectors')
    .description(
      "Runs the seed README's verification queries verbatim (85+ tables, the 7 robbieblocks tables,\n" +
        'ai_personalities_current_state, sync_status, robbieblocks_active_deploys), then the schema rules:\n' +
        'every foreign key indexed; every tenant table with org_id NOT NULL, UNIQUE (org_id, id), RLS and a\n' +
        'policy; composite tenant references; no invalid index or unvalidated constraint; comments and\n' +
        'updated_at triggers; the vector mode; and whether every tenant table could be distributed by org_id.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse db verify
  $ robbieverse db verify --url postgres://app@localhost/robbie --json | jq '.checks[] | select(.status=="fail")'

Exit codes: 0 every check passed · 3 a check failed · 5 cannot connect`,
    );
  dbOptions(cmd, { migrations: true, json: true });
  return cmd.action(
    action(async (o: DbCommandOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse db verify' }, async (opened, cfg) => {
        if (!o.json) process.stdout.write(`verifying the ${describeTarget(opened)}\n`);
        const report = await verifyDatabase(opened.db, {
          files: migrationsFrom(o),
          onCheck: o.json ? undefined : (r) => process.stdout.write(line(r) + '\n'),
        });
        if (o.json) printJson(report);
        else {
          const failed = report.checks.filter((c) => c.status === 'fail').length;
          process.stdout.write(
            failed ? color.red(`${failed} check${failed === 1 ? '' : 's'} failed`) + ` (${ms(report.ms)})\n` : color.green(`all checks passed`) + ` (${ms(report.ms)})\n`,
          );
        }
        return report.ok ? EXIT.ok : EXIT.drift;
      });
    }),
  );
}
