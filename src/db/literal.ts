/** A value a one-round-trip read can inline. */
export type Scalar = string | number | boolean | null;

/**
 * A scalar as an SQL literal. Strings use the E'' form (backslashes and quotes escaped), which
 * reads the same whatever standard_conforming_strings says; NUL cannot be stored in text and is
 * refused. Used only where a statement must travel inside a multi-statement message.
 */
export function sqlLiteral(v: Scalar | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot inline ${v}`);
    return String(v);
  }
  if (typeof v === 'string') {
    if (v.includes('\0')) throw new Error('text cannot contain NUL characters');
    return `E'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  }
  throw new Error(`cannot inline a ${typeof v}`);
}

export function isScalar(v: unknown): v is Scalar {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}
