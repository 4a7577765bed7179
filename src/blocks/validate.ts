import { Ajv, type ValidateFunction } from 'ajv';
import { componentModule } from './component-source.js';
import { allowedImport, ALLOWED_DEPENDENCIES, componentIdentifier, LAYOUT_TEMPLATES, normalizeRoute, ZONES } from './model.js';
import { propsJsonSchema } from './props-schema.js';
import type { ComponentRow, Snapshot } from './snapshot.js';
import { badCssValue } from './tokens.js';

export interface ValidationIssue {
  message: string;
}

type Vite = typeof import('vite');
let vite: Promise<Vite> | undefined;
const loadVite = () => (vite ??= import('vite'));

/**
 * Finds the component in its source (component-source.ts: the accepted shapes), compiles the
 * module the app will import (TSX) and checks its imports.
 */
async function checkComponentCode(c: ComponentRow): Promise<string[]> {
  const found = await componentModule(c);
  if (!found.ok) return [found.error];
  const { transformWithOxc, parseAst } = await loadVite();
  let js: string;
  try {
    const out = await transformWithOxc(found.module.code, `${c.component_key}.tsx`, {
      lang: 'tsx',
      jsx: { runtime: 'automatic' },
      // keep unused value imports, so every import is checked against the allow-list
      typescript: { onlyRemoveTypeImports: true },
    });
    js = out.code;
  } catch (err) {
    const msg = ((err as Error).message ?? String(err)).split('\n').slice(0, 3).join(' ');
    return [`component "${c.component_key}" does not compile: ${msg}`];
  }
  const problems: string[] = [];
  try {
    const ast = parseAst(js) as unknown as { body: { type: string; source?: { value: string } | null }[] };
    for (const n of ast.body) {
      const spec = n.source?.value;
      if (spec !== undefined && !allowedImport(spec) && spec !== 'react/jsx-runtime') {
        problems.push(`component "${c.component_key}" imports "${spec}", which is not allowed (allowed: ${ALLOWED_DEPENDENCIES.join(', ')}, @robbieblocks/runtime)`);
      }
    }
  } catch (err) {
    problems.push(`component "${c.component_key}" does not parse: ${(err as Error).message}`);
  }
  if (/\bimport\s*\(/.test(js)) problems.push(`component "${c.component_key}" uses a dynamic import(), which is not allowed`);
  return problems;
}

/**
 * Every reason this snapshot must not be deployed (BLOCKS.md §3.2 step 2), in page and block
 * order. Empty = valid. The messages name the page key and block order so an editor can fix it.
 */
export async function validateSnapshot(s: Snapshot): Promise<ValidationIssue[]> {
  const out: string[] = [];
  const byId = new Map(s.components.map((c) => [c.id, c]));
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validators = new Map<string, ValidateFunction | string>();
  const validatorFor = (c: ComponentRow): ValidateFunction | string => {
    let v = validators.get(c.id);
    if (!v) {
      try {
        v = ajv.compile(propsJsonSchema(c.props_schema) as object);
      } catch (err) {
        v = `component "${c.component_key}" has an invalid props_schema: ${(err as Error).message}`;
      }
      validators.set(c.id, v);
    }
    return v;
  };

  const routes = new Map<string, string>();
  for (const p of s.pages) {
    const r = normalizeRoute(p.page_route);
    if (!r.startsWith('/')) out.push(`page "${p.page_key}": route "${p.page_route}" must start with "/"`);
    const other = routes.get(r);
    if (other) out.push(`page "${p.page_key}": route "${p.page_route}" is also the route of page "${other}"`);
    else routes.set(r, p.page_key);
    if (!(LAYOUT_TEMPLATES as readonly string[]).includes(p.layout_template)) {
      out.push(`page "${p.page_key}": unknown layout template "${p.layout_template}" (known: ${LAYOUT_TEMPLATES.join(', ')})`);
    }
    for (const b of s.blocks.filter((x) => x.page_id === p.id)) {
      const where = `page "${p.page_key}" block ${b.block_order}`;
      if (!(ZONES as readonly string[]).includes(b.zone)) out.push(`${where}: unknown zone "${b.zone}" (known: ${ZONES.join(', ')})`);
      const c = byId.get(b.component_id);
      if (!c) {
        out.push(`${where}: unknown component ${b.component_id}`);
        continue;
      }
      if (!c.is_published) {
        out.push(`${where}: component "${c.component_key}" is not published`);
        continue;
      }
      const v = validatorFor(c);
      if (typeof v === 'string') out.push(`${where}: ${v}`);
      else if (!v(b.props ?? {})) {
        const e = v.errors?.[0];
        out.push(`${where} (${c.component_key}): props invalid: ${e ? `${e.instancePath || '(props)'} ${e.message}` : 'rejected by props_schema'}`);
      }
      if (b.conditions && typeof b.conditions === 'object' && Object.keys(b.conditions).length > 0) {
        out.push(`${where}: conditions are not supported yet (must be {}), got ${JSON.stringify(b.conditions).slice(0, 80)}`);
      }
    }
  }

  const names = new Map<string, string>();
  for (const c of s.components.filter((x) => x.is_published)) {
    const id = componentIdentifier(c.component_key);
    if (!id) out.push(`component "${c.component_key}": key must be kebab-case (e.g. robbie-bar)`);
    else if (names.has(id)) out.push(`component "${c.component_key}": identifier ${id} clashes with component "${names.get(id)}"`);
    else names.set(id, c.component_key);
    for (const d of c.dependencies ?? []) {
      if (!(ALLOWED_DEPENDENCIES as readonly string[]).includes(d)) {
        out.push(`component "${c.component_key}": dependency "${d}" is not on the allow-list (${ALLOWED_DEPENDENCIES.join(', ')})`);
      }
    }
    if (c.css_styles && /<\/?style/i.test(c.css_styles)) out.push(`component "${c.component_key}": css_styles contains a style tag`);
    out.push(...(await checkComponentCode(c)));
  }

  for (const t of s.tokens) {
    const bad = badCssValue(t.default_value);
    if (bad) out.push(`style token "${t.token_key}": value ${JSON.stringify(t.default_value)} ${bad}`);
  }
  for (const [k, v] of Object.entries(s.branding?.style_overrides ?? {})) {
    const bad = typeof v === 'string' || typeof v === 'number' ? badCssValue(String(v)) : 'is not a string';
    if (bad) out.push(`branding override "${k}": value ${JSON.stringify(v)} ${bad}`);
  }
  return out.map((message) => ({ message }));
}
