import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { json, runCli } from '../helpers/cli.js';

/**
 * Row count and md5 of the ordered rows of every table in public and robbieverse_meta: two
 * databases with the same checksum hold the same content.
 */
export const CONTENT_CHECKSUM_SQL = `
SELECT coalesce(string_agg(format('%s.%s %s', table_schema, table_name,
  (xpath('/row/h/text()', query_to_xml(format(
     'SELECT count(*) || '' '' || md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) AS h FROM %I.%I t',
     table_schema, table_name), false, true, '')))[1]::text), E'\\n' ORDER BY table_schema, table_name), '') AS sum
FROM information_schema.tables
WHERE table_schema IN ('public', 'robbieverse_meta') AND table_type = 'BASE TABLE'`;

export async function contentChecksum(args: string[]): Promise<string> {
  const r = await runCli(['db', 'query', CONTENT_CHECKSUM_SQL, '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return json(r).rows[0].sum as string;
}

/** A hash of every file under `dir` (paths and bytes): "untouched" means byte-identical. */
export function treeHash(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(path.relative(dir, p) + '\0');
      if (e.isDirectory()) walk(p);
      else h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

export const modeOf = (p: string) => fs.statSync(p).mode & 0o777;
