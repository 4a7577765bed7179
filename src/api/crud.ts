import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Queryable } from '../db/types.js';
import type { Role } from './auth/roles.js';
import { columnSchema, isFilterable, type ColumnInfo, type JsonSchema } from './catalog.js';
import { checkCursorOrg, decodeCursor, encodeCursor } from './cursor.js';
import { isScalar, type Scalar } from '../db/literal.js';
import type { Principal } from './auth/principal.js';
import { notFound } from './errors.js';
import type { RequestContext } from './request-context.js';
import type { Operation, ResourceDef } from './resource.js';

const SERVER_MANAGED = new Set(['id', 'org_id', 'created_at', 'updated_at']);
const ALL_OPS: Operation[] = ['list', 'get', 'create', 'update', 'delete'];
const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Registers list/get/create/update/delete routes for one table, with schemas from its columns. */
export function registerResource(app: FastifyInstance, def: ResourceDef, columns: ColumnInfo[], rc: RequestContext): void {
  const ops = def.ops ?? ALL_OPS;
  const writeRole: Role = def.writeRole ?? 'member';
  const hidden = new Set(def.hidden ?? []);
  const visible = columns.filter((c) => !hidden.has(c.name));
  const byName = new Map(visible.map((c) => [c.name, c]));
  const readOnly = new Set([...(def.readOnly ?? []), ...SERVER_MANAGED, ...(def.owner ? [def.owner] : [])]);
  const writable = visible.filter((c) => !readOnly.has(c.name) && !c.generated);
  const selectList = visible.map((c) => `t.${q(c.name)}`).join(', ');
  const rowSchemaId = `${def.table}_row`;
  const name = def.path.split('/').pop()!;

  const rowSchema: JsonSchema = {
    $id: rowSchemaId,
    type: 'object',
    description: def.description,
    properties: Object.fromEntries(visible.map((c) => [c.name, columnSchema(c)])),
  };
  app.addSchema(rowSchema);

  const base = def.parent ? `/${def.parent.path}/:${def.parent.param}/${def.path}` : `/${def.path}`;
  const parentParams = def.parent
    ? { [def.parent.param]: { type: 'string', format: 'uuid', description: `id of the ${def.parent.table.replace(/s$/, '')}` } }
    : {};
  const paramsSchema = (withId: boolean): JsonSchema => ({
    type: 'object',
    properties: { ...parentParams, ...(withId ? { id: { type: 'string', format: 'uuid' } } : {}) },
    required: [...Object.keys(parentParams), ...(withId ? ['id'] : [])],
    additionalProperties: false,
  });
  const tags = [def.tag];
  const errorResponses = { '4xx': { $ref: 'error#' } };

  // The parent must be visible to the caller (RLS), so a nested route cannot reach into another organization.
  async function checkParent(tx: Queryable, params: Record<string, string>): Promise<void> {
    if (!def.parent) return;
    const { rows } = await tx.query(`SELECT 1 FROM ${q(def.parent.table)} WHERE id = $1`, [params[def.parent.param]]);
    if (!rows.length) throw notFound(`${def.parent.table.replace(/s$/, '')} ${params[def.parent.param]}`);
  }

  if (ops.includes('list')) {
    const filterCols = (def.filters ?? visible.filter((c) => c.type === 'uuid' || c.type === 'boolean' || c.enum).map((c) => c.name))
      .map((n) => byName.get(n))
      .filter((c): c is ColumnInfo => !!c && isFilterable(c));
    const sortNames = def.sorts.map((s) => s.column);
    const querySchema: JsonSchema = {
      type: 'object',
      additionalProperties: false,
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'rows per page (1–200)' },
        cursor: { type: 'string', maxLength: 2000, description: 'next_cursor of the previous page' },
        sort: { type: 'string', enum: sortNames, default: sortNames[0], description: 'column to sort by' },
        order: { type: 'string', enum: ['asc', 'desc'], description: `default: ${def.sorts.map((s) => `${s.column} ${s.order}`).join(', ')}` },
        ...(def.search?.length ? { q: { type: 'string', minLength: 1, maxLength: 200, description: `case-insensitive text in ${def.search.join(', ')}` } } : {}),
        ...Object.fromEntries(filterCols.map((c) => {
          const s = columnSchema({ ...c, notNull: true });
          delete s.description;
          return [c.name, { ...s, description: `only rows whose ${c.name} equals this` }];
        })),
      },
    };
    app.get(base, {
      schema: {
        tags, summary: `List ${name}`, description: `${def.description}. Cursor-paginated: pass next_cursor as cursor for the next page.`,
        querystring: querySchema, params: paramsSchema(false),
        response: { 200: { type: 'object', properties: { data: { type: 'array', items: { $ref: `${rowSchemaId}#` } }, next_cursor: { type: ['string', 'null'] } } }, ...errorResponses },
      },
    }, async (req: FastifyRequest, reply: FastifyReply) => {
      const query = req.query as Record<string, unknown>;
      const params = req.params as Record<string, string>;
      const sort = String(query.sort ?? sortNames[0]);
      const order = (query.order as 'asc' | 'desc' | undefined) ?? def.sorts.find((s) => s.column === sort)!.order;
      const limit = Number(query.limit ?? 50);
      const where: string[] = [];
      const args: Scalar[] = [];
      const arg = (v: unknown, cast: string) => { args.push(v as Scalar); return `$${args.length}::${cast}`; };
      if (def.parent) where.push(`t.${q(def.parent.column)} = ${arg(params[def.parent.param], 'uuid')}`);
      for (const c of filterCols) {
        if (query[c.name] !== undefined) where.push(`t.${q(c.name)} = ${arg(query[c.name], c.type)}`);
      }
      if (def.search?.length && typeof query.q === 'string') {
        const pattern = arg(`%${query.q.replace(/[\\%_]/g, (m) => '\\' + m)}%`, 'text');
        where.push(`(${def.search.map((s) => `t.${q(s)} ILIKE ${pattern}`).join(' OR ')})`);
      }
      const sortCol = byName.get(sort)!;
      const resource = base;
      let cursorOrg: string | undefined;
      if (typeof query.cursor === 'string') {
        // Keyset continuation in PostgreSQL's default order, where NULL sorts as the largest value.
        const c = decodeCursor(query.cursor, { r: resource, s: sort, o: order });
        cursorOrg = c.g;
        const col = `t.${q(sort)}`;
        const idArg = arg(c.id, 'uuid');
        if (order === 'asc') {
          if (c.v === null) where.push(`(${col} IS NULL AND t.id > ${idArg})`);
          else {
            const v = arg(c.v, sortCol.type);
            where.push(`(${col} > ${v} OR (${col} = ${v} AND t.id > ${idArg}) OR ${col} IS NULL)`);
          }
        } else if (c.v === null) {
          where.push(`((${col} IS NULL AND t.id < ${idArg}) OR ${col} IS NOT NULL)`);
        } else {
          const v = arg(c.v, sortCol.type);
          where.push(`(${col} < ${v} OR (${col} = ${v} AND t.id < ${idArg}))`);
        }
      }
      const sql =
        `SELECT row_to_json(x)::text AS r FROM (SELECT ${selectList} FROM ${q(def.table)} t` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ORDER BY t.${q(sort)} ${order.toUpperCase()}, t.id ${order.toUpperCase()} LIMIT ${limit + 1}) x`;
      // Rows arrive as JSON text and are sent as they are: no parse and re-serialise per row.
      const render = (rows: { r: string }[], p: Principal): string => {
        const org = def.scope === 'tenant' ? p.orgId : '';
        if (cursorOrg !== undefined) checkCursorOrg(cursorOrg, org);
        const page = rows.slice(0, limit).map((r) => r.r);
        let next: string | null = null;
        if (rows.length > limit) {
          const last = JSON.parse(page[page.length - 1]!) as Record<string, unknown>;
          next = encodeCursor({ r: resource, s: sort, o: order, g: org, v: last[sort] ?? null, id: String(last.id) });
        }
        return `{"data":[${page.join(',')}],"next_cursor":${JSON.stringify(next)}}`;
      };
      let body: string;
      if (!def.parent && args.every(isScalar)) {
        const { principal, rows } = await rc.read<{ r: string }>(req, 'viewer', sql, args);
        body = render(rows, principal);
      } else {
        body = await rc.run(req, 'viewer', async (tx, p) => {
          await checkParent(tx, params);
          const { rows } = await tx.query<{ r: string }>(sql, args, { prepare: true });
          return render(rows, p);
        });
      }
      return sendJson(reply, body);
    });
  }

  if (ops.includes('get')) {
    app.get(`${base}/:id`, {
      schema: { tags, summary: `Get one of ${name}`, params: paramsSchema(true), response: { 200: { $ref: `${rowSchemaId}#` }, ...errorResponses } },
    }, async (req, reply) => {
      const params = req.params as Record<string, string>;
      const sql = `SELECT row_to_json(x)::text AS r FROM (SELECT ${selectList} FROM ${q(def.table)} t WHERE t.id = $1::uuid${def.parent ? ` AND t.${q(def.parent.column)} = $2::uuid` : ''}) x`;
      let row: { r: string } | undefined;
      if (!def.parent) {
        row = (await rc.read<{ r: string }>(req, 'viewer', sql, [params.id!])).rows[0];
      } else {
        row = await rc.run(req, 'viewer', async (tx) => {
          await checkParent(tx, params);
          return (await tx.query<{ r: string }>(sql, [params.id, params[def.parent!.param]], { prepare: true })).rows[0];
        });
      }
      if (!row) throw notFound(`${name} ${params.id}`);
      const body = row.r;
      return sendJson(reply, body);
    });
  }

  const bodyProps = Object.fromEntries(writable.map((c) => [c.name, columnSchema(c)]));
  if (ops.includes('create')) {
    const required = writable.filter((c) => c.notNull && !c.hasDefault && !(def.parent && c.name === def.parent.column)).map((c) => c.name);
    app.post(base, {
      bodyLimit: undefined,
      schema: {
        tags, summary: `Create one of ${name}`, params: paramsSchema(false),
        body: { type: 'object', additionalProperties: false, properties: bodyProps, required },
        response: { 201: { $ref: `${rowSchemaId}#` }, ...errorResponses },
      },
    }, async (req, reply) => {
      const params = req.params as Record<string, string>;
      const body = req.body as Record<string, unknown>;
      const row = await rc.run(req, writeRole, async (tx, p) => {
        await checkParent(tx, params);
        const cols: string[] = [];
        const vals: string[] = [];
        const args: unknown[] = [];
        const put = (col: string, v: unknown) => {
          const c = byName.get(col) ?? columns.find((x) => x.name === col)!;
          args.push(jsonParam(c, v));
          cols.push(q(col));
          vals.push(`$${args.length}::${c.type}`);
        };
        if (def.scope === 'tenant') put('org_id', p.orgId);
        if (def.owner) put(def.owner, p.userId);
        if (def.parent) put(def.parent.column, params[def.parent.param]);
        for (const [k, v] of Object.entries(body)) put(k, v);
        const { rows } = await tx.query<{ r: unknown }>(
          `WITH t AS (INSERT INTO ${q(def.table)} (${cols.join(', ')}) VALUES (${vals.join(', ')}) RETURNING *)
           SELECT row_to_json(x) AS r FROM (SELECT ${selectList} FROM t) x`,
          args,
        );
        return rows[0]!.r;
      });
      reply.code(201);
      return row;
    });
  }

  if (ops.includes('update')) {
    app.patch(`${base}/:id`, {
      schema: {
        tags, summary: `Change fields of one of ${name}`, params: paramsSchema(true),
        body: { type: 'object', additionalProperties: false, properties: bodyProps, minProperties: 1 },
        response: { 200: { $ref: `${rowSchemaId}#` }, ...errorResponses },
      },
    }, async (req) => {
      const params = req.params as Record<string, string>;
      const body = req.body as Record<string, unknown>;
      return rc.run(req, writeRole, async (tx) => {
        await checkParent(tx, params);
        const args: unknown[] = [params.id];
        const sets = Object.entries(body).map(([k, v]) => {
          const c = byName.get(k)!;
          args.push(jsonParam(c, v));
          return `${q(k)} = $${args.length}::${c.type}`;
        });
        const extra = def.parent ? ` AND ${q(def.parent.column)} = $${args.push(params[def.parent.param])}` : '';
        const { rows } = await tx.query<{ r: unknown }>(
          `WITH t AS (UPDATE ${q(def.table)} SET ${sets.join(', ')} WHERE id = $1${extra} RETURNING *)
           SELECT row_to_json(x) AS r FROM (SELECT ${selectList} FROM t) x`,
          args,
        );
        if (!rows[0]) throw notFound(`${name} ${params.id}`);
        return rows[0].r;
      });
    });
  }

  if (ops.includes('delete')) {
    app.delete(`${base}/:id`, {
      schema: { tags, summary: `Delete one of ${name}`, params: paramsSchema(true), response: { 204: { type: 'null', description: 'deleted' }, ...errorResponses } },
    }, async (req, reply) => {
      const params = req.params as Record<string, string>;
      await rc.run(req, writeRole, async (tx) => {
        await checkParent(tx, params);
        const extra = def.parent ? ` AND ${q(def.parent.column)} = $2` : '';
        const { rows } = await tx.query(`DELETE FROM ${q(def.table)} WHERE id = $1${extra} RETURNING id`, def.parent ? [params.id, params[def.parent.param]] : [params.id]);
        if (!rows.length) throw notFound(`${name} ${params.id}`);
      });
      reply.code(204);
      return null;
    });
  }
}

/** Sends JSON text built by the database as the body, bypassing the response serialiser. */
function sendJson(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').serializer((p: unknown) => p as string).send(text);
}

/** JSON values go to the database as text: objects/arrays of json columns as JSON, arrays of other columns as arrays. */
function jsonParam(c: ColumnInfo, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (c.type === 'jsonb' || c.type === 'json') return JSON.stringify(v);
  return v;
}
