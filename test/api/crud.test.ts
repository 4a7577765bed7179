import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineName } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

/** Each writable resource: a valid create body and a change. */
interface Case {
  path: string;
  table: string;
  create: (ctx: Record<string, string>) => Record<string, unknown>;
  change: Record<string, unknown>;
  nested?: (ctx: Record<string, string>) => string;
}

const CASES: Case[] = [
  { path: 'contacts', table: 'contacts', create: () => ({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.test', tags: ['vip'] }), change: { is_vip: true } },
  { path: 'companies', table: 'companies', create: () => ({ name: 'Analytical Engines Ltd', headquarters: { city: 'London' } }), change: { industry: 'machinery' } },
  { path: 'deals', table: 'deals', create: (c) => ({ name: 'Difference engine', amount_cents: 125000, company_id: c.company, primary_contact_id: c.contact }), change: { probability: 40 } },
  { path: 'tasks', table: 'tasks', create: () => ({ title: 'Call back', priority: 'high', due_date: '2026-12-01T10:00:00Z' }), change: { status: 'done' } },
  { path: 'calendar/events', table: 'calendar_events', create: () => ({ title: 'Review', start_time: '2026-12-01T10:00:00Z', end_time: '2026-12-01T11:00:00Z', attendees: [{ email: 'x@example.test' }] }), change: { location: 'Room 2' } },
  { path: 'meetings/health', table: 'meeting_health', create: (c) => ({ calendar_event_id: c.event, health_score: 72, issues: ['no agenda'] }), change: { health_status: 'healthy' } },
  { path: 'sticky-notes', table: 'sticky_notes', create: () => ({ content: 'Ask about the budget', note_type: 'action' }), change: { title: 'Budget' } },
  { path: 'conversations', table: 'conversations', create: () => ({ title: 'Planning' }), change: { is_archived: true } },
  { path: 'messages', table: 'messages', create: () => ({ role: 'user', content: 'hello' }), change: { is_pinned: true }, nested: (c) => `/api/conversations/${c.conversation}/messages` },
  { path: 'knowledge-base', table: 'knowledge_base', create: () => ({ title: 'Pricing', content: 'We charge by seat.' }), change: { category: 'sales' } },
  { path: 'touch-ready', table: 'touch_ready_queue', create: () => ({ draft_message: 'Following up on our call' }), change: { priority: 70 } },
];

describe(`API resources: sign in, create, read, update, delete (${engineName})`, () => {
  let h: ApiHarness;
  let orgId: string;
  let owner: { id: string; token: string };
  let member: { id: string; token: string };
  let viewer: { id: string; token: string };
  const ctx: Record<string, string> = {};

  beforeAll(async () => {
    h = await startApi();
    orgId = await h.org('Acme');
    owner = await h.user(orgId, 'owner@acme.test', 'owner');
    member = await h.user(orgId, 'member@acme.test', 'member');
    viewer = await h.user(orgId, 'viewer@acme.test', 'viewer');
    const post = async (path: string, body: unknown) => (await h.call('POST', path, { token: member.token, body })).body.id as string;
    ctx.company = await post('/api/companies', { name: 'Parent Co' });
    ctx.contact = await post('/api/contacts', { first_name: 'Charles', last_name: 'Babbage' });
    ctx.event = await post('/api/calendar/events', { title: 'Kick-off', start_time: '2026-12-02T09:00:00Z', end_time: '2026-12-02T09:30:00Z' });
    ctx.conversation = await post('/api/conversations', { title: 'Thread' });
  });
  afterAll(() => h.close());

  it('signs in and tells the user who they are', async () => {
    const me = await h.call('GET', '/api/me', { token: member.token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { email: 'member@acme.test' }, organization: { id: orgId, name: 'Acme' }, role: 'member', via: 'session' });
  });

  for (const c of CASES) {
    it(`${c.path}: create → get → list → update → delete, each write audited`, async () => {
      const base = c.nested ? c.nested(ctx) : `/api/${c.path}`;
      const created = await h.call('POST', base, { token: member.token, body: c.create(ctx) });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id as string;
      expect(created.body.org_id).toBe(orgId);

      // read by the owner: on the privacy tables (notes, conversations, messages, knowledge) a viewer sees only public rows
      const got = await h.call('GET', `${base}/${id}`, { token: owner.token });
      expect(got.status).toBe(200);
      expect(got.body).toEqual(created.body);

      const listed = await h.call('GET', `${base}?limit=200`, { token: owner.token });
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((r: { id: string }) => r.id)).toContain(id);

      const changed = await h.call('PATCH', `${base}/${id}`, { token: member.token, body: c.change });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body).toMatchObject(c.change);

      const del = await h.call('DELETE', `${base}/${id}`, { token: member.token });
      expect(del.status).toBe(204);
      expect((await h.call('GET', `${base}/${id}`, { token: member.token })).status).toBe(404);
      const { rows } = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${c.table} WHERE id = $1`, [id]);
      expect(rows[0]!.n).toBe(0);

      const audit = await h.db.query<{ action: string; user_id: string; actor_type: string; has_old: boolean; has_new: boolean; request_id: string | null }>(
        `SELECT action, user_id, actor_type, old_values IS NOT NULL AS has_old, new_values IS NOT NULL AS has_new, details->>'request_id' AS request_id
           FROM audit_log WHERE entity_type = $1 AND entity_id = $2 ORDER BY created_at, action`,
        [c.table, id],
      );
      expect(audit.rows.map((r) => r.action).sort()).toEqual(['delete', 'insert', 'update']);
      for (const r of audit.rows) {
        expect(r.user_id).toBe(member.id);
        expect(r.actor_type).toBe('user');
        expect(r.request_id).toBeTruthy();
        expect(r.has_old).toBe(r.action !== 'insert');
        expect(r.has_new).toBe(r.action !== 'delete');
      }
    });
  }

  it('privacy levels apply through the API: a viewer sees public notes, not team ones', async () => {
    const team = await h.call('POST', '/api/sticky-notes', { token: member.token, body: { content: 'team only' } });
    const pub = await h.call('POST', '/api/sticky-notes', { token: member.token, body: { content: 'for everyone', privacy_level: 'public' } });
    expect((await h.call('GET', `/api/sticky-notes/${team.body.id}`, { token: viewer.token })).status).toBe(404);
    expect((await h.call('GET', `/api/sticky-notes/${pub.body.id}`, { token: viewer.token })).status).toBe(200);
    expect((await h.call('GET', `/api/sticky-notes/${team.body.id}`, { token: owner.token })).status).toBe(200);
  });

  it('read-only catalogues list and get, and refuse writes', async () => {
    for (const path of ['deal-stages', 'personalities']) {
      const list = await h.call('GET', `/api/${path}`, { token: viewer.token });
      expect(list.status).toBe(200);
      expect(list.body.data.length).toBeGreaterThan(0);
      const one = await h.call('GET', `/api/${path}/${list.body.data[0].id}`, { token: viewer.token });
      expect(one.status).toBe(200);
      expect((await h.call('POST', `/api/${path}`, { token: owner.token, body: { name: 'x' } })).status).toBe(404);
    }
    const state = await h.call('GET', '/api/personalities/robbie/state', { token: viewer.token });
    expect(state.status).toBe(200);
    expect(state.body.network_state).toHaveProperty('current_mood');
  });

  it('AI usage: record a call, read it back, and see it in the summary', async () => {
    const rec = await h.call('POST', '/api/ai-usage', { token: member.token, body: { model_name: 'm-small', model_provider: 'local', input_tokens: 100, output_tokens: 50, cost_usd: 0.0125 } });
    expect(rec.status).toBe(201);
    expect(rec.body.total_tokens).toBe(150);
    const sum = await h.call('GET', '/api/ai-usage/summary', { token: viewer.token });
    expect(sum.body.total_calls).toBe(1);
    expect(sum.body.total_cost_usd).toBeCloseTo(0.0125);
    expect((await h.call('DELETE', `/api/ai-usage/${rec.body.id}`, { token: owner.token })).status).toBe(404);
  });

  it('personality settings: the defaults until a user changes a dial, then their own row', async () => {
    const d = await h.call('GET', '/api/personality-settings', { token: viewer.token });
    expect(d.body.is_default).toBe(true);
    const c = await h.call('PATCH', '/api/personality-settings', { token: viewer.token, body: { flirt_mode: 3 } });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ user_id: viewer.id, flirt_mode: 3, is_default: false });
    expect((await h.call('GET', '/api/personality-settings', { token: member.token })).body.is_default).toBe(true);
    expect((await h.call('PATCH', '/api/personality-settings', { token: viewer.token, body: { flirt_mode: 11 } })).status).toBe(400);
  });

  it('a viewer reads but cannot write', async () => {
    const r = await h.call('POST', '/api/contacts', { token: viewer.token, body: { first_name: 'No', last_name: 'Way' } });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/member role or higher.*you are viewer/);
    expect((await h.call('PATCH', `/api/contacts/${ctx.contact}`, { token: viewer.token, body: { is_vip: true } })).status).toBe(403);
    expect((await h.call('DELETE', `/api/contacts/${ctx.contact}`, { token: viewer.token })).status).toBe(403);
    expect((await h.call('GET', `/api/contacts/${ctx.contact}`, { token: viewer.token })).status).toBe(200);
  });

  it('a member cannot administer; an admin can', async () => {
    const other = await h.org('Elsewhere');
    await h.user(other, 'newcomer@acme.test', 'member');
    expect((await h.call('POST', '/api/members', { token: member.token, body: { email: 'newcomer@acme.test', role: 'member' } })).status).toBe(403);
    expect((await h.call('PATCH', '/api/organizations/current', { token: member.token, body: { name: 'Hijacked' } })).status).toBe(403);
    // Adding someone is an invitation that they accept.
    const invited = await h.call('POST', '/api/members', { token: owner.token, body: { email: 'newcomer@acme.test', role: 'viewer' } });
    expect(invited.status).toBe(202);
    expect(invited.body).toMatchObject({ email: 'newcomer@acme.test', role: 'viewer', status: 'pending' });
    const accepted = await h.call('POST', `/api/invitations/${invited.body.id}/accept`, { token: await h.login('newcomer@acme.test') });
    expect(accepted.status).toBe(200);
    const list = await h.call('GET', '/api/members', { token: member.token });
    expect(list.body.data.map((m: { email: string }) => m.email)).toContain('newcomer@acme.test');
    const renamed = await h.call('PATCH', '/api/organizations/current', { token: owner.token, body: { name: 'Acme Inc' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Acme Inc');
    // an organization keeps an owner
    const mine = list.body.data.find((m: { email: string }) => m.email === 'owner@acme.test');
    const demote = await h.call('PATCH', `/api/members/${mine.id}`, { token: owner.token, body: { role: 'admin' } });
    expect(demote.status).toBe(409);
  });

  it('cursor pagination walks every row once, in order', async () => {
    for (let i = 0; i < 7; i++) await h.call('POST', '/api/tasks', { token: member.token, body: { title: `page-${i}` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = `?limit=3&sort=created_at&order=asc&q=page-${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await h.call('GET', `/api/tasks${qs}`, { token: viewer.token });
      expect(r.status).toBe(200);
      seen.push(...r.body.data.map((t: { title: string }) => t.title));
      cursor = r.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `page-${i}`));
  });

  it('pages over a column with NULLs in both orders without losing or repeating a row', async () => {
    const due = ['2026-12-03T00:00:00Z', null, '2026-12-01T00:00:00Z', null, '2026-12-02T00:00:00Z', '2026-12-01T00:00:00Z', null];
    for (const [i, d] of due.entries()) await h.call('POST', '/api/tasks', { token: member.token, body: { title: `due-${i}`, due_date: d } });
    for (const order of ['asc', 'desc']) {
      const seen: { title: string; due_date: string | null }[] = [];
      let cursor: string | null = null;
      do {
        const r: { body: { data: { title: string; due_date: string | null }[]; next_cursor: string | null } } =
          await h.call('GET', `/api/tasks?limit=2&sort=due_date&order=${order}&q=due-${cursor ? `&cursor=${cursor}` : ''}`, { token: viewer.token });
        seen.push(...r.body.data);
        cursor = r.body.next_cursor;
      } while (cursor);
      expect(seen.map((t) => t.title).sort()).toEqual(due.map((_, i) => `due-${i}`).sort());
      const dates = seen.map((t) => t.due_date);
      const nonNull = dates.filter((d): d is string => d !== null).map((d) => Date.parse(d));
      expect(nonNull).toEqual([...nonNull].sort((x, y) => (order === 'asc' ? x - y : y - x)));
      // NULL is the largest value: last going up, first going down
      expect(order === 'asc' ? dates.slice(-3) : dates.slice(0, 3)).toEqual([null, null, null]);
    }
  });

  it('publishes an OpenAPI document and a reference page', async () => {
    const doc = await h.call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    for (const p of ['/api/auth/login', '/api/contacts', '/api/contacts/{id}', '/api/conversations/{conversationId}/messages', '/api/robbieblocks/page/{key}']) {
      expect(Object.keys(doc.body.paths)).toContain(p);
    }
    const page = await fetch(`${h.base}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });
});
