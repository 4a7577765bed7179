import { Command } from 'commander';
import { action, dbOptions, withCommandDatabase, type DbCommandOptions } from '../context.js';
import { printJson, renderTable } from '../output.js';

export function queryCommand(): Command {
  const cmd = new Command('query')
    .summary('run SQL and print the result')
    .description('Runs SQL (one or more statements; the last result is printed) against the database.')
    .argument('<sql>', 'the SQL to run, quoted as one argument')
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse db query "SELECT version()"
  $ robbieverse db query "SELECT name, applied_at FROM robbieverse_meta.schema_migrations" --json
  $ robbieverse db query --url postgres://app@localhost/robbie "SELECT count(*) FROM pg_tables"

While \`robbieverse up\` runs, this goes through its socket; otherwise it opens the embedded database itself.`,
    );
  dbOptions(cmd, { json: true });
  return cmd.action(
    action(async (sql: string, o: DbCommandOptions) => {
      return withCommandDatabase(o, { command: 'robbieverse db query' }, async (opened, cfg) => {
        const r = await opened.db.exec(sql);
        if (o.json) printJson({ rows: r.rows, rowCount: r.rowCount });
        else if (r.fields.length) process.stdout.write(renderTable(r.fields.map((f) => f.name), r.rows) + '\n');
        else process.stdout.write(`OK${r.rowCount ? ` (${r.rowCount} row${r.rowCount === 1 ? '' : 's'} affected)` : ''}\n`);
      });
    }),
  );
}
