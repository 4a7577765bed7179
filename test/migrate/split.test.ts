import { describe, expect, it } from 'vitest';
import { renderForCapabilities, renderForPsql } from '../../src/migrate/directives.js';
import { splitStatements } from '../../src/migrate/split.js';

describe('splitStatements', () => {
  it('splits like psql: quotes, dollar quotes, comments and escapes keep their semicolons', () => {
    const sql = [
      "SELECT 'a;b', \"we;ird\";",
      '-- comment; here',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ SELECT 1; $f$;',
      "/* outer; /* inner; */ still; */ SELECT E'it\\'s;';",
      'SELECT $$x;y$$',
    ].join('\n');
    const st = splitStatements(sql);
    expect(st.map((s) => s.line)).toEqual([1, 3, 4, 5]);
    expect(st[1]!.sql).toContain('$f$ SELECT 1; $f$');
    expect(st[2]!.sql).toContain("E'it\\'s;'");
    expect(st[3]!.sql).toBe('SELECT $$x;y$$');
  });

  it('ignores empty statements and trailing comments', () => {
    expect(splitStatements(';;\n-- only a comment\n')).toEqual([]);
    expect(splitStatements('SELECT 1; -- done')).toHaveLength(1);
  });

  it('does not mistake a parameter or identifier for a dollar quote', () => {
    const st = splitStatements('SELECT $1; SELECT a$b$c FROM t; SELECT 2');
    expect(st).toHaveLength(3);
  });
});

describe('capability sections', () => {
  const sql = ['A;', '-- @if vector', 'B;', '-- @if !pglite', 'C;', '-- @end', '-- @else', 'D;', '-- @end', 'E;'].join('\n');

  it('keeps the matching branch and the line numbers', () => {
    const on = renderForCapabilities(sql, 'x.sql', { vector: true, pglite: false, pg_trgm: false, pgcrypto: false, legacy: false });
    expect(on.split('\n')).toEqual(['A;', '', 'B;', '', 'C;', '', '', '', '', 'E;']);
    const off = renderForCapabilities(sql, 'x.sql', { vector: false, pglite: false, pg_trgm: false, pgcrypto: false, legacy: false });
    expect(off.split('\n')).toEqual(['A;', '', '', '', '', '', '', 'D;', '', 'E;']);
    const nested = renderForCapabilities(sql, 'x.sql', { vector: true, pglite: true, pg_trgm: false, pgcrypto: false, legacy: false });
    expect(nested.split('\n')[4]).toBe('');
  });

  it('becomes psql conditionals in the bundle', () => {
    expect(renderForPsql(sql, 'x.sql').split('\n')).toEqual(['A;', '\\if :rv_cap_vector', 'B;', '\\if :rv_nocap_pglite', 'C;', '\\endif', '\\else', 'D;', '\\endif', 'E;']);
  });
});
