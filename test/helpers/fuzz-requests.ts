import fc from 'fast-check';
import type { FuzzOperation } from './fuzz-openapi.js';
import type { RawRequest } from './fuzz-http.js';
import { HOSTILE_STRINGS, RAW_PATH_SEGMENTS, hostileString, nested, valueFor, type Pools } from './fuzz-values.js';

export type Actor = 'admin' | 'adminKey' | 'viewer' | 'anon';

/** What the fuzz decided to send, before credentials are filled in (so a failure can be printed and replayed by seed). */
export interface FuzzCase {
  op: number;
  actor: Actor;
  /** how the credential is presented: 'bearer' is the normal form */
  auth: string;
  requestId: string | string[] | undefined;
  path: string;
  query: string;
  contentType: string | undefined;
  body: string | undefined;
}

/** Header values Node's http client accepts (it refuses control characters outside tab). */
function headerSafe(s: string): string {
  return s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

const AUTH_FORMS = ['bearer', 'bearer', 'bearer', 'bearer', 'bearer', 'bearer', 'lowercase', 'bare', 'padded', 'suffix', 'truncated', 'basic', 'empty-bearer', 'empty', 'random-access', 'random-key', 'huge', 'latin1', 'double', 'refresh-like', 'sql', 'x-api-key', 'x-api-key-junk'];

const REQUEST_IDS: (string | string[] | undefined)[] = [undefined, undefined, undefined, 'fuzz-1', '', ' ', 'a'.repeat(64), 'a'.repeat(65), 'x'.repeat(9000), 'id with spaces', '../../etc', '<script>', 'a,b', '\u00e9\u00ff', "'; DROP TABLE users; --", ['one', 'two'], '%00'];

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1', 'application/vnd.api+json', 'APPLICATION/JSON', ''];

const RAW_BODIES = ['', '{', '}', '[', 'null', 'true', '0', '"x"', '[]', '{"a":}', '{"a":1,}', "{'a':1}", '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '\u0000', '{"x":"\u0000"}', '{"x":"\\u0000"}', '{"x":1e400}', '{"x":-1e400}', '{"limit":123456789012345678901234567890}', '\uFEFF{}', '{"a":1}{"b":2}', 'x'.repeat(2000)];

/** Values in query strings: shaped by the parameter's schema, hostile, or JSON of something else. */
function queryValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as any client would send it). */
function pct(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function encodePathValue(v: { kind: 'value'; s: unknown } | { kind: 'raw'; s: string }): string {
  if (v.kind === 'raw') return v.s;
  return pct(queryValue(v.s));
}

/** Turns huge-number placeholders into number literals JSON.stringify cannot write. */
function withHugeNumbers(json: string, on: boolean): string {
  if (!on) return json;
  let n = 0;
  return json.replace(/(:)(-?\d+(?:\.\d+)?)([,}])/g, (m, a: string, _num: string, b: string) => (n++ % 2 === 0 ? `${a}1e400${b}` : `${a}123456789012345678901234567890${b}`));
}

export function caseArbitrary(ops: FuzzOperation[], pools: Pools): fc.Arbitrary<FuzzCase> {
  const perOp = ops.map((op, index) => opArbitrary(op, index, pools));
  return fc.integer({ min: 0, max: ops.length - 1 }).chain((i) => perOp[i]!);
}

function opArbitrary(op: FuzzOperation, index: number, pools: Pools): fc.Arbitrary<FuzzCase> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const pathValue = (schema: FuzzOperation['params'][number]['schema']) =>
    fc.oneof(
      { weight: 6, arbitrary: valueFor(schema, pools).map((s) => ({ kind: 'value' as const, s })) },
      { weight: 2, arbitrary: hostileString.map((s) => ({ kind: 'value' as const, s })) },
      { weight: 1, arbitrary: fc.constantFrom(...pools.keys).map((s) => ({ kind: 'value' as const, s })) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_PATH_SEGMENTS).map((s) => ({ kind: 'raw' as const, s })) },
    );
  const path = fc.tuple(...pathParams.map((p) => pathValue(p.schema))).map((values) => {
    let out = op.path;
    pathParams.forEach((p, i) => {
      out = out.replace(`{${p.name}}`, encodePathValue(values[i]!));
    });
    return out;
  });

  const specQuery = fc.tuple(
    ...queryParams.map((p) =>
      fc.option(
        p.name === 'cursor'
          ? fc.oneof(fc.constantFrom(...pools.cursors), hostileString, fc.base64String({ maxLength: 60 }))
          : valueFor(p.schema, pools).map(queryValue),
        { freq: 2 },
      ).map((v) => (v === null ? [] : [[p.name, v] as [string, string]])),
    ),
  );
  const extraQuery = fc.oneof({ weight: 4, arbitrary: fc.constant([] as [string, string][]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(hostileString, fc.constantFrom('limit', 'sort', 'order', 'org_id', 'id', 'cursor', 'q')), hostileString), { maxLength: 2 }) });
  const query = fc.tuple(specQuery, extraQuery, fc.boolean()).map(([spec, extra, repeat]) => {
    const pairs = [...spec.flat(), ...extra];
    if (repeat && pairs.length) pairs.push(pairs[0]!); // ?limit=1&limit=1: arrays where a scalar is expected
    if (!pairs.length) return '';
    return '?' + pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
  });

  const jsonBody = op.body ? valueFor(op.body, pools) : fc.jsonValue({ maxDepth: 2 });
  const body = fc.oneof(
    { weight: op.body ? 10 : 1, arbitrary: fc.tuple(jsonBody, fc.boolean(), fc.nat(20)).map(([v, huge, r]) => ({ text: withHugeNumbers(JSON.stringify(v) ?? 'null', huge && r < 3), type: 'application/json' as string | undefined })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES).map((text) => ({ text, type: 'application/json' as string | undefined })) },
    { weight: 1, arbitrary: fc.constantFrom(1000, 20000, 200000).map((n) => ({ text: '['.repeat(n) + ']'.repeat(n), type: 'application/json' as string | undefined })) },
    { weight: 1, arbitrary: fc.constantFrom(50, 1000).map((n) => ({ text: JSON.stringify({ ...(op.body?.required?.length ? Object.fromEntries(op.body.required.map((k) => [k, nested(n)])) : { metadata: nested(n) }) }), type: 'application/json' as string | undefined })) },
    { weight: 1, arbitrary: fc.tuple(jsonBody, fc.constantFrom(...CONTENT_TYPES)).map(([v, type]) => ({ text: JSON.stringify(v) ?? 'null', type: type || undefined })) },
    { weight: op.body ? 1 : 6, arbitrary: fc.constant({ text: undefined as string | undefined, type: undefined as string | undefined }) },
  );

  return fc.record({
    op: fc.constant(index),
    actor: fc.constantFrom<Actor>('admin', 'admin', 'adminKey', 'viewer', 'viewer', 'anon'),
    auth: fc.oneof({ weight: 25, arbitrary: fc.constant('bearer') }, { weight: 10, arbitrary: fc.constantFrom(...AUTH_FORMS) }),
    requestId: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.constantFrom(...REQUEST_IDS) }, { weight: 1, arbitrary: hostileString.map(headerSafe) }),
    path,
    query,
    b: body,
  }).map(({ b, ...c }) => ({ ...c, contentType: b.type, body: b.text }));
}

/** The Authorization header for a case, given the actor's credential. */
export function authorizationFor(c: FuzzCase, token: string | undefined): string | undefined {
  const t = token ?? '';
  switch (c.auth) {
    case 'bearer': return token ? `Bearer ${t}` : undefined;
    case 'lowercase': return `bearer ${t}`;
    case 'bare': return t;
    case 'padded': return `Bearer   ${t}  `;
    case 'suffix': return `Bearer ${t}x`;
    case 'truncated': return `Bearer ${t.slice(0, -1)}`;
    case 'basic': return 'Basic YWRtaW5AbG9jYWxob3N0OnBhc3N3b3Jk';
    case 'empty-bearer': return 'Bearer ';
    case 'empty': return '';
    case 'random-access': return `Bearer rva_${'0'.repeat(43)}`;
    case 'random-key': return `Bearer rvk_deadbeef_${'f'.repeat(40)}`;
    case 'huge': return `Bearer rva_${'A'.repeat(16000)}`;
    case 'latin1': return `Bearer rva_\u00ff\u00fe\u00e9`;
    case 'double': return `Bearer ${t}, Bearer ${t}`;
    case 'refresh-like': return `Bearer rvr_${t.slice(4)}`;
    case 'sql': return `Bearer ${headerSafe(HOSTILE_STRINGS[6]!)}`;
    default: return undefined;
  }
}

/** True when the request carries the actor's credential in the accepted form. */
export function presentsCredential(c: FuzzCase): boolean {
  return c.actor !== 'anon' && (c.auth === 'bearer' || c.auth === 'lowercase' || c.auth === 'padded' || c.auth === 'x-api-key');
}

export function toRawRequest(c: FuzzCase, op: FuzzOperation, token: string | undefined): RawRequest {
  const headers: Record<string, string | string[]> = {};
  const auth = authorizationFor(c, token);
  if (c.auth === 'x-api-key' && token) headers['x-api-key'] = token;
  else if (c.auth === 'x-api-key-junk') headers['x-api-key'] = '  rvk_\u00ff  ';
  else if (auth !== undefined) headers.authorization = auth;
  if (c.requestId !== undefined) headers['x-request-id'] = c.requestId;
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  return { method: op.method, path: c.path + c.query, headers, ...(c.body !== undefined ? { body: Buffer.from(c.body, 'utf8') } : {}) };
}
