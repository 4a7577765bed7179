import type { FastifyInstance } from 'fastify';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import type { Role } from '../../src/api/auth/roles.js';
import { createApiServer, type ApiOptions } from '../../src/api/server.js';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { openTestDb } from './db.js';

export const PASSWORD = 'correct horse battery staple';

/** A migrated test database with the API listening on a free loopback port (real HTTP). */
export interface ApiHarness {
  db: Db;
  app: FastifyInstance;
  base: string;
  /** fetch against the API; JSON bodies are sent as JSON. */
  call(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  org(name: string): Promise<string>;
  user(orgId: string, email: string, role: Role): Promise<{ id: string; token: string }>;
  login(email: string, orgId?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startApi(opts: Partial<ApiOptions> = {}): Promise<ApiHarness> {
  const t = await openTestDb();
  await migrate(t.db, { files: embeddedMigrations() });
  const app = await createApiServer({ db: t.db, ...opts });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const h: ApiHarness = {
    db: t.db,
    app,
    base,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async org(name) {
      return (await createOrganization(t.db, { name })).id;
    },
    async user(orgId, email, role) {
      const u = await createUser(t.db, { email, password: PASSWORD, orgId, role });
      return { id: u.id, token: await h.login(email, orgId) };
    },
    async login(email, orgId) {
      const r = await h.call('POST', '/api/auth/login', { body: { email, password: PASSWORD, ...(orgId ? { org_id: orgId } : {}) } });
      if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    },
    async close() {
      await app.close();
      await t.close();
    },
  };
  return h;
}
