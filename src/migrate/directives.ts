import { RobbieverseError } from '../errors.js';
import { CAPABILITY_FLAGS, type CapabilityFlag } from '../db/types.js';

/**
 * Capability sections in migrations. Between statements, a migration may say
 *
 *   -- @if vector
 *   CREATE EXTENSION IF NOT EXISTS vector;
 *   -- @else
 *   CREATE FUNCTION cosine_similarity(real[], real[]) …;
 *   -- @end
 *
 * (`-- @if !NAME` negates; sections nest.) The runner keeps the lines of the branch that
 * matches the detected capabilities and blanks the rest, so line numbers stay those of the
 * file. The psql bundle turns the same lines into psql's \if, decided on the target server.
 */
const DIRECTIVE = /^\s*--\s*@(if|else|end)\b\s*(.*?)\s*$/;

interface Directive {
  kind: 'if' | 'else' | 'end';
  flag?: CapabilityFlag;
  negate?: boolean;
}

function parseLine(line: string, file: string, lineNo: number): Directive | undefined {
  const m = DIRECTIVE.exec(line);
  if (!m) return undefined;
  const kind = m[1] as Directive['kind'];
  const arg = m[2] ?? '';
  if (kind !== 'if') {
    if (arg) throw directiveError(file, lineNo, `"-- @${kind}" takes no argument`);
    return { kind };
  }
  const a = /^(!?)([a-z_]+)$/.exec(arg);
  if (!a || !(CAPABILITY_FLAGS as readonly string[]).includes(a[2]!)) {
    throw directiveError(file, lineNo, `"-- @if ${arg}": expected one of ${CAPABILITY_FLAGS.join(', ')} (optionally with !)`);
  }
  return { kind, flag: a[2] as CapabilityFlag, negate: a[1] === '!' };
}

function directiveError(file: string, line: number, msg: string): RobbieverseError {
  return new RobbieverseError('E_MIGRATION_FILES', `${file}:${line}: ${msg}`, {
    hint: 'capability sections are "-- @if NAME" / "-- @else" / "-- @end" on lines of their own, between statements',
  });
}

/** Walks the directives, calling `emit` for every line with whether it is active. */
function walk(
  sql: string,
  file: string,
  emit: (line: string, d: Directive | undefined, active: boolean) => void,
  flags?: Record<CapabilityFlag, boolean>,
): void {
  const stack: { active: boolean; parentActive: boolean; cond: boolean; seenElse: boolean; line: number }[] = [];
  const lines = sql.split('\n');
  lines.forEach((line, idx) => {
    const d = parseLine(line, file, idx + 1);
    const activeNow = stack.length === 0 || stack[stack.length - 1]!.active;
    if (!d) return emit(line, undefined, activeNow);
    if (d.kind === 'if') {
      const cond = flags ? flags[d.flag!] !== d.negate : true;
      stack.push({ active: activeNow && cond, parentActive: activeNow, cond, seenElse: false, line: idx + 1 });
    } else {
      const top = stack[stack.length - 1];
      if (!top) throw directiveError(file, idx + 1, `"-- @${d.kind}" without "-- @if"`);
      if (d.kind === 'else') {
        if (top.seenElse) throw directiveError(file, idx + 1, 'a second "-- @else" in one section');
        top.seenElse = true;
        top.active = top.parentActive && !top.cond;
      } else stack.pop();
    }
    emit(line, d, false);
  });
  const open = stack[stack.length - 1];
  if (open) throw directiveError(file, open.line, '"-- @if" is never closed with "-- @end"');
}

/** The SQL to run for these capabilities: inactive and directive lines blanked. */
export function renderForCapabilities(sql: string, file: string, flags: Record<CapabilityFlag, boolean>): string {
  const out: string[] = [];
  walk(sql, file, (line, _d, active) => out.push(active ? line : ''), flags);
  return out.join('\n');
}

/** The same SQL for psql: directives become \if on variables the bundle sets from the server. */
export function renderForPsql(sql: string, file: string): string {
  const out: string[] = [];
  walk(sql, file, (line, d) => {
    if (!d) out.push(line);
    else if (d.kind === 'if') out.push(`\\if :${d.negate ? 'rv_nocap_' : 'rv_cap_'}${d.flag}`);
    else out.push(d.kind === 'else' ? '\\else' : '\\endif');
  });
  return out.join('\n');
}

/** Validates directive syntax without rendering. */
export function checkDirectives(sql: string, file: string): void {
  walk(sql, file, () => {});
}
