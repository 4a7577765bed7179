/** Names the builder shares between validation, hashing and generation. */

export const LAYOUT_TEMPLATES = ['single-column', 'sidebar-left', 'sidebar-vertical', 'dashboard'] as const;
export const ZONES = ['header', 'sidebar', 'main', 'footer', 'overlay'] as const;
export type Zone = (typeof ZONES)[number];

/** Packages generated code may import (§3.8); all are pre-installed and pinned. */
export const ALLOWED_DEPENDENCIES = ['react', 'react-dom', 'react-router-dom'] as const;
/**
 * Modules every app imports from one shared vendor build (vendor.ts) instead of bundling its own
 * copy; other allowed subpaths (react-dom/server, …) are bundled and use these.
 */
export const VENDOR_MODULES = ['react', 'react/jsx-runtime', 'react-dom', 'react-dom/client', 'react-router-dom'] as const;
/** The small client runtime every app gets (auth token, API calls, login panel). */
export const RUNTIME_MODULE = '@robbieblocks/runtime';

export function allowedImport(spec: string): boolean {
  if (spec === RUNTIME_MODULE) return true;
  return ALLOWED_DEPENDENCIES.some((d) => spec === d || spec.startsWith(d + '/'));
}

/** `/play/` and `/play` are the same route; the root stays `/`. */
export function normalizeRoute(route: string): string {
  const r = route.trim().replace(/\/+$/, '');
  return r === '' ? '/' : r;
}

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** `robbie-bar` → `RobbieBar`; undefined when the key is not kebab-case. */
export function componentIdentifier(key: string): string | undefined {
  if (!KEBAB.test(key)) return undefined;
  return key
    .split('-')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

/** Sorted keys at every level, so equal inputs serialise equally on every run. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  const o = v as Record<string, unknown>;
  return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k])).join(',') + '}';
}
