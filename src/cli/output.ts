import pc from 'picocolors';
import { RobbieverseError } from '../errors.js';

/** picocolors already honours NO_COLOR, FORCE_COLOR and a non-TTY stdout. */
export const color = pc;

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return '\\x' + Buffer.from(value).toString('hex');
  return value;
}

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, jsonReplacer, 2) + '\n');
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, jsonReplacer);
  return String(v);
}

const ANSI = /\x1b\[[0-9;]*m/g;
/** Width on screen: colour codes take none. */
const visible = (s: string) => s.replace(ANSI, '').length;

/** A psql-like aligned table; cells may be coloured. */
export function renderTable(columns: string[], rows: Record<string, unknown>[]): string {
  if (columns.length === 0) return '';
  const cells = rows.map((r) => columns.map((c) => cell(r[c]).replace(/\n/g, '\\n')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => visible(row[i]!))));
  const line = (vals: string[]) => vals.map((v, i) => ' ' + v + ' '.repeat(widths[i]! - visible(v)) + ' ').join('|').trimEnd();
  const header = columns.map((c, i) => ' ' + color.bold(c) + ' '.repeat(widths[i]! - c.length) + ' ').join('|').trimEnd();
  const out = [header, widths.map((w) => '-'.repeat(w + 2)).join('+')];
  for (const row of cells) out.push(line(row));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}

export function formatError(err: unknown): string {
  if (err instanceof RobbieverseError) {
    return `${color.red('error:')} ${err.message}` + (err.hint ? `\n${color.yellow('hint:')} ${err.hint}` : '');
  }
  const e = err as Error;
  return `${color.red('error:')} ${e?.message ?? String(err)}`;
}

export function errorJson(err: unknown): unknown {
  if (err instanceof RobbieverseError) return { error: { code: err.code, message: err.message, hint: err.hint, details: err.details } };
  return { error: { code: 'E_INTERNAL', message: (err as Error)?.message ?? String(err) } };
}

export function ms(n: number): string {
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(2)} s`;
}
