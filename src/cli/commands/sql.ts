import fs from 'node:fs';
import { Command, Option } from 'commander';
import { libraryStatementSql, loadComponentLibrary } from '../../blocks/library.js';
import { renderBundle } from '../../migrate/bundle.js';
import { action, migrationsFrom } from '../context.js';

export function sqlCommand(): Command {
  return new Command('sql')
    .summary('print the whole schema as one psql script, safe to run twice')
    .description(
      'Prints every migration as one SQL file for psql. Running it gives the same database as `db migrate`,\n' +
        'and running it again changes nothing: each migration is skipped when the history table has it.\n' +
        'The built-in schema ends with the component library (reference data, written only where it differs).',
    )
    .addOption(new Option('--migrations <dir>', 'use the .sql files in DIR instead of the built-in schema'))
    .addOption(new Option('-o, --output <file>', 'write to FILE instead of stdout'))
    .addHelpText(
      'after',
      `
Examples:
  $ robbieverse db sql > init.sql && psql "$DATABASE_URL" -f init.sql
  $ robbieverse db sql -o database/init-unified-schema.sql`,
    )
    .action(
      action(async (o: { migrations?: string; output?: string }) => {
        // The built-in schema ends with its reference data, the component library; a custom one does not.
        const library = o.migrations ? undefined : libraryStatementSql(loadComponentLibrary());
        const text = renderBundle(migrationsFrom(o), { generator: '`robbieverse db sql`', library });
        if (o.output) fs.writeFileSync(o.output, text);
        else process.stdout.write(text);
      }),
    );
}
