import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

function make(opts: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, removeAdditional: false, useDefaults: true, ...opts });
  addFormats(ajv);
  return ajv;
}

/**
 * Bodies are checked exactly as sent: no type coercion (a "12" is not an integer) and unknown
 * fields are errors, not silently dropped. Query strings and path parameters are text by nature,
 * so they are coerced to the declared types.
 */
export function validatorCompiler(): FastifySchemaCompiler<Record<string, unknown>> {
  const strict = make({ coerceTypes: false });
  const coercing = make({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object) as ReturnType<FastifySchemaCompiler<Record<string, unknown>>>;
}
