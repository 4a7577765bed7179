// Builds the shared vendor modules (React, ReactDOM, React Router) once, as ES modules that every
// generated app imports instead of bundling its own copy. One build of all entries: they share one
// React. Usage: node vendor-runner.mjs <work-dir> <out-dir> <modules-json>
// modules-json maps each specifier to its output name: {"react": "react", "react-dom/client": "react-dom-client", …}
// The work dir holds a node_modules link to the toolkit's packages, as a generated app's does.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'vite';

const [work, outDir, modulesJson] = process.argv.slice(2);
let modules;
try {
  modules = JSON.parse(modulesJson ?? '');
} catch {
  modules = undefined;
}
if (!work || !outDir || !modules || typeof modules !== 'object' || Array.isArray(modules) || !Object.keys(modules).length) {
  console.error('usage: vendor-runner.mjs <work-dir> <out-dir> <modules-json>  (modules-json: {"react": "react", …})');
  process.exit(2);
}
// stdin is a pipe from the builder: when the builder dies it closes, and this build stops.
process.stdin.on('end', () => process.exit(3));
process.stdin.on('error', () => process.exit(3));
process.stdin.resume();

// React's CommonJS entries export other names in development builds: read the production ones.
process.env.NODE_ENV = 'production';
const require = createRequire(path.join(work, 'package.json'));
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ENTRY = '\0robbieblocks-vendor:';

/** Whether the file the browser build resolved is an ES module (by extension or package type). */
function isEsm(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) return JSON.parse(fs.readFileSync(pkg, 'utf8')).type === 'module';
    if (path.dirname(dir) === dir) return false;
  }
}

// Each entry re-exports its module as ES: a CommonJS one by name (its keys at run time), with
// the module object as default; an ES one with export * (React Router has no default export).
const entries = {
  name: 'robbieblocks-vendor-entries',
  enforce: 'pre',
  resolveId(id) {
    return id.startsWith(ENTRY) ? id : null;
  },
  async load(id) {
    if (!id.startsWith(ENTRY)) return null;
    const spec = id.slice(ENTRY.length);
    const resolved = await this.resolve(spec, path.join(work, 'index.js'));
    if (!resolved || resolved.external) this.error(`cannot resolve "${spec}" from ${work}`);
    const file = resolved.id.split('?')[0];
    if (isEsm(file)) return `export * from ${JSON.stringify(spec)};\n`;
    const names = Object.keys(require(spec)).filter((n) => n !== 'default' && IDENTIFIER.test(n));
    return `import M from ${JSON.stringify(spec)};\nexport const { ${names.join(', ')} } = M;\nexport default M;\n`;
  },
};

// exports.json: each specifier's export names, for the app build to check imports against.
const exportList = {
  name: 'robbieblocks-vendor-exports',
  generateBundle(_options, bundle) {
    const out = {};
    for (const [spec, name] of Object.entries(modules)) {
      const chunk = Object.values(bundle).find((c) => c.type === 'chunk' && c.isEntry && c.name === name);
      if (!chunk) this.error(`no entry chunk for "${spec}"`);
      out[spec] = [...chunk.exports].sort();
    }
    this.emitFile({ type: 'asset', fileName: 'exports.json', source: JSON.stringify(out, null, 2) + '\n' });
  },
};

const input = Object.fromEntries(Object.entries(modules).map(([spec, name]) => [name, ENTRY + spec]));
try {
  await build({
    root: work,
    configFile: false,
    envDir: false,
    mode: 'production',
    logLevel: 'info',
    cacheDir: path.join(work, '.vite-cache'),
    publicDir: false,
    plugins: [entries, exportList],
    define: { 'process.env.NODE_ENV': '"production"' },
    build: {
      outDir,
      emptyOutDir: true,
      reportCompressedSize: false,
      lib: { entry: input, formats: ['es'], fileName: (_format, name) => `${name}.js` },
      // Library mode keeps whitespace and comments for a later bundler; these files go to browsers.
      rolldownOptions: { input, output: { chunkFileNames: 'shared-[hash].js', minify: true, comments: false } },
    },
  });
} catch (err) {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
}
process.exit(0);
