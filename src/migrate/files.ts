import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RobbieverseError } from '../errors.js';
import { checkDirectives } from './directives.js';
import { splitStatements } from './split.js';

export interface MigrationFile {
  /** The number in front of the name: 1 for 001-core.sql. */
  version: number;
  /** The file name without `.sql`: `001-core`. */
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export const MIGRATION_NAME = /^(\d{3,})-([a-z0-9][a-z0-9_-]*)\.sql$/;

export function checksumOf(sql: string): string {
  // Line endings normalised, so a checkout with CRLF does not look like an edit.
  return crypto.createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Validates and orders a set of (file name, SQL) pairs. */
export function toMigrations(entries: { file: string; sql: string }[]): MigrationFile[] {
  const out: MigrationFile[] = [];
  const byVersion = new Map<number, string>();
  for (const { file, sql } of entries) {
    const m = MIGRATION_NAME.exec(file);
    if (!m) {
      throw new RobbieverseError('E_MIGRATION_FILES', `migration file name "${file}" does not match NNN-name.sql`, {
        hint: 'name migrations with a zero-padded number and a lower-case name, e.g. 004-add-invoices.sql',
      });
    }
    const version = Number(m[1]);
    const clash = byVersion.get(version);
    if (clash) {
      throw new RobbieverseError('E_MIGRATION_FILES', `two migrations share number ${version}: ${clash} and ${file}`, {
        hint: 'give the newer one the next free number',
      });
    }
    byVersion.set(version, file);
    checkDirectives(sql, file);
    const txControl = splitStatements(sql).find((st) => /^(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE)\b/i.test(st.sql.replace(/^(\s*--[^\n]*\n|\s+)*/, '')));
    if (txControl) {
      throw new RobbieverseError('E_MIGRATION_FILES', `${file}:${txControl.line}: migrations must not contain transaction control (${txControl.sql.split(/\s/)[0]})`, {
        hint: 'the runner wraps each migration in its own transaction; remove the statement',
      });
    }
    out.push({ version, name: file.slice(0, -4), file, sql: sql.replace(/\r\n/g, '\n'), checksum: checksumOf(sql) });
  }
  return out.sort((a, b) => a.version - b.version);
}

export function loadMigrationsFromDir(dir: string): MigrationFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.sql'));
  } catch (err) {
    throw new RobbieverseError('E_MIGRATION_FILES', `cannot read migrations directory ${dir}: ${(err as Error).message}`, {
      hint: 'pass an existing directory with --migrations DIR, or leave it out to use the built-in schema',
    });
  }
  return toMigrations(names.map((file) => ({ file, sql: fs.readFileSync(path.join(dir, file), 'utf8') })));
}
