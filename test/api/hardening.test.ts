import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { releaseSite } from '../../src/blocks/serve.js';
import { engineName, tmpDir } from '../helpers/db.js';
import { startApi, type ApiHarness } from '../helpers/api.js';

/** Security headers every response carries (API, /docs, sites). */
function expectSecurityHeaders(h: Headers | Record<string, unknown>) {
  const get = (k: string) => (h instanceof Headers ? h.get(k) : (h[k] as string | undefined));
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('x-frame-options')).toBe('DENY');
  expect(get('referrer-policy')).toBe('no-referrer');
  const csp = get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-eval');
}

describe(`API hardening: no 5xx for hostile input, security headers, CORS (${engineName})`, () => {
  let h: ApiHarness;
  let token: string;
  const counts = async () => {
    const { rows } = await h.db.query<{ c: number; d: number; t: number; u: number; k: number; s: number; a: number }>(
      `SELECT (SELECT count(*)::int FROM contacts) AS c, (SELECT count(*)::int FROM deals) AS d, (SELECT count(*)::int FROM tasks) AS t, (SELECT count(*)::int FROM ai_model_usage) AS u, (SELECT count(*)::int FROM api_keys) AS k,
              (SELECT count(*)::int FROM user_sessions) AS s, (SELECT count(*)::int FROM audit_log) AS a`);
    return rows[0]!;
  };

  beforeAll(async () => {
    h = await startApi({ corsOrigins: ['https://app.example', 'http://localhost:5173/'] });
    const org = await h.org('Acme');
    token = (await h.user(org, 'owner@acme.test', 'owner')).token;
    await h.call('POST', '/api/contacts', { token, body: { first_name: 'Kept', last_name: 'Safe' } });
  });
  afterAll(() => h.close());

  /** A task whose metadata nests `n` objects deep: the body is n + 1 levels. */
  const deep = (n: number) => '{"title":"T","metadata":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}';
  const cases: { name: string; method: string; path: string; raw?: string; body?: unknown; auth?: boolean; status: number; code: string; message: RegExp }[] = [
    { name: 'NUL in a query parameter', method: 'GET', path: '/api/contacts?q=%00', status: 400, code: 'validation_failed', message: /querystring\.q: must not contain NUL/ },
    { name: 'NUL in a filter', method: 'GET', path: '/api/contacts?first_name=a%00b', status: 400, code: 'validation_failed', message: /querystring\.first_name/ },
    { name: 'NUL in a path parameter', method: 'GET', path: '/api/robbieblocks/page/a%00b?node_id=vengeance-local', status: 400, code: 'validation_failed', message: /params\.key: must not contain NUL/ },
    { name: 'NUL in a body string', method: 'POST', path: '/api/contacts', raw: '{"first_name":"A\\u0000","last_name":"B"}', status: 400, code: 'validation_failed', message: /body\.first_name: must not contain NUL/ },
    { name: 'NUL in a JSON field name', method: 'POST', path: '/api/tasks', raw: '{"title":"T","metadata":{"x\\u0000":1}}', status: 400, code: 'validation_failed', message: /body\.metadata: has a field name with a NUL/ },
    { name: 'NUL in a login e-mail', method: 'POST', path: '/api/auth/login', raw: '{"email":"owner@acme.test\\u0000","password":"whatever it is"}', auth: false, status: 400, code: 'validation_failed', message: /body\.email: must not contain NUL/ },
    { name: 'JSON nested 20,000 deep', method: 'POST', path: '/api/tasks', raw: deep(20_000), status: 400, code: 'too_deep', message: /more than 64 levels/ },
    { name: 'JSON nested 65 deep', method: 'POST', path: '/api/tasks', raw: deep(64), status: 400, code: 'too_deep', message: /more than 64 levels/ },
    { name: 'a __proto__ key (prototype poisoning)', method: 'POST', path: '/api/contacts', raw: '{"first_name":"A","last_name":"B","__proto__":{"x":1}}', status: 400, code: 'invalid_json', message: /not valid JSON/ },
    { name: '1e309 for an integer column', method: 'POST', path: '/api/deals', raw: '{"name":"D","amount_cents":1e309}', status: 400, code: 'validation_failed', message: /body\.amount_cents: is a number too large/ },
    { name: '400 digits for an integer column', method: 'POST', path: '/api/deals', raw: `{"name":"D","amount_cents":${'9'.repeat(400)}}`, status: 400, code: 'validation_failed', message: /body\.amount_cents/ },
    { name: '2^63 for a bigint column', method: 'POST', path: '/api/deals', raw: '{"name":"D","amount_cents":9223372036854775808}', status: 400, code: 'validation_failed', message: /body\.amount_cents/ },
    { name: '2^63 for an integer column', method: 'POST', path: '/api/deals', raw: '{"name":"D","deal_score":9223372036854775808}', status: 400, code: 'validation_failed', message: /body\.deal_score/ },
    { name: '1e309 for a numeric column', method: 'POST', path: '/api/ai-usage', raw: '{"model_name":"m","model_provider":"p","cost_usd":1e309}', status: 400, code: 'validation_failed', message: /body\.cost_usd: is a number too large/ },
    { name: '1e300 for a numeric(10,6) column', method: 'POST', path: '/api/ai-usage', raw: '{"model_name":"m","model_provider":"p","cost_usd":1e300}', status: 400, code: 'bad_value', message: /numeric field overflow/ },
    { name: '1e309 in a query filter', method: 'GET', path: '/api/deals?amount_cents=1e309', status: 400, code: 'validation_failed', message: /amount_cents/ },
    { name: 'a long run of digits in a query filter', method: 'GET', path: `/api/deals?deal_score=${'9'.repeat(400)}`, status: 400, code: 'validation_failed', message: /deal_score/ },
    { name: 'an API key that expired yesterday', method: 'POST', path: '/api/keys', body: { name: 'old', expires_at: new Date(Date.now() - 86_400_000).toISOString() }, status: 400, code: 'bad_request', message: /expires_at .* is in the past/ },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}, nothing written`, async () => {
      const before = await counts();
      const r = await h.call(c.method, c.path, { token: c.auth === false ? undefined : token, raw: c.raw, body: c.body });
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(c.status);
      expect(r.body.error.code).toBe(c.code);
      expect(r.body.error.message).toMatch(c.message);
      expect(r.body.error.request_id).toBe(r.headers.get('x-request-id'));
      expect(await counts()).toEqual(before);
    });
  }

  it('64 levels of nesting are still accepted', async () => {
    const r = await h.call('POST', '/api/tasks', { token, raw: deep(63) });
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(201);
  });

  it('security headers on the API, its errors, /docs and /openapi.json', async () => {
    for (const p of ['/api/health', '/api/contacts', '/api/nothing-here', '/docs', '/docs/static/index.html', '/openapi.json']) {
      const r = await fetch(h.base + p, { redirect: 'manual' });
      expect(r.status, p).toBeLessThan(500);
      expectSecurityHeaders(r.headers);
    }
  });

  it('the reference at /docs loads only scripts of its own origin (allowed by the CSP)', async () => {
    const res = await fetch(h.base + '/docs/static/index.html');
    const html = await res.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\.?\/?[^":]*"/); // relative: same origin
      expect(body!.trim()).toBe(''); // no inline script
    }
  });

  it('CORS: a preflight from a configured origin is answered with the methods and headers the API uses', async () => {
    for (const origin of ['https://app.example', 'http://localhost:5173']) {
      const r = await fetch(h.base + '/api/contacts/00000000-0000-4000-8000-000000000009', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(r.status).toBe(204);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
      expect(r.headers.get('access-control-allow-methods')).toContain('PATCH');
      expect(r.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    }
    const get = await fetch(h.base + '/api/health', { headers: { origin: 'https://app.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(get.headers.get('access-control-expose-headers')).toContain('x-request-id');
  });

  it('CORS: a preflight from any other origin is refused (403, no allow-origin)', async () => {
    const r = await h.call('OPTIONS', '/api/contacts', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('cors_refused');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(h.base + '/api/health', { headers: { origin: 'https://evil.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  describe('a node site', () => {
    let site: FastifyInstance;
    let deployRoot: string;
    beforeAll(async () => {
      deployRoot = tmpDir('rv-hardening-site-');
      const dir = path.join(deployRoot, 'vengeance-local', 'play', 'releases', '20260101T000000000Z-aaaaaaaa');
      fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><head><script type="module" src="/assets/app.js"></script></head><body><div id="root"></div></body></html>');
      fs.writeFileSync(path.join(dir, 'assets', 'app.js'), 'document.getElementById("root").textContent = "hi";');
      fs.writeFileSync(path.join(dir, 'robbieblocks-release.json'), '{}');
      fs.symlinkSync(path.join('releases', path.basename(dir)), path.join(deployRoot, 'vengeance-local', 'play', 'current'));
      // as startNodeSites builds each listener: the API with the release at /
      site = await createApiServer({ db: h.db, blocks: { deployRoot } });
      await site.register(releaseSite, { deployRoot, node: 'vengeance-local', app: 'play', exclude: ['/api/', '/docs', '/openapi.json'] });
    });
    afterAll(async () => {
      await site?.close();
      fs.rmSync(deployRoot, { recursive: true, force: true });
    });

    it('pages, assets, deep links and missing files carry the security headers', async () => {
      for (const url of ['/', '/assets/app.js', '/some/deep/link', '/missing.png']) {
        const r = await site.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBeLessThan(500);
        expectSecurityHeaders(r.headers);
      }
      expect((await site.inject({ method: 'GET', url: '/' })).body).toContain('id="root"');
    });

    it('a NUL in a site path is a 400, not a server error', async () => {
      const r = await site.inject({ method: 'GET', url: '/a%00b' });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('validation_failed');
    });
  });
});
