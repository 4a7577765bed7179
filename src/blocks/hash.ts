import crypto from 'node:crypto';
import { canonicalJson, normalizeRoute } from './model.js';
import type { Snapshot } from './snapshot.js';
import { resolveTokens } from './tokens.js';
import { BUILDER_VERSION, toolchainHash } from './version.js';

/**
 * The content hash (BLOCKS.md §3.5): SHA-256 over a canonical serialisation of everything that
 * shapes the output, and nothing else (no timestamps, no page.version).
 */
export function contentHash(s: Snapshot): string {
  const used = new Set(s.blocks.map((b) => b.component_id));
  const input = {
    node_id: s.nodeId,
    app: s.app,
    pages: s.pages.map((p) => ({
      key: p.page_key,
      name: p.page_name,
      route: normalizeRoute(p.page_route),
      layout: p.layout_template,
      meta_title: p.meta_title,
      meta_description: p.meta_description,
      blocks: s.blocks
        .filter((b) => b.page_id === p.id)
        .map((b) => ({
          zone: b.zone,
          order: b.block_order,
          props: b.props,
          conditions: b.conditions,
          component: s.components.find((c) => c.id === b.component_id)?.component_key ?? b.component_id,
        })),
    })),
    components: s.components
      .filter((c) => used.has(c.id))
      .map((c) => ({
        key: c.component_key,
        name: c.component_name,
        code: c.react_code,
        css: c.css_styles,
        props_schema: c.props_schema,
        dependencies: [...(c.dependencies ?? [])].sort(),
        version: c.version,
        published: c.is_published,
      })),
    tokens: resolveTokens(s.tokens, s.branding),
    display_name: s.branding?.display_name ?? null,
    custom_css: s.branding?.custom_css ?? null,
    custom_scripts: s.branding?.allow_scripts ? (s.branding.custom_scripts ?? null) : null,
    builder: BUILDER_VERSION,
    toolchain: toolchainHash(),
  };
  return crypto.createHash('sha256').update(canonicalJson(input)).digest('hex');
}
