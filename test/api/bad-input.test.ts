import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineName } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

describe(`API bad input: a helpful 4xx, never a 5xx, nothing written (${engineName})`, () => {
  let h: ApiHarness;
  let token: string;
  let contact: string;
  const counts = async () => {
    const { rows } = await h.db.query<{ c: number; t: number; d: number; a: number }>(
      `SELECT (SELECT count(*)::int FROM contacts) AS c, (SELECT count(*)::int FROM tasks) AS t,
              (SELECT count(*)::int FROM deals) AS d, (SELECT count(*)::int FROM audit_log WHERE entity_type IN ('contacts', 'tasks', 'deals')) AS a`);
    return rows[0]!;
  };

  beforeAll(async () => {
    h = await startApi({ bodyLimit: 64 * 1024 });
    const org = await h.org('Acme');
    token = (await h.user(org, 'owner@acme.test', 'owner')).token;
    contact = (await h.call('POST', '/api/contacts', { token, body: { first_name: 'Kept', last_name: 'Safe' } })).body.id;
  });
  afterAll(() => h.close());

  const cases: { name: string; method: string; path: () => string; body?: unknown; raw?: string; headers?: Record<string, string>; status: number; code: string; message: RegExp }[] = [
    { name: 'wrong type', method: 'POST', path: () => '/api/contacts', body: { first_name: 42, last_name: 'X' }, status: 400, code: 'validation_failed', message: /body\.first_name: must be string/ },
    { name: 'string for a number', method: 'POST', path: () => '/api/deals', body: { name: 'D', amount_cents: '100' }, status: 400, code: 'validation_failed', message: /amount_cents: must be integer/ },
    { name: 'unknown field', method: 'POST', path: () => '/api/contacts', body: { first_name: 'A', last_name: 'B', is_admin: true }, status: 400, code: 'validation_failed', message: /unknown field "is_admin"/ },
    { name: 'server-managed field', method: 'PATCH', path: () => `/api/contacts/${contact}`, body: { org_id: '00000000-0000-4000-8000-000000000001' }, status: 400, code: 'validation_failed', message: /unknown field "org_id"/ },
    { name: 'missing required field', method: 'POST', path: () => '/api/tasks', body: { description: 'no title' }, status: 400, code: 'validation_failed', message: /missing required field "title"/ },
    { name: 'value outside the allowed set', method: 'POST', path: () => '/api/tasks', body: { title: 'T', status: 'bogus' }, status: 400, code: 'validation_failed', message: /must be one of: todo, doing, done/ },
    { name: 'too long', method: 'POST', path: () => '/api/deals', body: { name: 'D', currency: 'EURO' }, status: 400, code: 'validation_failed', message: /currency: must NOT have more than 3 characters/ },
    { name: 'bad date', method: 'POST', path: () => '/api/tasks', body: { title: 'T', due_date: 'tomorrow' }, status: 400, code: 'validation_failed', message: /due_date: must match format "date-time"/ },
    { name: 'empty change', method: 'PATCH', path: () => `/api/contacts/${contact}`, body: {}, status: 400, code: 'validation_failed', message: /must NOT have fewer than 1 properties/ },
    { name: 'a CHECK the schema enforces', method: 'POST', path: () => '/api/deals', body: { name: 'D', deal_score: 500 }, status: 422, code: 'check_failed', message: /deal_score/ },
    { name: 'malformed JSON', method: 'POST', path: () => '/api/contacts', raw: '{"first_name": "A", ', status: 400, code: 'invalid_json', message: /not valid JSON/ },
    { name: 'JSON of the wrong shape', method: 'POST', path: () => '/api/contacts', raw: '["first_name"]', status: 400, code: 'validation_failed', message: /must be object/ },
    { name: 'not JSON at all', method: 'POST', path: () => '/api/contacts', raw: 'first_name=A', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type', message: /application\/json/ },
    { name: 'oversized body', method: 'POST', path: () => '/api/contacts', body: { first_name: 'A', last_name: 'B', notes: 'x'.repeat(100 * 1024) }, status: 413, code: 'body_too_large', message: /too large/ },
    { name: 'SQL in an id', method: 'GET', path: () => `/api/contacts/${encodeURIComponent("1' OR '1'='1")}`, status: 400, code: 'validation_failed', message: /params\.id: must match format "uuid"/ },
    { name: 'SQL in the sort', method: 'GET', path: () => `/api/contacts?sort=${encodeURIComponent('created_at; DROP TABLE contacts; --')}`, status: 400, code: 'validation_failed', message: /sort: must be one of/ },
    { name: 'SQL as a filter name', method: 'GET', path: () => `/api/contacts?${encodeURIComponent('1=1 OR org_id')}=x`, status: 400, code: 'validation_failed', message: /unknown field/ },
    { name: 'SQL in a uuid filter', method: 'GET', path: () => `/api/contacts?company_id=${encodeURIComponent("' OR 1=1 --")}`, status: 400, code: 'validation_failed', message: /company_id: must match format "uuid"/ },
    { name: 'a cursor that was never issued', method: 'GET', path: () => `/api/contacts?cursor=${encodeURIComponent("'; DELETE FROM contacts; --")}`, status: 400, code: 'bad_request', message: /cursor/ },
    { name: 'too many rows asked for', method: 'GET', path: () => '/api/contacts?limit=100000', status: 400, code: 'validation_failed', message: /limit: must be <= 200/ },
    { name: 'unknown route', method: 'GET', path: () => '/api/nothing-here', status: 404, code: 'no_route', message: /no route GET \/api\/nothing-here/ },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await counts();
      const r = await h.call(c.method, c.path(), { token, body: c.body, raw: c.raw, headers: c.headers });
      expect(r.status, JSON.stringify(r.body)).toBe(c.status);
      expect(r.body.error.code).toBe(c.code);
      expect(r.body.error.message).toMatch(c.message);
      expect(r.body.error.request_id).toBe(r.headers.get('x-request-id'));
      expect(await counts()).toEqual(before);
    });
  }

  it('SQL-looking text is data: stored verbatim, searched literally, nothing else happens', async () => {
    const evil = "Robert'); DROP TABLE contacts; --";
    const made = await h.call('POST', '/api/contacts', { token, body: { first_name: evil, last_name: '%_\\' } });
    expect(made.status).toBe(201);
    expect(made.body.first_name).toBe(evil);
    const found = await h.call('GET', `/api/contacts?q=${encodeURIComponent("'); DROP")}`, { token });
    expect(found.body.data.map((c: { id: string }) => c.id)).toEqual([made.body.id]);
    const wildcard = await h.call('GET', `/api/contacts?q=${encodeURIComponent('%_')}`, { token });
    expect(wildcard.body.data.map((c: { id: string }) => c.id)).toEqual([made.body.id]);
    const literal = await h.call('GET', `/api/contacts?email=${encodeURIComponent("' OR '1'='1")}`, { token });
    expect(literal.status).toBe(200);
    expect(literal.body.data).toEqual([]);
    expect((await h.db.query(`SELECT count(*)::int AS n FROM contacts`)).rows[0]).toEqual({ n: 2 });
  });

  it('no credential, or a made-up one, is a 401 before the body is looked at', async () => {
    const none = await h.call('POST', '/api/contacts', { raw: '{broken' });
    expect(none.status).toBe(401);
    const fake = await h.call('GET', '/api/contacts', { token: 'not-a-token' });
    expect(fake.status).toBe(401);
    const unknown = await h.call('GET', '/api/contacts', { token: 'rva_' + 'A'.repeat(43) });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toMatch(/sign in/);
  });
});
