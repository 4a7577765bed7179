import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoContent } from '../../src/blocks/demo.js';
import { loadComponentLibrary, registerComponentLibrary } from '../../src/blocks/library.js';
import { ALLOWED_DEPENDENCIES, componentIdentifier } from '../../src/blocks/model.js';
import { fontFamilyValue, resolveTokens, tokenCss } from '../../src/blocks/tokens.js';
import { startBlocksWorker } from '../../src/blocks/worker.js';
import { engineName } from '../helpers/db.js';
import { blocksFixture, dbNow, liveRelease, releaseText, serveSite, waitForBuilds, type BlocksFixture } from './helpers.js';

const R1 = ['robbie-bar', 'mood-indicator', 'chat-interface', 'money-dashboard', 'daily-brief-block', 'sticky-notes', 'matrix-welcome', 'touch-ready-queue', 'login-form'];

describe('component library sources', () => {
  it('has the R1 components, each with a props schema, styled only through token variables', () => {
    const lib = loadComponentLibrary();
    expect(lib.map((c) => c.key).sort()).toEqual([...R1].sort());
    for (const c of lib) {
      expect(componentIdentifier(c.key), c.key).toBe(c.name);
      expect(c.react_code, c.key).toMatch(new RegExp(`export default function ${c.name}\\b`));
      expect(c.props_schema, c.key).toMatchObject({ type: 'object' });
      expect(c.dependencies.every((d) => (ALLOWED_DEPENDENCIES as readonly string[]).includes(d)), c.key).toBe(true);
      // no hard-coded colours: every colour comes from a --color-* variable
      const literal = /#[0-9a-f]{3,8}\b|rgba?\(|hsla?\(/i;
      expect(literal.test(c.css_styles), `${c.key} styles.css has a literal colour`).toBe(false);
      expect(literal.test(c.react_code), `${c.key} component.tsx has a literal colour`).toBe(false);
    }
  });

  it('API calls: one token key, a Bearer header only with a token, 401 drops the token', () => {
    const runtime = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'blocks', 'runtime', 'index.tsx'), 'utf8');
    expect(runtime).toContain(`TOKEN_KEY = 'robbie_token'`);
    expect(runtime).toMatch(/if \(token\) headers\.Authorization = `Bearer \$\{token\}`/);
    expect(runtime).toMatch(/status === 401\)[\s\S]{0,40}setToken\(null\)/);
    expect(runtime).not.toMatch(/setItem\([^)]*password/i);
  });
});

describe('tokens → CSS (BLOCKS.md §3.4)', () => {
  it('quotes family names with spaces and appends the base generic family', () => {
    expect(fontFamilyValue('Press Start 2P', 'Montserrat, sans-serif')).toBe('"Press Start 2P", sans-serif');
    expect(fontFamilyValue('Inter', 'Inter, sans-serif')).toBe('Inter, sans-serif');
    expect(fontFamilyValue('JetBrains Mono, monospace', 'Fira Code, monospace')).toBe('"JetBrains Mono", monospace');
  });
  it('one variable per token, overrides applied, theme as colour scheme', () => {
    const r = resolveTokens(
      [
        { token_key: 'color.primary', token_category: 'color', default_value: '#8B5CF6' },
        { token_key: 'font.size.2xl', token_category: 'font', default_value: '1.5rem' },
      ],
      { display_name: 'x', theme: 'light', style_overrides: { 'color.primary': '#3B82F6' }, enabled_apps: [], custom_css: null, custom_scripts: null, allow_scripts: false },
    );
    const css = tokenCss(r);
    expect(css).toContain('--color-primary: #3B82F6;');
    expect(css).toContain('--font-size-2xl: 1.5rem;');
    expect(css).toContain('color-scheme: light;');
  });
});

describe(`component registration and the demo site (${engineName})`, () => {
  let fx: BlocksFixture;
  beforeAll(async () => {
    fx = await blocksFixture();
  });
  afterAll(async () => fx?.close());

  it('registers the library idempotently: migrate did it, another run changes nothing and queues nothing', async () => {
    const before = (await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_change_triggers')).rows[0]!.n;
    const again = await registerComponentLibrary(fx.db);
    expect(again).toEqual({ inserted: [], updated: [], unchanged: expect.arrayContaining(R1), skipped: [] });
    const after = (await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_change_triggers')).rows[0]!.n;
    expect(after).toBe(before);
    const rows = await fx.db.query<{ component_key: string; is_published: boolean; props_schema: object; dependencies: string[] }>(`SELECT component_key, is_published, props_schema, dependencies FROM robbieblocks_components`);
    expect(rows.rows.every((r) => r.is_published && r.dependencies.includes('react'))).toBe(true);
  });

  it('seeds the demo idempotently, and every app builds with every R1 component, differently branded', async () => {
    const a = await seedDemoContent(fx.db);
    expect(a.pagesCreated).toHaveLength(9);
    const b = await seedDemoContent(fx.db);
    expect(b.pagesCreated).toEqual([]);
    expect(b.pagesKept).toHaveLength(9);

    const worker = await startBlocksWorker({ db: fx.db, deployRoot: fx.deployRoot, nodeKeys: ['collaboration-local', 'vengeance-local'], quietMs: 50, retries: 0 });
    try {
      const pairs = ['collaboration-local/work', 'collaboration-local/play', 'collaboration-local/code', 'vengeance-local/play', 'vengeance-local/code'];
      const built = await waitForBuilds(fx.db, pairs, new Date(0));
      for (const p of pairs) expect(built.get(p), p).toMatchObject({ deploy_status: 'success', pages_count: 3 });
      const all = ['work', 'play', 'code'].map((app) => releaseText(fx.deployRoot, 'collaboration-local', app)).join('\n');
      for (const cls of ['robbie-bar', 'mood-indicator', 'chat-interface', 'money-dashboard', 'daily-brief', 'sticky-notes', 'matrix-welcome', 'touch-ready', 'login-form']) {
        expect(all.includes(`.${cls}`), `styles of ${cls} in the build`).toBe(true);
      }
      expect(/--color-primary:\s*#06B6D4/i.test(releaseText(fx.deployRoot, 'collaboration-local', 'play'))).toBe(true);
      expect(/--color-primary:\s*#8B5CF6/i.test(releaseText(fx.deployRoot, 'vengeance-local', 'play'))).toBe(true);
      expect(liveRelease(fx.deployRoot, 'vengeance-local', 'work')).toBeNull(); // not enabled there

      const site = await serveSite(fx.deployRoot, 'vengeance-local', 'work');
      const res = await fetch(site.url + '/');
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('App not enabled');
      await site.close();
    } finally {
      await worker.stop();
    }
  });

  it('a worker starting with a new toolchain rebuilds the releases built by the old one', async () => {
    const mf = path.join(fx.deployRoot, 'collaboration-local', 'play', 'current', 'robbieblocks-release.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
    // as if built by an older toolchain: another toolchain hash, hence another content hash
    fs.writeFileSync(mf, JSON.stringify({ ...m, toolchain_hash: 'older', build_hash: 'older' }));
    const t0 = await dbNow(fx.db);
    const worker = await startBlocksWorker({ db: fx.db, deployRoot: fx.deployRoot, nodeKeys: ['collaboration-local', 'vengeance-local'], quietMs: 50, retries: 0 });
    try {
      const built = await waitForBuilds(fx.db, ['collaboration-local/play'], t0);
      expect(built.get('collaboration-local/play')).toMatchObject({ deploy_status: 'success', triggered_by: 'schedule' });
      await worker.idle();
      const others = await fx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM robbieblocks_deploys WHERE created_at > $1`, [t0]);
      expect(others.rows[0]!.n).toBe(1);
    } finally {
      await worker.stop();
    }
  });
});

describe('release site plugin', () => {
  it('serves assets of an earlier kept release (a page loaded before a switch), refuses path escapes, keeps /api/ out', async () => {
    const root = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'rv-site-'));
    const site = path.join(root, 'n1', 'play');
    const mk = (id: string, asset: string) => {
      fs.mkdirSync(path.join(site, 'releases', id, 'assets'), { recursive: true });
      fs.writeFileSync(path.join(site, 'releases', id, 'index.html'), `<html>${id}</html>`);
      fs.writeFileSync(path.join(site, 'releases', id, 'assets', asset), `/* ${id} */`);
      fs.writeFileSync(path.join(site, 'releases', id, 'robbieblocks-release.json'), JSON.stringify({ release_id: id }));
    };
    mk('20250101T000000000Z-aaaaaaaa', 'old-1.js');
    mk('20250102T000000000Z-bbbbbbbb', 'new-2.js');
    fs.symlinkSync('releases/20250102T000000000Z-bbbbbbbb', path.join(site, 'current'));
    const s = await serveSite(root, 'n1', 'play');
    try {
      expect(await (await fetch(s.url + '/deep/link')).text()).toBe('<html>20250102T000000000Z-bbbbbbbb</html>');
      const old = await fetch(s.url + '/assets/old-1.js');
      expect(old.status).toBe(200);
      expect(old.headers.get('cache-control')).toContain('immutable');
      expect((await fetch(s.url + '/')).headers.get('cache-control')).toBe('no-cache');
      expect((await fetch(s.url + '/assets/none.js')).status).toBe(404);
      expect((await fetch(s.url + '/%2e%2e/%2e%2e/n1/play/current/index.html')).status).not.toBe(200);
      const api = await fetch(s.url + '/api/nothing');
      expect(api.status).toBe(404);
      expect(api.headers.get('content-type')).toContain('application/json');
      // the switch is one rename; the next request sees the other release
      fs.symlinkSync('releases/20250101T000000000Z-aaaaaaaa', path.join(site, '.tmp-link'));
      fs.renameSync(path.join(site, '.tmp-link'), path.join(site, 'current'));
      expect(await (await fetch(s.url + '/x')).text()).toBe('<html>20250101T000000000Z-aaaaaaaa</html>');
    } finally {
      await s.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
