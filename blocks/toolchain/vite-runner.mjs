// Builds one generated RobbieBlocks app with Vite, in a child process whose environment holds no
// database credentials. Usage: node vite-runner.mjs <project-dir> <out-dir> <vendor-json>
// vendor-json: {"paths": {specifier: url}, "exports": {specifier: [names]}, "preload": [urls]}:
// the shared vendor modules (vendor-runner.mjs) the app imports by URL instead of bundling them.
// Vite and the React plugin resolve from the toolkit's own node_modules: no install per build.
import path from 'node:path';
import { build, esmExternalRequirePlugin } from 'vite';
import react from '@vitejs/plugin-react';

const [project, outDir, vendorJson] = process.argv.slice(2);
let vendor;
try {
  vendor = JSON.parse(vendorJson ?? '');
} catch {
  vendor = undefined;
}
if (!project || !outDir || !vendor || typeof vendor.paths !== 'object' || typeof vendor.exports !== 'object' || !Array.isArray(vendor.preload)) {
  console.error('usage: vite-runner.mjs <project-dir> <out-dir> <vendor-json>  (vendor-json: {"paths": {…}, "exports": {…}, "preload": […]})');
  process.exit(2);
}
// stdin is a pipe from the builder: when the builder dies (even by kill -9) it closes, and this
// build stops instead of writing into a release directory nobody will publish.
process.stdin.on('end', () => process.exit(3));
process.stdin.on('error', () => process.exit(3));
process.stdin.resume();

const specs = Object.keys(vendor.paths);

// A name the vendor module does not export would fail in the browser when the module links
// (a blank page): refuse it here, naming the file.
const vendorImports = {
  name: 'robbieblocks-vendor-imports',
  enforce: 'post',
  transform(code, id) {
    if (!/\.[cm]?[jt]sx?$/.test(id.split('?')[0]) || !specs.some((s) => code.includes(`'${s}'`) || code.includes(`"${s}"`))) return null;
    for (const n of this.parse(code).body) {
      const spec = n.source?.value;
      if (!specs.includes(spec) || (n.type !== 'ImportDeclaration' && n.type !== 'ExportNamedDeclaration')) continue;
      for (const s of n.specifiers ?? []) {
        if (s.type === 'ImportNamespaceSpecifier') continue;
        const name = s.type === 'ImportDefaultSpecifier' ? 'default' : n.type === 'ImportDeclaration' ? s.imported.name ?? s.imported.value : s.local.name ?? s.local.value;
        if (!vendor.exports[spec].includes(name)) {
          this.error(`${path.relative(project, id.split('?')[0])} imports "${name}" from "${spec}", which "${spec}" does not export`);
        }
      }
    }
    return null;
  },
};

// Preload the vendor modules with the page, not after the app's entry has been parsed.
const preload = {
  name: 'robbieblocks-vendor-preload',
  transformIndexHtml: {
    order: 'post',
    handler: () => vendor.preload.map((href) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href }, injectTo: 'head' })),
  },
};

try {
  await build({
    root: project,
    configFile: false,
    envDir: false,
    mode: 'production',
    logLevel: 'info',
    base: '/',
    cacheDir: path.join(project, '.vite-cache'),
    // The vendor specifiers are external, also where a bundled package require()s them
    // (react-dom/server requires react): one React, the vendor one.
    plugins: [esmExternalRequirePlugin({ external: specs }), react(), vendorImports, preload],
    resolve: { alias: [{ find: /^@robbieblocks\/runtime/, replacement: path.join(project, 'src', 'runtime') }] },
    // cssMinify off: token values reach the browser exactly as stored (no colour or unit rewriting).
    build: {
      outDir,
      emptyOutDir: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 2048,
      cssMinify: false,
      rolldownOptions: { output: { paths: vendor.paths } },
    },
  });
} catch (err) {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
}
process.exit(0);
