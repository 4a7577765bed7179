import type { BrandingRow, TokenRow } from './snapshot.js';

const GENERIC_FAMILIES = new Set([
  'serif', 'sans-serif', 'monospace', 'cursive', 'fantasy', 'system-ui', 'ui-serif', 'ui-sans-serif',
  'ui-monospace', 'ui-rounded', 'math', 'emoji', 'fangsong',
]);

/** `font.heading`, `font.body`, `font.mono` are families; `font.size.*` are sizes. */
export function isFontFamilyToken(t: Pick<TokenRow, 'token_key' | 'token_category'>): boolean {
  return t.token_category === 'font' && !t.token_key.startsWith('font.size.');
}

function splitFamilies(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function quoteFamily(f: string): string {
  if (/^["'].*["']$/.test(f) || GENERIC_FAMILIES.has(f.toLowerCase())) return f;
  return /\s/.test(f) ? `"${f.replace(/["\\]/g, '')}"` : f;
}

/**
 * A family list as CSS: names with spaces quoted, and when the list has no generic family, the
 * base token's generic family appended (`Press Start 2P` → `"Press Start 2P", sans-serif`).
 */
export function fontFamilyValue(value: string, baseValue: string): string {
  const fams = splitFamilies(value).map(quoteFamily);
  if (!fams.some((f) => GENERIC_FAMILIES.has(f.toLowerCase()))) {
    const generic = splitFamilies(baseValue).reverse().find((f) => GENERIC_FAMILIES.has(f.toLowerCase()));
    if (generic) fams.push(generic);
  }
  return fams.join(', ');
}

/** `color.primary` → `--color-primary`, `font.size.2xl` → `--font-size-2xl`. */
export function cssVariableName(tokenKey: string): string {
  return '--' + tokenKey.replace(/\./g, '-');
}

/** A token value must be a plain CSS value: nothing that could end the declaration or the sheet. */
export function badCssValue(v: string): string | undefined {
  if (/[;{}]/.test(v)) return 'contains ";" or a brace';
  if (/<\/?style/i.test(v)) return 'contains a style tag';
  if (/[\n\r]/.test(v)) return 'contains a line break';
  if (v.trim() === '') return 'is empty';
  return undefined;
}

export interface ResolvedTokens {
  theme: 'dark' | 'light';
  /** token_key → CSS value, every base token, sorted by key. */
  values: Record<string, string>;
}

/** Base tokens overlaid with the node's overrides (BLOCKS.md §3.4). */
export function resolveTokens(tokens: TokenRow[], branding: BrandingRow | null): ResolvedTokens {
  const values: Record<string, string> = {};
  const overrides = branding?.style_overrides ?? {};
  for (const t of [...tokens].sort((a, b) => a.token_key.localeCompare(b.token_key))) {
    const o = overrides[t.token_key];
    const v = typeof o === 'string' || typeof o === 'number' ? String(o) : t.default_value;
    values[t.token_key] = isFontFamilyToken(t) ? fontFamilyValue(v, t.default_value) : v;
  }
  return { theme: branding?.theme ?? 'dark', values };
}

/** The global stylesheet's first rule: one custom property per token, and the colour scheme. */
export function tokenCss(r: ResolvedTokens): string {
  const lines = Object.entries(r.values).map(([k, v]) => `  ${cssVariableName(k)}: ${v};`);
  return `:root {\n${lines.join('\n')}\n  color-scheme: ${r.theme};\n}\n:root[data-theme="${r.theme}"] {\n  color-scheme: ${r.theme};\n}\n`;
}
