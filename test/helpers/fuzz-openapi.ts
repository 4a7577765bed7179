/** The operations of the API's OpenAPI document, in the few terms the fuzz needs. */
export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  $ref?: string;
  [k: string]: unknown;
};

export interface FuzzParam {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface FuzzOperation {
  method: string;
  /** OpenAPI path template, e.g. /api/contacts/{id} */
  path: string;
  params: FuzzParam[];
  /** JSON body schema, when the operation takes a body */
  body?: JsonSchema;
  /** false for routes with `security: []` (login, refresh, health) */
  secured: boolean;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, { parameters?: (FuzzParam & { $ref?: string })[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> }; security?: unknown[] }>>;
  components?: { schemas?: Record<string, JsonSchema> };
  security?: unknown[];
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

function resolve(doc: OpenApiDoc, s: JsonSchema | undefined, depth = 0): JsonSchema {
  if (!s || typeof s !== 'object') return {};
  if (s.$ref && depth < 8) {
    const name = s.$ref.replace('#/components/schemas/', '');
    return resolve(doc, doc.components?.schemas?.[name], depth + 1);
  }
  if (depth >= 8) return s;
  const out: JsonSchema = { ...s };
  if (s.items) out.items = resolve(doc, s.items, depth + 1);
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, resolve(doc, v, depth + 1)]));
  return out;
}

export function readOperations(doc: OpenApiDoc): FuzzOperation[] {
  const ops: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const params = (op.parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: Boolean(p.required), schema: resolve(doc, p.schema) }));
      const json = op.requestBody?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        params,
        ...(json ? { body: resolve(doc, json) } : {}),
        secured: (op.security ?? doc.security ?? []).length > 0,
      });
    }
  }
  return ops;
}
