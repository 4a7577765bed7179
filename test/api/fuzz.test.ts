import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth/keys.js';
import { RESOURCES } from '../../src/api/resource.js';
import { engineName } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { rawClient, type RawResponse } from '../helpers/fuzz-http.js';
import { readOperations, type FuzzOperation, type JsonSchema } from '../helpers/fuzz-openapi.js';
import { caseArbitrary, presentsCredential, toRawRequest, type Actor, type FuzzCase } from '../helpers/fuzz-requests.js';
import { compareSnapshots, snapshotAccounts, snapshotTenants, tenantTables, type TenantSnapshot } from '../helpers/fuzz-tenants.js';
import type { Pools } from '../helpers/fuzz-values.js';

/**
 * A generated fuzz of every route in the OpenAPI document: hostile path and query parameters,
 * schema-shaped bodies with boundary values and wrong types, broken JSON, wrong content types,
 * bad credentials and request ids, sent as organization A's admin, A's viewer and nobody.
 * FUZZ_RUNS sets the number of requests, FUZZ_SEED replays a run (printed when it fails).
 */
const RUNS = Number(process.env.FUZZ_RUNS || 2000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** What docs/api.md promises for request ids: the caller's own when it is a plain token, else one made up. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

interface Finding {
  what: string;
  status?: number;
  code?: string;
  method: string;
  route: string;
  request: string;
  response: string;
  serverError?: string;
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** Required fields only, with plain valid values: enough to create one row of a resource. */
function minimalBody(schema: JsonSchema, uuid: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of schema.required ?? []) {
    const p = schema.properties?.[k] ?? {};
    const types = Array.isArray(p.type) ? p.type : [p.type];
    if (p.enum?.length) out[k] = p.enum[0];
    else if (p.format === 'uuid') out[k] = uuid;
    else if (p.format === 'date-time') out[k] = k.startsWith('end') ? '2026-03-01T11:00:00Z' : '2026-03-01T10:00:00Z';
    else if (types.includes('integer') || types.includes('number')) out[k] = Math.max(p.minimum ?? 1, 1);
    else if (types.includes('boolean')) out[k] = true;
    else if (k === 'role') out[k] = 'user';
    else out[k] = `seed ${k}`;
  }
  return out;
}

describe(`fuzz of every API route (${engineName}); seed ${SEED}, ${RUNS} requests`, () => {
  let h: ApiHarness;
  let ops: FuzzOperation[];
  const orgs: Record<'A' | 'B', string> = { A: '', B: '' };
  const tokens: Record<Exclude<Actor, 'anon'>, string> = { admin: '', adminKey: '', viewer: '' };
  const actorEmail = { admin: 'admin@a.fuzz', viewer: 'viewer@a.fuzz' };
  const actorIds: string[] = [];
  const serverErrors = new Map<string, string>();
  const pools: Pools = { ids: [], emails: [], cursors: [], keys: ['robbie-bar', 'vengeance-local', 'home', 'morning'] };
  let tables: string[];
  let before: TenantSnapshot;
  let accountsBefore: string;
  let orgsBefore: Set<string>;

  beforeAll(async () => {
    // 5xx details come from the server's own error log, keyed by request id.
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          try {
            const e = JSON.parse(line) as { reqId?: string; err?: { message?: string; code?: string; stack?: string } };
            if (e.reqId) serverErrors.set(e.reqId, `${e.err?.code ?? ''} ${e.err?.message ?? line}`.trim());
          } catch {
            // not a JSON line
          }
        }
        done();
      },
    });
    h = await startApi({ logger: pino({ level: 'error', base: undefined }, sink) });
    ops = readOperations((await h.call('GET', '/openapi.json')).body);

    orgs.A = await h.org('Fuzz A');
    orgs.B = await h.org('Fuzz B');
    const admin = await h.user(orgs.A, actorEmail.admin, 'admin');
    const viewer = await h.user(orgs.A, actorEmail.viewer, 'viewer');
    const carol = await h.user(orgs.A, 'carol@a.fuzz', 'member');
    const bob = await h.user(orgs.B, 'bob@b.fuzz', 'owner');
    const dave = await h.user(orgs.B, 'dave@b.fuzz', 'member');
    actorIds.push(admin.id, viewer.id);
    tokens.admin = admin.token;
    tokens.viewer = viewer.token;
    tokens.adminKey = (await createApiKey(h.db, { userId: admin.id, orgId: orgs.A, name: 'fuzz key' })).key;
    const bKey = await createApiKey(h.db, { userId: bob.id, orgId: orgs.B, name: 'b key' });
    pools.ids.push(carol.id, bob.id, dave.id, bKey.info.id);
    pools.emails.push('carol@a.fuzz', 'bob@b.fuzz', 'dave@b.fuzz', actorEmail.viewer, 'nobody@nowhere.fuzz');

    // One row per resource in each organization (what the ids of the fuzz point at).
    for (const [org, token] of [['A', carol.token], ['B', bob.token]] as const) {
      const made: string[] = [];
      for (const op of ops.filter((o) => o.method === 'POST' && o.body && /^\/api\/[a-z/-]+$/.test(o.path) && !/auth|organizations|members|keys|deploys/.test(o.path))) {
        for (const uuid of [undefined, ...made]) {
          const r = await h.call('POST', op.path, { token, body: minimalBody(op.body!, uuid) });
          if (r.status === 201 && r.body?.id) {
            made.push(r.body.id);
            break;
          }
          if (!JSON.stringify(op.body?.required ?? []).includes('_id')) break;
        }
      }
      const conv = await h.call('POST', '/api/conversations', { token, body: { title: `talk ${org}` } });
      const msg = await h.call('POST', `/api/conversations/${conv.body.id}/messages`, { token, body: { role: 'user', content: `hi from ${org}` } });
      made.push(conv.body.id, msg.body.id);
      pools.ids.push(...made.filter(Boolean));
      for (const path of ['/api/contacts?limit=1', '/api/tasks?limit=1', '/api/members']) {
        const cur = (await h.call('GET', path, { token })).body?.next_cursor;
        if (cur) pools.cursors.push(cur);
      }
      for (const m of (await h.call('GET', '/api/members', { token })).body.data as { id: string; user_id?: string }[]) {
        if (!actorIds.includes(m.user_id ?? '')) pools.ids.push(m.id);
      }
    }
    pools.ids.push('00000000-0000-0000-0000-000000000000');
    if (!pools.cursors.length) pools.cursors.push('eyJ9');

    tables = await tenantTables(h.db);
    before = await snapshotTenants(h.db, tables);
    orgsBefore = new Set((await h.db.query<{ id: string }>('SELECT id FROM organizations')).rows.map((r) => r.id));
    accountsBefore = await snapshotAccounts(h.db, [...orgsBefore].filter((o) => o !== orgs.A));
  });
  afterAll(() => h?.close());

  it('a NUL character in a resource request is a 400 that names where it is (not a database error)', async () => {
    const cases: [string, string, unknown, string][] = [
      ['GET', '/api/contacts?email=a%00b', undefined, 'querystring.email'],
      ['GET', '/api/contacts?q=%00', undefined, 'querystring.q'],
      ['GET', '/api/personalities?slug=a%00b', undefined, 'querystring.slug'],
      ['GET', '/api/personalities/a%00b/state', undefined, 'params.id'],
      ['POST', '/api/contacts', { first_name: 'a\u0000', last_name: 'b' }, 'body.first_name'],
      ['POST', '/api/contacts', { first_name: 'a', last_name: 'b', tags: ['ok', '\u0000'] }, 'body.tags.1'],
      ['POST', '/api/tasks', { title: 't', metadata: { nested: { '\u0000': 1 } } }, 'body.metadata.nested'],
    ];
    for (const [method, path, body, at] of cases) {
      const r = await h.call(method, path, { token: tokens.admin, body });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/NUL character/) });
      expect(r.body.error.details[0].path).toBe(at);
    }
  });

  it('never answers 5xx, always with the error shape, never lets a bad credential or a viewer write', async () => {
    const client = rawClient(h.base);
    const findings: Finding[] = [];
    const statuses = new Map<number, number>();
    const resourceRoute = new RegExp(`^/api/(${RESOURCES.map((r) => r.path.replace(/\//g, '\\/')).join('|')})(/\\{id\\})?$`);

    /** Sessions and keys the fuzz itself ended (logout, refresh, key deletion) are made again. */
    const keepActorsAlive = async () => {
      for (const actor of ['admin', 'viewer', 'adminKey'] as const) {
        const me = await h.call('GET', '/api/me', { token: tokens[actor] });
        if (me.status === 200) continue;
        if (actor === 'adminKey') {
          const { rows } = await h.db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [actorEmail.admin]);
          tokens.adminKey = (await createApiKey(h.db, { userId: rows[0]!.id, orgId: orgs.A, name: 'fuzz key again' })).key;
        } else {
          // The fuzz's own failed sign-ins may have throttled the account: the harness signs in
          // afresh (throttling itself is tested in test/api/throttle.test.ts).
          await h.db.query('DELETE FROM auth_throttle');
          tokens[actor] = await h.login(actorEmail[actor], orgs.A);
        }
      }
    };

    const send = async (c: FuzzCase) => {
      const op = ops[c.op]!;
      const token = c.actor === 'anon' ? undefined : tokens[c.actor];
      const req = toRawRequest(c, op, token);
      let res: RawResponse;
      try {
        res = await client.send(req);
      } catch {
        // A kept-alive connection the server closed after the previous request's client error: once more on a new one.
        try {
          res = await client.send(req, { fresh: true });
        } catch (err) {
          findings.push({ what: `no response: ${(err as Error).message}`, method: op.method, route: op.path, request: clip(`${req.method} ${req.path}`), response: '' });
          return;
        }
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const problems: string[] = [];
      if (res.status >= 500) problems.push(`${res.status}`);
      if (res.status >= 400) {
        let body: { error?: { code?: unknown; message?: unknown; request_id?: unknown } } | undefined;
        try {
          body = JSON.parse(res.text);
        } catch {
          body = undefined;
        }
        const e = body?.error;
        if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || typeof e.request_id !== 'string') problems.push('error without the error shape');
        else if (!REQUEST_ID.test(e.request_id)) problems.push('request_id is not a request id: the x-request-id sent was used unchecked');
        else if (res.headers['x-request-id'] !== e.request_id) problems.push('request_id differs from the x-request-id header');
      }
      if (res.status < 300 && op.secured && !presentsCredential(c)) problems.push(`${res.status} without a valid credential (${c.actor}, ${c.auth})`);
      if (res.status < 300 && c.actor === 'viewer' && op.method !== 'GET' && resourceRoute.test(op.path)) problems.push(`${res.status}: a viewer wrote`);
      if (problems.length) {
        const rid = String(res.headers['x-request-id'] ?? '');
        let code: string | undefined;
        try {
          const b = JSON.parse(res.text) as { error?: unknown; code?: unknown };
          code = String((b.error as { code?: unknown } | undefined)?.code ?? b.code ?? b.error ?? '');
        } catch {
          code = undefined;
        }
        findings.push({
          what: problems.join('; '),
          status: res.status,
          code,
          method: op.method,
          route: op.path,
          request: clip(`${req.method} ${req.path} as ${c.actor} (auth ${c.auth}, content-type ${c.contentType ?? 'none'}) body ${c.body === undefined ? 'none' : clip(c.body, 200)}`, 600),
          response: clip(`${res.status} ${res.text}`),
          ...(serverErrors.has(rid) ? { serverError: clip(serverErrors.get(rid)!, 400) } : {}),
        });
      }
      if (res.status < 300 && /logout|refresh|\/keys|\/members|\/me$/.test(op.path) && op.method !== 'GET') await keepActorsAlive();
    };

    await fc.assert(fc.asyncProperty(caseArbitrary(ops, pools), async (c) => { await send(c); }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
    client.close();

    // Every route was tried, more than once.
    const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`fuzz (${engineName}, seed ${SEED}): ${RUNS} requests over ${ops.length} operations; statuses ${summary}`);
    // One entry per kind of problem (status and error code), with the routes it was seen on.
    const distinct = new Map<string, Finding & { count: number; routes: Set<string> }>();
    for (const f of findings) {
      const key = f.what.startsWith('request_id') ? f.what : `${f.what.replace(/\(.*\)/g, '')} ${f.status} ${f.code} ${f.status && f.status >= 500 ? `${f.serverError ?? ''} ${f.method} ${f.route}` : ''}`;
      const seen = distinct.get(key);
      if (seen) {
        seen.count++;
        seen.routes.add(`${f.method} ${f.route}`);
      } else distinct.set(key, { ...f, count: 1, routes: new Set([`${f.method} ${f.route}`]) });
    }
    const report = [...distinct.values()]
      .map((f) => `- ${f.what} (${f.count}×; ${[...f.routes].slice(0, 6).join(', ')}${f.routes.size > 6 ? `, … ${f.routes.size} routes` : ''})\n    request:  ${f.request}\n    response: ${f.response}${f.serverError ? `\n    server:   ${f.serverError}` : ''}`)
      .join('\n');
    expect(findings.length, `replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}\n${report}`).toBe(0);
  });

  it("left every other organization's rows as they were; what it created is in A or in organizations it founded", async () => {
    const after = await snapshotTenants(h.db, tables);
    const orgsAfter = (await h.db.query<{ id: string }>('SELECT id FROM organizations')).rows.map((r) => r.id);
    const founded = new Set(orgsAfter.filter((o) => !orgsBefore.has(o)));
    const report = compareSnapshots(before, after, orgs.A, founded);
    expect(report.changedElsewhere, `seed ${SEED}`).toEqual([]);
    expect(report.strayRows, `seed ${SEED}`).toEqual([]);
    expect(await snapshotAccounts(h.db, [...orgsBefore].filter((o) => o !== orgs.A)), `seed ${SEED}: organizations or users of other organizations changed`).toBe(accountsBefore);
    // Organizations founded during the run (POST /api/organizations) have only A's fuzzing users as members.
    if (founded.size) {
      const { rows } = await h.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM organization_memberships WHERE org_id = ANY($1::uuid[])', [[...founded]]);
      expect(rows.map((r) => r.user_id).filter((u) => !actorIds.includes(u)), `seed ${SEED}`).toEqual([]);
    }
    // The fuzz did write: the run is not vacuous.
    expect(report.addedInCaller + report.addedInFounded).toBeGreaterThan(0);
  });
});
