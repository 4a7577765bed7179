import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth/keys.js';
import { encodeCursor } from '../../src/api/cursor.js';
import { engineName } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

describe(`API tenant isolation: org A never sees or changes org B (${engineName})`, () => {
  let h: ApiHarness;
  let orgA: string;
  let orgB: string;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  let aKey: string;
  const B: Record<string, string> = {};
  const A: Record<string, string> = {};

  beforeAll(async () => {
    h = await startApi();
    orgA = await h.org('Org A');
    orgB = await h.org('Org B');
    a = await h.user(orgA, 'alice@a.test', 'owner');
    b = await h.user(orgB, 'bob@b.test', 'owner');
    aKey = (await createApiKey(h.db, { userId: a.id, orgId: orgA, name: 'a-bot' })).key;
    const post = async (token: string, path: string, body: unknown) => {
      const r = await h.call('POST', path, { token, body });
      if (r.status !== 201) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id as string;
    };
    B.company = await post(b.token, '/api/companies', { name: 'B Corp', domain: 'b.test' });
    B.contact = await post(b.token, '/api/contacts', { first_name: 'Secret', last_name: 'Bee', email: 'secret@b.test', company_id: B.company });
    for (let i = 0; i < 4; i++) await post(b.token, '/api/contacts', { first_name: `B${i}`, last_name: 'Row' });
    B.deal = await post(b.token, '/api/deals', { name: 'B deal', primary_contact_id: B.contact! });
    B.conversation = await post(b.token, '/api/conversations', { title: 'B talk', privacy_level: 'public' });
    B.note = await post(b.token, '/api/sticky-notes', { content: 'B note', privacy_level: 'public' });
    A.contact = await post(a.token, '/api/contacts', { first_name: 'Alice', last_name: 'Contact' });
    A.deal = await post(a.token, '/api/deals', { name: 'A deal' });
  });
  afterAll(() => h.close());

  const credentials = () => [['session', a.token], ['API key', aKey]] as const;

  it("guessing B's ids: get, update and delete answer 404 and change nothing", async () => {
    for (const [via, token] of credentials()) {
      for (const [path, id] of [['contacts', B.contact], ['companies', B.company], ['deals', B.deal], ['conversations', B.conversation], ['sticky-notes', B.note]] as const) {
        expect((await h.call('GET', `/api/${path}/${id}`, { token })).status, `${via} GET ${path}`).toBe(404);
        expect((await h.call('PATCH', `/api/${path}/${id}`, { token, body: path === 'contacts' ? { first_name: 'Owned' } : path === 'sticky-notes' ? { content: 'x' } : path === 'conversations' ? { title: 'x' } : { name: 'Owned' } })).status, `${via} PATCH ${path}`).toBe(404);
        expect((await h.call('DELETE', `/api/${path}/${id}`, { token })).status, `${via} DELETE ${path}`).toBe(404);
      }
    }
    const { rows } = await h.db.query<{ first_name: string }>(`SELECT first_name FROM contacts WHERE id = $1`, [B.contact]);
    expect(rows[0]!.first_name).toBe('Secret');
    expect((await h.db.query(`SELECT 1 FROM deals WHERE id = $1 AND name = 'B deal'`, [B.deal])).rows).toHaveLength(1);
  });

  it("filters and search on B's values find nothing", async () => {
    for (const [, token] of credentials()) {
      for (const qs of [`company_id=${B.company}`, 'email=secret@b.test', 'q=Secret', 'q=Bee', `q=${encodeURIComponent('%')}`]) {
        const r = await h.call('GET', `/api/contacts?${qs}`, { token });
        expect(r.status).toBe(200);
        expect(r.body.data.filter((c: { org_id: string }) => c.org_id !== orgA)).toEqual([]);
      }
      const all = await h.call('GET', '/api/contacts?limit=200', { token });
      expect(all.body.data.map((c: { id: string }) => c.id)).toEqual([A.contact]);
      const deals = await h.call('GET', `/api/deals?primary_contact_id=${B.contact}`, { token });
      expect(deals.body.data).toEqual([]);
    }
  });

  it("nested references into B are refused: a deal pointing at B's contact or company, a message into B's conversation", async () => {
    const before = (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deals`)).rows[0]!.n;
    const make = await h.call('POST', '/api/deals', { token: a.token, body: { name: 'Sneaky', primary_contact_id: B.contact } });
    expect(make.status).toBe(422);
    expect(make.body.error.code).toBe('invalid_reference');
    const move = await h.call('PATCH', `/api/deals/${A.deal}`, { token: a.token, body: { company_id: B.company } });
    expect(move.status).toBe(422);
    const msg = await h.call('POST', `/api/conversations/${B.conversation}/messages`, { token: a.token, body: { role: 'user', content: 'hi' } });
    expect(msg.status).toBe(404);
    const list = await h.call('GET', `/api/conversations/${B.conversation}/messages`, { token: aKey });
    expect(list.status).toBe(404);
    expect((await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deals`)).rows[0]!.n).toBe(before);
    expect((await h.db.query(`SELECT 1 FROM messages WHERE conversation_id = $1`, [B.conversation])).rows).toHaveLength(0);
    expect((await h.db.query<{ company_id: string | null }>(`SELECT company_id FROM deals WHERE id = $1`, [A.deal])).rows[0]!.company_id).toBeNull();
  });

  it("B's pagination cursors are refused, and a forged one shows only A's rows", async () => {
    const page = await h.call('GET', '/api/contacts?limit=2', { token: b.token });
    expect(page.body.next_cursor).toBeTruthy();
    const stolen = await h.call('GET', `/api/contacts?limit=2&cursor=${page.body.next_cursor}`, { token: a.token });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.message).toMatch(/another organization/);
    // a cursor rewritten to claim org A still only positions A's own listing
    const forged = encodeCursor({ r: '/contacts', s: 'created_at', o: 'desc', g: orgA, v: '9999-01-01T00:00:00+00:00', id: B.contact! });
    const r = await h.call('GET', `/api/contacts?limit=50&cursor=${forged}`, { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body.data.map((c: { id: string }) => c.id)).toEqual([A.contact]);
  });

  it('a user in both organizations acts in the one the token names, and a body cannot choose another', async () => {
    const both = await h.user(orgA, 'carol@both.test', 'member');
    await h.db.query(`INSERT INTO organization_memberships (org_id, user_id, role) VALUES ($1, $2, 'member')`, [orgB, both.id]);
    const inB = await h.login('carol@both.test', orgB);
    const viaA = await h.call('POST', '/api/contacts', { token: both.token, body: { first_name: 'Made', last_name: 'InA', org_id: orgB } as Record<string, unknown> });
    expect(viaA.status).toBe(400); // org_id is not a writable field
    const created = await h.call('POST', '/api/contacts', { token: both.token, body: { first_name: 'Made', last_name: 'InA' } });
    expect(created.body.org_id).toBe(orgA);
    const seenFromB = await h.call('GET', `/api/contacts/${created.body.id}`, { token: inB });
    expect(seenFromB.status).toBe(404);
    expect((await h.call('GET', `/api/contacts/${B.contact}`, { token: inB })).status).toBe(200);
    // a login for an organization one does not belong to is refused
    const outsider = await h.call('POST', '/api/auth/login', { body: { email: 'alice@a.test', password: 'correct horse battery staple', org_id: orgB } });
    expect(outsider.status).toBe(403);
  });

  it("API keys and members of B are not visible to A", async () => {
    await createApiKey(h.db, { userId: b.id, orgId: orgB, name: 'b-bot' });
    const keys = await h.call('GET', '/api/keys', { token: a.token });
    expect(keys.body.data.map((k: { name: string }) => k.name)).toEqual(['a-bot']);
    const members = await h.call('GET', '/api/members', { token: a.token });
    expect(members.body.data.map((m: { email: string }) => m.email)).not.toContain('bob@b.test');
    const orgs = await h.call('GET', '/api/organizations', { token: a.token });
    expect(orgs.body.data.map((o: { id: string }) => o.id)).toEqual([orgA]);
  });
});
