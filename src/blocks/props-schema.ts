/**
 * A component's props_schema as people write it. A JSON Schema is used as it is; a plain map of
 * properties (`{"greeting": {"type": "string"}}`: no "type", no "properties", every value a
 * schema object) is read as the properties of an object schema, additional props allowed.
 */

// Object-valued keywords that make the top level a schema, not a map of props. (Other keywords,
// such as "type", "required" or "$schema", have non-object values, which a map never has; a
// prop may well be called "items" or "title", so those names do not count.)
const SCHEMA_MARKERS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);

const plainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function isPropertyMap(schema: unknown): schema is Record<string, Record<string, unknown>> {
  if (!plainObject(schema)) return false;
  const keys = Object.keys(schema);
  return keys.length > 0 && !keys.some((k) => SCHEMA_MARKERS.has(k)) && keys.every((k) => plainObject(schema[k]));
}

/** The JSON Schema the props are validated against. */
export function propsJsonSchema(schema: unknown): unknown {
  return isPropertyMap(schema) ? { type: 'object', properties: schema } : schema;
}
