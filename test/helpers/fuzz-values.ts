import fc from 'fast-check';
import type { JsonSchema } from './fuzz-openapi.js';

/** Strings that have broken parsers, SQL and encodings before. */
export const HOSTILE_STRINGS: string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(8),
  "'",
  "' OR '1'='1",
  "'; DROP TABLE contacts; --",
  '"); SELECT pg_sleep(0); --',
  '$1',
  '%',
  '_',
  '%_%',
  '\\',
  '\\x00',
  '\\u0000',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  'null',
  'undefined',
  'true',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e999',
  '-0',
  '99999999999999999999999999',
  '[]',
  '{}',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '00000000-0000-0000-0000-00000000000g',
  '{00000000-0000-0000-0000-000000000000}',
  '2024-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '275760-09-13T00:00:00.000Z',
  'infinity',
  '-infinity',
  'epoch',
  'now',
  '\uD800',
  '\uDFFF\uD800',
  '\uFEFF',
  '\u202Eevil',
  'Ünïcödé ✓ 🦄 𝔘',
  '\u0301\u0301\u0301',
  'e\u0301',
  '\r\n\r\n',
  '\t',
  'x'.repeat(256),
  'é'.repeat(5000),
  'a'.repeat(100_001),
];

/** Literal path segments that are sent without percent-encoding (they must stay valid in a request line). */
export const RAW_PATH_SEGMENTS = ['%00', '%', '%zz', '%2e%2e', '..', '.', 'a%2Fb', '%2F', '%u0000', '%C0%AF', '%FF%FE', ';', ',', '*', '~', '%20', '+', '@', "'", 'x'.repeat(5000)];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  // NUL inside otherwise ordinary text: PostgreSQL text and jsonb cannot hold it
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

/** A number that sits on an edge: type limits, floats where integers are expected, huge magnitudes. */
export const edgeNumber = fc.constantFrom(0, -0, 1, -1, 0.5, -0.5, 2147483647, 2147483648, -2147483648, -2147483649, 9007199254740991, 9007199254740993, -9007199254740993, 1e21, 1e308, -1e308, 5e-324, 1.7976931348623157e308, 32767, 32768, 65536, 1e15 + 0.3);

export const anyJson = fc.jsonValue({ maxDepth: 3 });

/** A value of some other JSON type than the schema asks for. */
export const confusedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  edgeNumber,
  hostileString,
  fc.constant([]),
  fc.constant({}),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.constant(nested(50)),
);

/** `depth` levels of arrays and objects, alternating. */
export function nested(depth: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** Values the fuzz may use where the schema wants a uuid: rows of both organizations, and others. */
export interface Pools {
  ids: string[];
  emails: string[];
  cursors: string[];
  keys: string[];
}

function typesOf(s: JsonSchema): string[] {
  if (Array.isArray(s.type)) return s.type;
  if (typeof s.type === 'string') return [s.type];
  return [];
}

function stringFor(s: JsonSchema, pools: Pools): fc.Arbitrary<string> {
  const max = s.maxLength ?? 200;
  const min = s.minLength ?? 0;
  const edges: string[] = [];
  if (max <= 5000) edges.push('y'.repeat(max), 'y'.repeat(max + 1), '€'.repeat(max));
  if (min > 0) edges.push('y'.repeat(min - 1), 'y'.repeat(min));
  const base: fc.Arbitrary<string>[] = [fc.string({ minLength: Math.min(min, 50), maxLength: Math.max(Math.min(max, 50), Math.min(min, 50)) })];
  if (s.format === 'uuid') base.push(fc.constantFrom(...pools.ids), fc.constantFrom(...pools.ids), fc.uuid());
  if (s.format === 'date-time' || s.format === 'date') {
    base.push(
      fc.date({ min: new Date(-62135596800000), max: new Date(253402300799999), noInvalidDate: true }).map((d) => (s.format === 'date' ? d.toISOString().slice(0, 10) : d.toISOString())),
      fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-01', '2026-13-01T00:00:00Z', '1970-01-01T00:00:00+14:00', '2026-06-01T25:61:61Z'),
    );
  }
  if (s.format === 'email' || /email/.test(String(s.description ?? ''))) base.push(fc.emailAddress(), fc.constantFrom(...pools.emails));
  return fc.oneof(
    { weight: 8, arbitrary: fc.oneof(...base) },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: edges.length ? fc.constantFrom(...edges) : hostileString },
  );
}

function numberFor(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const lo = s.minimum ?? -1e9;
  const hi = s.maximum ?? 1e9;
  const inRange = integer ? fc.integer({ min: Math.max(lo, -2147483648), max: Math.min(hi, 2147483647) }) : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
  const edges = [lo, hi, lo - 1, hi + 1, lo + 0.5].filter((n) => Number.isFinite(n));
  return fc.oneof({ weight: 5, arbitrary: inRange }, { weight: 2, arbitrary: fc.constantFrom(...edges) }, { weight: 2, arbitrary: edgeNumber });
}

/**
 * A value shaped like the schema, mostly valid, often on a boundary, sometimes of the wrong type.
 * `depth` bounds the recursion into objects and arrays.
 */
export function valueFor(s: JsonSchema, pools: Pools, depth = 0): fc.Arbitrary<unknown> {
  const shaped = shapedFor(s, pools, depth);
  return fc.oneof({ weight: depth === 0 ? 8 : 20, arbitrary: shaped }, { weight: 1, arbitrary: confusedValue });
}

function shapedFor(s: JsonSchema, pools: Pools, depth: number): fc.Arbitrary<unknown> {
  if (s.enum?.length) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...s.enum) }, { weight: 1, arbitrary: hostileString });
  const types = typesOf(s);
  if (types.length === 0) {
    // an untyped (json/jsonb) field: anything, including deep nesting
    return fc.oneof({ weight: 4, arbitrary: anyJson }, { weight: 1, arbitrary: fc.constantFrom(nested(10), nested(200), nested(2000)) });
  }
  const arbs = types.map((t): fc.Arbitrary<unknown> => {
    switch (t) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return numberFor(s, true);
      case 'number':
        return numberFor(s, false);
      case 'string':
        return stringFor(s, pools);
      case 'array': {
        const item = depth > 3 ? anyJson : valueFor(s.items ?? {}, pools, depth + 1);
        const over = s.maxItems !== undefined && s.maxItems <= 2000 ? fc.constant(Array.from({ length: s.maxItems + 1 }, () => 't')) : fc.constant([]);
        return fc.oneof({ weight: 5, arbitrary: fc.array(item, { maxLength: 4 }) }, { weight: 1, arbitrary: over });
      }
      case 'object':
        return depth > 3 ? fc.dictionary(fc.string({ maxLength: 5 }), anyJson, { maxKeys: 3 }) : objectFor(s, pools, depth);
      default:
        return anyJson;
    }
  });
  return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
}

function objectFor(s: JsonSchema, pools: Pools, depth: number): fc.Arbitrary<unknown> {
  const props = s.properties ?? {};
  const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v, pools, depth + 1)]));
  const required = (s.required ?? []).filter((k) => k in props);
  const rec = fc.record(model, { requiredKeys: required });
  const extra = fc.dictionary(fc.oneof(hostileString, fc.constantFrom('org_id', 'id', '__proto__', 'constructor', 'created_by', 'user_id')), anyJson, { maxKeys: 2 });
  return fc.oneof(
    { weight: 6, arbitrary: rec },
    // everything optional: often misses required fields
    { weight: 2, arbitrary: fc.record(model, { requiredKeys: [] }) },
    // unknown keys, and the tenant columns a caller must never set
    { weight: 2, arbitrary: fc.tuple(rec, extra).map(([a, b]) => ({ ...(a as object), ...b })) },
  );
}
