import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/types.js';
import { libraryDir } from './paths.js';

export interface LibraryEntry {
  key: string;
  name: string;
  type: string;
  version: string;
  dependencies: string[];
  description: string;
}

export interface LibraryComponent extends LibraryEntry {
  react_code: string;
  css_styles: string;
  props_schema: object;
}

/** The bundled component library (blocks/components/<key>/{component.tsx, styles.css, props.schema.json}). */
export function loadComponentLibrary(dir = libraryDir()): LibraryComponent[] {
  const entries = JSON.parse(fs.readFileSync(path.join(dir, 'components.json'), 'utf8')) as LibraryEntry[];
  return entries.map((e) => {
    const d = path.join(dir, 'components', e.key);
    return {
      ...e,
      react_code: fs.readFileSync(path.join(d, 'component.tsx'), 'utf8'),
      css_styles: fs.readFileSync(path.join(d, 'styles.css'), 'utf8'),
      props_schema: JSON.parse(fs.readFileSync(path.join(d, 'props.schema.json'), 'utf8')) as object,
    };
  });
}

export interface RegisterResult {
  inserted: string[];
  updated: string[];
  unchanged: string[];
}

/**
 * Writes the bundled components into robbieblocks_components, published. Idempotent: a row that
 * already has this source is not touched (no change row, no rebuild); a changed one is updated,
 * which rebuilds the apps that use it.
 */
export async function registerComponentLibrary(db: Db, opts: { publish?: boolean } = {}): Promise<RegisterResult> {
  const publish = opts.publish ?? true;
  const out: RegisterResult = { inserted: [], updated: [], unchanged: [] };
  const lib = loadComponentLibrary();
  await db.transaction(async (tx) => {
    for (const c of lib) {
      const r = await tx.query<{ inserted: boolean }>(
        `INSERT INTO robbieblocks_components
           (component_key, component_name, component_type, react_code, props_schema, css_styles, dependencies, version, is_published, metadata)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::text[], $8, $9, $10::jsonb)
         ON CONFLICT (component_key) DO UPDATE
           SET component_name = EXCLUDED.component_name, component_type = EXCLUDED.component_type,
               react_code = EXCLUDED.react_code, props_schema = EXCLUDED.props_schema, css_styles = EXCLUDED.css_styles,
               dependencies = EXCLUDED.dependencies, version = EXCLUDED.version, is_published = EXCLUDED.is_published,
               metadata = robbieblocks_components.metadata || EXCLUDED.metadata, updated_at = now()
         WHERE (robbieblocks_components.component_name, robbieblocks_components.component_type, robbieblocks_components.react_code,
                robbieblocks_components.props_schema, robbieblocks_components.css_styles, robbieblocks_components.dependencies,
                robbieblocks_components.version, robbieblocks_components.is_published)
               IS DISTINCT FROM
               (EXCLUDED.component_name, EXCLUDED.component_type, EXCLUDED.react_code, EXCLUDED.props_schema, EXCLUDED.css_styles,
                EXCLUDED.dependencies, EXCLUDED.version, EXCLUDED.is_published)
         RETURNING (xmax = 0) AS inserted`,
        [c.key, c.name, c.type, c.react_code, JSON.stringify(c.props_schema), c.css_styles, c.dependencies, c.version, publish, JSON.stringify({ library: 'robbieblocks', description: c.description })],
      );
      const row = r.rows[0];
      if (!row) out.unchanged.push(c.key);
      else if (row.inserted) out.inserted.push(c.key);
      else out.updated.push(c.key);
    }
  });
  return out;
}
