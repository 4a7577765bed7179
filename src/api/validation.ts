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

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply `text` nests, stopping as soon as it passes `limit`: a linear scan that skips
 * strings, so a body nested 20,000 deep is refused before anything recursive (the parser, the
 * validator, serialisation) sees it.
 */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

export interface InputProblem {
  path: string;
  message: string;
}

/**
 * The first value PostgreSQL could not take as it is: a string or key with a NUL character
 * (text and jsonb cannot hold U+0000), or a number JSON could only read as Infinity (1e309, a
 * very long run of digits). `where` names the part: body, querystring, params.
 */
export function inputProblem(value: unknown, where: string): InputProblem | undefined {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: where }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { path, message: 'must not contain NUL characters (\\u0000)' };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path, message: 'is a number too large to store' };
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: `${path}.${i}` }));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return { path, message: 'has a field name with a NUL character (\\u0000)' };
        stack.push({ v: x, path: `${path}.${k}` });
      }
    }
  }
  return undefined;
}
