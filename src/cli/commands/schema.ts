import { Command, Option } from 'commander';
import { EXIT } from '../../errors.js';
import { embeddedMigrations } from '../../migrate/embedded.js';
import { loadMigrationsFromDir } from '../../migrate/files.js';
import { ARTIFACTS, generateArtifacts, libraryDirFor, staleArtifacts, writeArtifacts } from '../../schema/artifacts.js';
import { action } from '../context.js';
import { color } from '../output.js';

export function schemaCommand(): Command {
  const generate = new Command('generate')
    .summary('regenerate the files derived from the schema')
    .description(
      `Migrates a fresh in-memory database and writes, from its catalog:\n` +
        `  ${ARTIFACTS.bundle}   the psql bundle (same as \`db sql\`), ending with the component library\n` +
        `  ${ARTIFACTS.library}   the component library (<root>/blocks) as idempotent SQL\n` +
        `  ${ARTIFACTS.snapshot}     the normalised schema snapshot reviewed with every change\n` +
        `  ${ARTIFACTS.docs}                 the schema reference, from the tables' own comments`,
    )
    .addOption(new Option('--check', 'write nothing; exit 3 if any file is out of date (CI)'))
    .addOption(new Option('--root <dir>', 'repository root to write into').default('.'))
    .addOption(new Option('--migrations <dir>', 'use the .sql files in DIR instead of the built-in schema'))
    .addHelpText('after', `\nExamples:\n  $ robbieverse schema generate            # after changing schema/*.sql\n  $ robbieverse schema generate --check    # in CI`)
    .action(
      action(async (o: { check?: boolean; root: string; migrations?: string }) => {
        const files = o.migrations ? loadMigrationsFromDir(o.migrations) : embeddedMigrations();
        process.stderr.write(`migrating a fresh in-memory database with ${files.length} migrations…\n`);
        const generated = await generateArtifacts(files, { blocksDir: libraryDirFor(o.root) });
        const stale = staleArtifacts(o.root, generated);
        if (o.check) {
          if (stale.length) {
            process.stderr.write(
              `${color.red('out of date:')} ${stale.map((s) => ARTIFACTS[s]).join(', ')}\n${color.yellow('hint:')} run \`npm run build && npx robbieverse schema generate\` and commit the result\n`,
            );
            return EXIT.drift;
          }
          process.stderr.write(`${color.green('✓')} generated files are up to date\n`);
          return EXIT.ok;
        }
        const written = writeArtifacts(o.root, generated);
        process.stderr.write(`${color.green('✓')} wrote ${written.join(', ')}${stale.length ? '' : ' (unchanged)'}\n`);
      }),
    );
  return new Command('schema').summary('files generated from the schema (bundle, snapshot, docs)').addCommand(generate);
}
