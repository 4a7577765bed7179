/**
 * The shared vendor build (src/blocks/vendor.ts): React, ReactDOM and React Router are built once
 * per toolchain and deploy root, each app imports them instead of bundling its own copy, and each
 * release carries the same files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeploy, type DeployOutcome } from '../../src/blocks/build.js';
import { claimDeploy, newBuilderId } from '../../src/blocks/claim.js';
import { requestDeploy } from '../../src/blocks/request.js';
import { ensureVendor, publishVendor, VENDOR_DIR, VendorBuildError } from '../../src/blocks/vendor.js';
import { installedVersion, toolchainHash } from '../../src/blocks/version.js';
import { engineName, tmpDir } from '../helpers/db.js';
import { blocksFixture, type BlocksFixture } from './helpers.js';

/** A string only React's own code holds (its cloneElement error), and one only ReactDOM's renderer holds. */
const REACT_CODE = 'The argument must be a React element, but you passed ';
const REACT_DOM_CODE = 'glyph-orientation-horizontal';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

/** The live release's JS: the app's own files, and the vendor directory's (name → bytes). */
function releaseJs(root: string, node: string, app: string): { app: Map<string, Buffer>; vendorDir: string; vendor: Map<string, Buffer> } {
  const assets = path.join(fs.realpathSync(path.join(root, node, app, 'current')), 'assets');
  const dirs = fs.readdirSync(assets).filter((n) => n.startsWith('vendor-'));
  expect(dirs, 'one vendor directory in the release').toHaveLength(1);
  const read = (d: string, names: string[]) => new Map(names.map((n) => [n, fs.readFileSync(path.join(d, n))]));
  const appFiles = fs.readdirSync(assets).filter((n) => n.endsWith('.js'));
  return { app: read(assets, appFiles), vendorDir: dirs[0]!, vendor: read(path.join(assets, dirs[0]!), fs.readdirSync(path.join(assets, dirs[0]!))) };
}

describe(`shared vendor build (${engineName})`, () => {
  let fx: BlocksFixture;
  const roots: string[] = [];
  const root = () => {
    const r = tmpDir('rv-vendor-root-');
    roots.push(r);
    return r;
  };
  const deploy = async (deployRoot: string, nodeKey: string, app: string): Promise<DeployOutcome & { log: string }> => {
    const req = await requestDeploy(fx.db, { nodeKey, app });
    const job = (await claimDeploy(fx.db, null, newBuilderId(), req.deployId))!;
    const out = await runDeploy(fx.db, job, { deployRoot, retries: 0 });
    const row = await fx.db.query<{ build_log: string }>('SELECT build_log FROM robbieblocks_deploys WHERE id = $1', [job.id]);
    return { ...out, log: row.rows[0]!.build_log ?? '' };
  };

  beforeAll(async () => {
    fx = await blocksFixture();
  });
  afterAll(async () => {
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
    await fx?.close();
  });

  it('two apps share one vendor build: the second does not run it, both releases carry the same bytes, neither app bundles React', async () => {
    const r = root();
    const play = await deploy(r, 'vengeance-local', 'play');
    expect(`${play.status} ${play.error ?? ''}`.trim()).toBe('success');
    expect(play.log).toMatch(/vendor assets\/vendor-[0-9a-f]{8}: built now/);
    const cache = path.join(r, VENDOR_DIR, toolchainHash());
    const mtimes = new Map(filesUnder(cache).map((f) => [f, fs.statSync(path.join(cache, f)).mtimeMs]));

    const code = await deploy(r, 'vengeance-local', 'code');
    expect(`${code.status} ${code.error ?? ''}`.trim()).toBe('success');
    expect(code.log).toMatch(/vendor assets\/vendor-[0-9a-f]{8}: already built/);
    expect(new Map(filesUnder(cache).map((f) => [f, fs.statSync(path.join(cache, f)).mtimeMs]))).toEqual(mtimes);

    const a = releaseJs(r, 'vengeance-local', 'play');
    const b = releaseJs(r, 'vengeance-local', 'code');
    expect(b.vendorDir).toBe(a.vendorDir);
    expect([...b.vendor.keys()]).toEqual([...a.vendor.keys()]);
    for (const [name, bytes] of a.vendor) {
      expect(bytes.equals(b.vendor.get(name)!), name).toBe(true);
      expect(bytes.equals(fs.readFileSync(path.join(cache, name))), `${name} as in ${VENDOR_DIR}`).toBe(true);
    }
    expect([...a.vendor.keys()]).toEqual(expect.arrayContaining(['react.js', 'react-jsx-runtime.js', 'react-dom.js', 'react-dom-client.js', 'react-router-dom.js']));
    // one React and one ReactDOM among the vendor files, none in the apps' own files
    const holding = (files: Map<string, Buffer>, s: string) => [...files].filter(([, b2]) => b2.includes(s)).map(([n]) => n);
    expect(holding(a.vendor, REACT_CODE)).toHaveLength(1);
    expect(holding(a.vendor, REACT_DOM_CODE)).toHaveLength(1);
    for (const rel of [a, b]) {
      expect(holding(rel.app, REACT_CODE)).toEqual([]);
      expect(holding(rel.app, REACT_DOM_CODE)).toEqual([]);
      // React's and ReactDOM's version marker (their version check) is in no file of the app's
      expect(holding(rel.app, installedVersion('react-dom'))).toEqual([]);
      const main = [...rel.app].find(([n]) => n.startsWith('index-'))!;
      // the main chunk was ~260 kB with React, ReactDOM and React Router bundled
      expect(main[1].length).toBeLessThan(30_000);
      expect(main[1].toString()).toContain(`"/assets/${a.vendorDir}/react.js"`);
    }
    const html = fs.readFileSync(path.join(r, 'vengeance-local', 'play', 'current', 'index.html'), 'utf8');
    expect(html).toContain(`<link rel="modulepreload" crossorigin href="/assets/${a.vendorDir}/react-dom-client.js">`);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script: the sites' CSP allows none
  });

  it('concurrent builds in one process wait for one vendor build; later ones find it built', async () => {
    const r = root();
    const [x, y] = await Promise.all([ensureVendor(r), ensureVendor(r)]);
    expect(x.vendor).toBe(y.vendor);
    expect(x.built && y.built).toBe(true);
    const z = await ensureVendor(r);
    expect(z).toMatchObject({ built: false, vendor: { hash: x.vendor.hash, files: x.vendor.files } });
    // another process finished the same bundle first: its rename wins, this build's copy is dropped
    const mine = path.join(r, VENDOR_DIR, '.tmp-race');
    fs.cpSync(x.vendor.dir, mine, { recursive: true });
    expect(publishVendor(mine, x.vendor.dir).hash).toBe(x.vendor.hash);
    expect(fs.existsSync(mine)).toBe(false);
  });

  it('a failed vendor build fails the app build with its log, and is tried again by the next build', async () => {
    const bad = root();
    const modules = ['react', 'no-such-vendor-package'];
    const first = await ensureVendor(bad, { modules }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(VendorBuildError);
    expect((first as VendorBuildError).message).toMatch(/^vendor build failed: .*no-such-vendor-package/);
    expect((first as VendorBuildError).buildLog).toContain('no-such-vendor-package');
    expect(await ensureVendor(bad, { modules }).catch((e: unknown) => e)).toBeInstanceOf(VendorBuildError);
    expect(fs.readdirSync(path.join(bad, VENDOR_DIR))).toEqual([]); // nothing half-built left behind

    // the deploy root cannot hold the vendor directory: the deploy fails, saying so
    const r = root();
    fs.writeFileSync(path.join(r, VENDOR_DIR), 'not a directory');
    const failed = await deploy(r, 'vengeance-local', 'play');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/cannot build the vendor modules: .*\.vendor/);
    fs.rmSync(path.join(r, VENDOR_DIR));
    const ok = await deploy(r, 'vengeance-local', 'play');
    expect(`${ok.status} ${ok.error ?? ''}`.trim()).toBe('success');
    expect(ok.log).toMatch(/vendor assets\/vendor-[0-9a-f]{8}: built now/);
  });

  it('a component importing a name the vendor module does not export fails its build, naming the file and the name', async () => {
    await fx.db.query(
      `INSERT INTO robbieblocks_components (component_key, component_name, component_type, react_code, props_schema, is_published)
       VALUES ('missing-hook', 'MissingHook', 'widget', $1, '{}'::jsonb, true)`,
      [`import { useNotAHook } from 'react';\nexport default function MissingHook() {\n  useNotAHook();\n  return <p>never</p>;\n}\n`],
    );
    await fx.db.query(`INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status) VALUES ('missing-hook', 'code', 'Missing', '/missing', 'single-column', 'published')`);
    await fx.db.query(
      `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
       SELECT p.id, c.id, 1, 'main', '{}'::jsonb FROM robbieblocks_pages p, robbieblocks_components c WHERE p.page_key = 'missing-hook' AND c.component_key = 'missing-hook'`,
    );
    const out = await deploy(root(), 'vengeance-local', 'code');
    expect(out.status).toBe('failed');
    expect(out.error).toContain('src/components/MissingHook.tsx imports "useNotAHook" from "react", which "react" does not export');
    await fx.db.query(`DELETE FROM robbieblocks_pages WHERE page_key = 'missing-hook'`);
  });
});
