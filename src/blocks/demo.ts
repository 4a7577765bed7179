import type { Db } from '../db/types.js';
import { registerComponentLibrary } from './library.js';

interface DemoBlock {
  zone: string;
  component: string;
  props?: Record<string, unknown>;
}
interface DemoPage {
  key: string;
  app: string;
  name: string;
  route: string;
  layout: string;
  title: string;
  description: string;
  blocks: DemoBlock[];
}

const login = (app: string, redirectTo = '/'): DemoPage => ({
  key: `demo-${app}-login`,
  app,
  name: 'Sign in',
  route: '/login',
  layout: 'single-column',
  title: 'Sign in',
  description: 'Sign in to Robbie',
  blocks: [{ zone: 'main', component: 'login-form', props: { redirectTo } }],
});

const notes = (app: string): DemoPage => ({
  key: `demo-${app}-notes`,
  app,
  name: 'Notes',
  route: '/notes',
  layout: 'single-column',
  title: 'Sticky notes',
  description: 'Your sticky notes',
  blocks: [
    { zone: 'header', component: 'robbie-bar', props: { title: 'Robbie', showStats: false } },
    { zone: 'main', component: 'sticky-notes', props: {} },
  ],
});

/** A small site per app: a home page built from the R1 components, notes, and sign-in. */
export const DEMO_PAGES: DemoPage[] = [
  {
    key: 'demo-play-home',
    app: 'play',
    name: 'Play',
    route: '/',
    layout: 'single-column',
    title: 'Robbie · Play',
    description: 'Chat and hang out with Robbie',
    blocks: [
      { zone: 'header', component: 'robbie-bar', props: { title: 'Robbie Play', mood: 'playful', greeting: 'Hey {name}, ready to play?' } },
      { zone: 'main', component: 'matrix-welcome', props: { greeting: 'Welcome back, {name}', subtitle: 'Your playground', durationMs: 3000, continueTo: '/notes' } },
      { zone: 'main', component: 'mood-indicator', props: { publicMode: true } },
      { zone: 'main', component: 'chat-interface', props: { title: 'Chat with Robbie' } },
    ],
  },
  notes('play'),
  login('play'),
  {
    key: 'demo-work-home',
    app: 'work',
    name: 'Work',
    route: '/',
    layout: 'dashboard',
    title: 'Robbie · Work',
    description: 'Today: brief, pipeline and follow-ups',
    blocks: [
      { zone: 'header', component: 'robbie-bar', props: { title: 'Robbie Work', mood: 'focused', greeting: 'Good to see you, {name}' } },
      { zone: 'sidebar', component: 'mood-indicator', props: { compact: true } },
      { zone: 'sidebar', component: 'sticky-notes', props: { title: 'Quick notes', limit: 5 } },
      { zone: 'main', component: 'daily-brief-block', props: { briefType: 'auto' } },
      { zone: 'main', component: 'money-dashboard', props: {} },
      { zone: 'main', component: 'touch-ready-queue', props: { limit: 5 } },
    ],
  },
  notes('work'),
  login('work'),
  {
    key: 'demo-code-home',
    app: 'code',
    name: 'Code',
    route: '/',
    layout: 'sidebar-left',
    title: 'Robbie · Code',
    description: 'Pair programming with Robbie',
    blocks: [
      { zone: 'header', component: 'robbie-bar', props: { title: 'Robbie Code', mood: 'focused' } },
      { zone: 'sidebar', component: 'mood-indicator', props: { compact: true } },
      { zone: 'sidebar', component: 'sticky-notes', props: { title: 'Scratchpad', limit: 10 } },
      { zone: 'main', component: 'chat-interface', props: { title: 'Ask Robbie' } },
    ],
  },
  notes('code'),
  login('code'),
];

export interface DemoResult {
  components: { inserted: number; updated: number };
  pagesCreated: string[];
  pagesKept: string[];
}

/**
 * Seeds the demo site of each app (default play, work and code), published. Idempotent: a page
 * that already exists (by page_key) is left as it is, blocks included, so edits survive.
 */
export async function seedDemoContent(db: Db, opts: { apps?: string[] } = {}): Promise<DemoResult> {
  const lib = await registerComponentLibrary(db);
  const apps = new Set(opts.apps ?? ['play', 'work', 'code']);
  const out: DemoResult = { components: { inserted: lib.inserted.length, updated: lib.updated.length }, pagesCreated: [], pagesKept: [] };
  await db.transaction(async (tx) => {
    for (const p of DEMO_PAGES.filter((x) => apps.has(x.app))) {
      const ins = await tx.query<{ id: string }>(
        `INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, meta_title, meta_description, status, metadata)
         SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, 'published', '{"demo": true}'::jsonb
          WHERE NOT EXISTS (SELECT 1 FROM robbieblocks_pages WHERE app_namespace = $2::text AND page_route = $4::text AND status = 'published')
         ON CONFLICT (page_key) DO NOTHING
         RETURNING id`,
        [p.key, p.app, p.name, p.route, p.layout, p.title, p.description],
      );
      const id = ins.rows[0]?.id;
      if (!id) {
        out.pagesKept.push(p.key);
        continue;
      }
      let order = 1;
      for (const b of p.blocks) {
        await tx.query(
          `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
           SELECT $1::uuid, c.id, $2, $3, $4::jsonb FROM robbieblocks_components c WHERE c.component_key = $5`,
          [id, order++, b.zone, JSON.stringify(b.props ?? {}), b.component],
        );
      }
      out.pagesCreated.push(p.key);
    }
  });
  return out;
}
