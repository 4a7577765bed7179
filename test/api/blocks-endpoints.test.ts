import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOperator } from '../../src/api/auth/operators.js';
import { registerComponentLibrary, seedDemoContent } from '../../src/blocks/index.js';
import { engineName } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

describe(`API: RobbieBlocks CMS endpoints (${engineName})`, () => {
  let h: ApiHarness;
  let admin: string;
  let member: string;

  beforeAll(async () => {
    h = await startApi();
    await registerComponentLibrary(h.db, { publish: true });
    await seedDemoContent(h.db);
    const org = await h.org('Acme');
    admin = (await h.user(org, 'admin@acme.test', 'admin')).token;
    await addOperator(h.db, { email: 'admin@acme.test' }); // deploys act on the shared nodes: operators only
    member = (await h.user(org, 'member@acme.test', 'member')).token;
  });
  afterAll(() => h.close());

  it('lists published pages and serves one with its blocks, the node\'s branding and resolved tokens', async () => {
    const pages = await h.call('GET', '/api/robbieblocks/pages?app=play', { token: member });
    expect(pages.status).toBe(200);
    expect(pages.body.data.map((p: { page_key: string }) => p.page_key)).toContain('demo-play-home');
    const page = await h.call('GET', '/api/robbieblocks/page/demo-play-home?node_id=vengeance-local', { token: member });
    expect(page.status).toBe(200);
    expect(page.body.page.page_key).toBe('demo-play-home');
    expect(page.body.blocks.length).toBeGreaterThan(0);
    expect(page.body.tokens['color.primary']).toBe('#8B5CF6');
    expect(page.body.branding.theme).toBe('dark');
    // aurora-town does not serve the play app
    expect((await h.call('GET', '/api/robbieblocks/page/demo-play-home?node_id=aurora-town-local', { token: member })).status).toBe(404);
    const styles = await h.call('GET', '/api/robbieblocks/styles?node_id=aurora-town-local', { token: member });
    expect(styles.body.effective['color.primary']).toBe('#3B82F6');
    const comp = await h.call('GET', '/api/robbieblocks/component/robbie-bar', { token: member });
    expect(comp.status).toBe(200);
    expect(comp.body.react_code.length).toBeGreaterThan(50);
    expect((await h.call('GET', '/api/robbieblocks/branding/vengeance-local', { token: member })).body.display_name).toBe('Vengeance Gaming Rig');
  });

  it('the version hash changes on a token edit, not on an unrelated one', async () => {
    const v = async () => (await h.call('GET', '/api/robbieblocks/page/demo-play-home/version?node_id=vengeance-local', { token: member })).body;
    const first = await v();
    expect(first.content_hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await v()).content_hash).toBe(first.content_hash);
    await h.db.query(`UPDATE robbieblocks_pages SET meta_title = 'Work, renamed' WHERE page_key = 'demo-work-home'`);
    expect((await v()).content_hash).toBe(first.content_hash);
    await h.db.query(`UPDATE robbieblocks_style_tokens SET default_value = '1.1rem' WHERE token_key = 'spacing.md'`);
    expect((await v()).content_hash).not.toBe(first.content_hash);
  });

  it('stats, health and deploy history answer; manual deploys are for operators', async () => {
    const stats = await h.call('GET', '/api/robbieblocks/stats', { token: member });
    expect(stats.body.components).toBeGreaterThanOrEqual(9);
    const health = await h.call('GET', '/api/robbieblocks/health', { token: member });
    expect(health.body).toHaveProperty('unprocessed');
    expect((await h.call('POST', '/api/robbieblocks/deploys', { token: member, body: { node_id: 'vengeance-local', app: 'play' } })).status).toBe(403);
    const queued = await h.call('POST', '/api/robbieblocks/deploys', { token: admin, body: { node_id: 'vengeance-local', app: 'play' } });
    expect(queued.status).toBe(202);
    const history = await h.call('GET', '/api/robbieblocks/deploys?node_id=vengeance-local&app=play', { token: member });
    expect(history.body.data.map((d: { id: string }) => d.id)).toContain(queued.body.deploy_id);
    const unknown = await h.call('POST', '/api/robbieblocks/deploys', { token: admin, body: { node_id: 'no-such-node', app: 'play' } });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.status).toBeLessThan(500);
    const notRelease = await h.call('POST', `/api/robbieblocks/deploys/${queued.body.deploy_id}/rollback`, { token: admin });
    expect(notRelease.status).toBe(409);
  });
});
