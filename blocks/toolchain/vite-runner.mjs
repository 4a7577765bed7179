// Builds one generated RobbieBlocks app with Vite, in a child process whose environment holds no
// database credentials. Usage: node vite-runner.mjs <project-dir> <out-dir>
// Vite and the React plugin resolve from the toolkit's own node_modules: no install per build.
import path from 'node:path';
import { build } from 'vite';
import react from '@vitejs/plugin-react';

const [project, outDir] = process.argv.slice(2);
if (!project || !outDir) {
  console.error('usage: vite-runner.mjs <project-dir> <out-dir>');
  process.exit(2);
}
// stdin is a pipe from the builder: when the builder dies (even by kill -9) it closes, and this
// build stops instead of writing into a release directory nobody will publish.
process.stdin.on('end', () => process.exit(3));
process.stdin.on('error', () => process.exit(3));
process.stdin.resume();
try {
  await build({
    root: project,
    configFile: false,
    envFile: false,
    mode: 'production',
    logLevel: 'info',
    base: '/',
    cacheDir: path.join(project, '.vite-cache'),
    plugins: [react()],
    resolve: { alias: [{ find: /^@robbieblocks\/runtime/, replacement: path.join(project, 'src', 'runtime') }] },
    // cssMinify off: token values reach the browser exactly as stored (no colour or unit rewriting).
    build: { outDir, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 2048, cssMinify: false },
  });
} catch (err) {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
}
process.exit(0);
