import fs from 'node:fs';
import path from 'node:path';
import { componentModule } from './component-source.js';
import { componentIdentifier, normalizeRoute, ZONES } from './model.js';
import { libraryDir } from './paths.js';
import type { Snapshot } from './snapshot.js';
import { resolveTokens, tokenCss } from './tokens.js';
import { toolchainNodeModules } from './version.js';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

export interface GeneratedProject {
  dir: string;
  pages: number;
  components: number;
}

/**
 * Writes a Vite + React + TypeScript project for one snapshot into `dir` (BLOCKS.md §3.2 step 4).
 * User content reaches the source only as JSON files and as the components' own modules (each
 * component's source in the shape it was written, given a default export: component-source.ts):
 * page keys, routes, titles and props are never spliced into generated code.
 */
export async function generateProject(dir: string, s: Snapshot): Promise<GeneratedProject> {
  const lib = libraryDir();
  const src = path.join(dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  // The pinned toolchain, shared read-only: imports of react etc. resolve here, offline.
  fs.symlinkSync(toolchainNodeModules(), path.join(dir, 'node_modules'), 'dir');

  for (const f of fs.readdirSync(path.join(lib, 'toolchain', 'template'))) {
    fs.copyFileSync(path.join(lib, 'toolchain', 'template', f), path.join(src, f));
  }
  fs.mkdirSync(path.join(src, 'runtime'));
  for (const f of fs.readdirSync(path.join(lib, 'runtime'))) {
    fs.copyFileSync(path.join(lib, 'runtime', f), path.join(src, 'runtime', f));
  }

  const name = `${s.branding?.display_name ?? s.nodeKey} · ${s.app}`;
  const theme = resolveTokens(s.tokens, s.branding);
  write(path.join(src, 'global.css'), `/* Design tokens of node ${s.nodeKey} (generated) */\n${tokenCss(theme)}`);
  write(path.join(src, 'custom.css'), s.branding?.custom_css ? `/* custom_css of node ${s.nodeKey} */\n${s.branding.custom_css}\n` : '');
  write(path.join(src, 'site.json'), JSON.stringify({ name, node: s.nodeKey, app: s.app, theme: theme.theme }, null, 2));

  const byId = new Map(s.components.map((c) => [c.id, c]));
  const used = new Set(s.blocks.map((b) => b.component_id));
  const componentDir = path.join(src, 'components');
  fs.mkdirSync(componentDir);
  let components = 0;
  for (const c of s.components) {
    if (!used.has(c.id)) continue;
    const id = componentIdentifier(c.component_key)!;
    const found = await componentModule(c);
    // validateSnapshot refused the snapshot already if a component has no shape it accepts
    if (!found.ok) throw new Error(found.error);
    write(path.join(componentDir, `${id}.tsx`), found.module.code);
    write(path.join(componentDir, `${id}.css`), c.css_styles ?? '');
    write(path.join(componentDir, `${id}.entry.ts`), `import './${id}.css';\nexport { default } from './${id}';\n`);
    components++;
  }

  const routes: { key: string; path: string; title: string }[] = [];
  const pageDir = path.join(src, 'pages');
  fs.mkdirSync(pageDir);
  const lazy: string[] = [];
  s.pages.forEach((p, i) => {
    const blocks = s.blocks.filter((b) => b.page_id === p.id);
    const zones: Record<string, { component: string; order: number; props: unknown }[]> = {};
    for (const z of ZONES) zones[z] = [];
    for (const b of [...blocks].sort((a, b2) => a.block_order - b2.block_order)) {
      zones[b.zone]!.push({ component: byId.get(b.component_id)!.component_key, order: b.block_order, props: b.props ?? {} });
    }
    const title = p.meta_title || p.page_name;
    write(path.join(pageDir, `page-${i}.json`), JSON.stringify({ key: p.page_key, title, description: p.meta_description, layout: p.layout_template, zones }, null, 2));
    const keys = [...new Set(blocks.map((b) => byId.get(b.component_id)!.component_key))].sort();
    const imports = keys.map((k) => `import ${componentIdentifier(k)} from '../components/${componentIdentifier(k)}.entry';`);
    const map = keys.map((k) => `  ${JSON.stringify(k)}: ${componentIdentifier(k)},`);
    write(
      path.join(pageDir, `Page${i}.tsx`),
      [
        `// Page ${i} (generated): its data is in page-${i}.json.`,
        `import { Page, type PageData } from '../Page';`,
        ...imports,
        `import data from './page-${i}.json';`,
        '',
        `const components = {\n${map.join('\n')}\n};`,
        '',
        `export default function Page${i}() {`,
        `  return <Page data={data as PageData} components={components} />;`,
        `}`,
        '',
      ].join('\n'),
    );
    lazy.push(`  lazy(() => import('./Page${i}')),`);
    routes.push({ key: p.page_key, path: normalizeRoute(p.page_route), title });
  });
  write(path.join(pageDir, 'index.ts'), `import { lazy } from 'react';\n\nexport const pages = [\n${lazy.join('\n')}\n];\n`);
  write(path.join(src, 'routes.json'), JSON.stringify(routes, null, 2));

  const scripts = s.branding?.allow_scripts && s.branding.custom_scripts ? '\n    <script src="/custom-scripts.js"></script>' : '';
  if (scripts) write(path.join(dir, 'public', 'custom-scripts.js'), s.branding!.custom_scripts!);
  write(
    path.join(dir, 'index.html'),
    `<!doctype html>
<html lang="en" data-theme="${theme.theme}">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="${theme.theme}" />
    <meta name="description" content="" />
    <meta name="generator" content="RobbieBlocks" />
    <link rel="icon" href="data:," />
    <title>${escapeHtml(name)}</title>
  </head>
  <body>
    <div id="root"></div>
    <noscript>${escapeHtml(name)} needs JavaScript.</noscript>
    <script type="module" src="/src/main.tsx"></script>${scripts}
  </body>
</html>
`,
  );
  write(path.join(dir, 'package.json'), JSON.stringify({ name: 'robbieblocks-app', private: true, type: 'module' }, null, 2));
  write(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', jsx: 'react-jsx', strict: true, resolveJsonModule: true, skipLibCheck: true, paths: { '@robbieblocks/runtime': ['./src/runtime'] } }, include: ['src'] }, null, 2),
  );
  return { dir, pages: s.pages.length, components };
}
