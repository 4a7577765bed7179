/**
 * A server process for bench/api.ts, so the load generator never shares its event loop.
 *   api: the real HTTP API (createApiServer) on the given database.
 *   raw: the baseline — node:http plus the bare driver, running the API's data queries as the
 *        database owner (no credential check, no tenant context, no RLS) and returning the JSON.
 * Usage: node --import tsx bench/api-server.ts <api|raw> <postgres-url | pglite-data-dir> <org-id>
 * Prints one line `{"port": N}` when listening; stops on SIGTERM.
 */
import http from 'node:http';
import pg from 'pg';
import { readColumns } from '../src/api/catalog.js';
import { RESOURCES } from '../src/api/resource.js';
import { createApiServer } from '../src/api/server.js';
import { PgliteDb } from '../src/db/pglite.js';
import { PostgresDb } from '../src/db/postgres.js';
import type { Db } from '../src/db/types.js';

const [mode, target, orgId] = process.argv.slice(2) as [string, string, string];
const isUrl = /^postgres(ql)?:\/\//.test(target);

async function main(): Promise<void> {
  if (mode === 'api') {
    const db: Db = isUrl ? await PostgresDb.open(target) : await PgliteDb.open(target);
    const app = await createApiServer({ db });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    process.once('SIGTERM', () => void app.close().then(() => db.close()).finally(() => process.exit(0)));
    console.log(JSON.stringify({ port: addr.port }));
    return;
  }
  if (mode !== 'raw') throw new Error(`unknown mode ${mode}`);

  // The same select list as the API's contacts resource (its columns minus hidden ones).
  const def = RESOURCES.find((r) => r.path === 'contacts')!;
  const hidden = new Set(def.hidden ?? []);
  let query: (sql: string, args: unknown[]) => Promise<{ r: unknown }[]>;
  let close: () => Promise<void>;
  if (isUrl) {
    // Same pool size as PostgresDb (max 10).
    const pool = new pg.Pool({ connectionString: target, max: 10, keepAlive: true });
    // Named statements: prepared once per connection, as the API's hot statements are.
    query = async (sql, args) => (await pool.query<{ r: unknown }>({ name: 'b' + sql.length + '_' + sql.slice(-40).replace(/\W/g, ''), text: sql, values: args })).rows;
    close = () => pool.end();
  } else {
    // The bare engine in this thread, as every caller used it before sessions: no arbiter, no thread hop.
    const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
    const lite = await PGlite.create(target, { extensions: { vector } });
    query = async (sql, args) => (await lite.query<{ r: unknown }>(sql, args)).rows;
    close = () => lite.close();
  }
  const cols = (await readColumns({ query: async (sql: string, args?: unknown[]) => ({ rows: await query(sql, args ?? []), fields: [], rowCount: 0 }) } as never, 'contacts'))
    .filter((c) => !hidden.has(c.name))
    .map((c) => `t."${c.name}"`)
    .join(', ');
  // The API's own query texts: rows come back as JSON text and are sent as they are.
  const GET = `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t WHERE t.id = $1) x`;
  // The owner sees every organization, so the page names the tenant that RLS would supply.
  const LIST =
    `SELECT row_to_json(x)::text AS r FROM (SELECT ${cols} FROM contacts t WHERE t.org_id = $1` +
    ` ORDER BY t."created_at" DESC, t.id DESC LIMIT 51) x`;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const handle = async () => {
      if (url.startsWith('/api/contacts?')) {
        const rows = await query(LIST, [orgId]);
        const data = rows.slice(0, 50).map((r) => r.r as string);
        const next = rows.length > 50 ? Buffer.from((JSON.parse(data[data.length - 1]!) as { id: string }).id).toString('base64url') : null;
        return send(res, 200, `{"data":[${data.join(',')}],"next_cursor":${JSON.stringify(next)}}`);
      }
      const m = /^\/api\/contacts\/([^/?]+)$/.exec(url);
      if (m && UUID.test(m[1]!)) {
        const rows = await query(GET, [m[1]]);
        return rows[0] ? send(res, 200, rows[0].r) : send(res, 404, { error: { code: 'not_found' } });
      }
      send(res, 404, { error: { code: 'no_route' } });
    };
    handle().catch((err: Error) => send(res, 500, { error: { code: 'internal', message: err.message } }));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.once('SIGTERM', () => server.close(() => void close().finally(() => process.exit(0))));
    console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
