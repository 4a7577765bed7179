import type { Db } from '../db/types.js';

export interface BrandingRow {
  display_name: string;
  theme: 'dark' | 'light';
  style_overrides: Record<string, string>;
  enabled_apps: string[];
  custom_css: string | null;
  custom_scripts: string | null;
  allow_scripts: boolean;
}

export interface PageRow {
  id: string;
  page_key: string;
  page_name: string;
  page_route: string;
  layout_template: string;
  meta_title: string | null;
  meta_description: string | null;
}

export interface BlockRow {
  page_id: string;
  component_id: string;
  block_order: number;
  zone: string;
  props: unknown;
  conditions: unknown;
}

export interface ComponentRow {
  id: string;
  component_key: string;
  component_name: string;
  react_code: string;
  css_styles: string | null;
  props_schema: unknown;
  dependencies: string[];
  version: string;
  is_published: boolean;
}

export interface TokenRow {
  token_key: string;
  token_category: string;
  default_value: string;
}

/** Everything one build of one (node, app) reads, taken in one consistent snapshot. */
export interface Snapshot {
  nodeId: string;
  nodeKey: string;
  app: string;
  branding: BrandingRow | null;
  pages: PageRow[];
  /** Ordered by page, zone, block_order. */
  blocks: BlockRow[];
  components: ComponentRow[];
  tokens: TokenRow[];
}

/** Reads the build inputs in one read-only, repeatable-read transaction (BLOCKS.md §3.2 step 1). */
export async function readSnapshot(db: Db, nodeId: string, app: string): Promise<Snapshot> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const node = await tx.query<{ node_key: string }>('SELECT node_key FROM nodes WHERE id = $1::uuid', [nodeId]);
    const branding = await tx.query<BrandingRow>(
      `SELECT display_name, theme, style_overrides, enabled_apps, custom_css, custom_scripts, allow_scripts
         FROM robbieblocks_node_branding WHERE node_id = $1::uuid`,
      [nodeId],
    );
    const pages = await tx.query<PageRow>(
      `SELECT id, page_key, page_name, page_route, layout_template, meta_title, meta_description
         FROM robbieblocks_pages WHERE app_namespace = $1 AND status = 'published' ORDER BY page_key`,
      [app],
    );
    const blocks = await tx.query<BlockRow>(
      `SELECT b.page_id, b.component_id, b.block_order, b.zone, b.props, b.conditions
         FROM robbieblocks_page_blocks b JOIN robbieblocks_pages p ON p.id = b.page_id
        WHERE p.app_namespace = $1 AND p.status = 'published'
        ORDER BY p.page_key, b.zone, b.block_order`,
      [app],
    );
    const components = await tx.query<ComponentRow>(
      `SELECT id, component_key, component_name, react_code, css_styles, props_schema, dependencies, version, is_published
         FROM robbieblocks_components
        WHERE id IN (SELECT b.component_id FROM robbieblocks_page_blocks b JOIN robbieblocks_pages p ON p.id = b.page_id
                      WHERE p.app_namespace = $1 AND p.status = 'published')
        ORDER BY component_key`,
      [app],
    );
    const tokens = await tx.query<TokenRow>(
      'SELECT token_key, token_category, default_value FROM robbieblocks_style_tokens ORDER BY token_key',
    );
    return {
      nodeId,
      nodeKey: node.rows[0]?.node_key ?? nodeId,
      app,
      branding: branding.rows[0] ?? null,
      pages: pages.rows,
      blocks: blocks.rows,
      components: components.rows,
      tokens: tokens.rows,
    };
  });
}
