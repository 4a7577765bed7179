import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { createApiServer } from '../../src/api/server.js';
import { registerComponentLibrary, seedDemoContent, startBlocksWorker, type BlocksWorker } from '../../src/blocks/index.js';
import { PgliteDb } from '../../src/db/pglite.js';
import { serveSocket, type ServedSocket } from '../../src/db/socket.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { onPostgres, tmpDir, waitFor } from '../helpers/db.js';

const PASSWORD = 'socket password for the test';
const LOGIN_PASSWORD = 'correct horse battery staple';
const STATEMENT_MS = 1500;
const IDLE_MS = 1000;

/**
 * The embedded database is one PGlite backend shared by the API, the builder, in-process calls
 * and every socket client. These tests drive it as a server is driven: several clients at once,
 * each expecting its own transaction.
 */
describe.skipIf(onPostgres)('embedded database: every client is a session of its own', () => {
  let home: string;
  let db: PgliteDb;
  let app: FastifyInstance;
  let base: string;
  let socket: ServedSocket;
  let worker: BlocksWorker;
  let token: string;
  const clients: pg.Client[] = [];

  async function client(password = PASSWORD): Promise<pg.Client> {
    const c = new pg.Client({ host: '127.0.0.1', port: socket.port, user: 'postgres', password, database: 'postgres' });
    c.on('error', () => {});
    await c.connect();
    clients.push(c);
    return c;
  }

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(base + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };

  beforeAll(async () => {
    home = tmpDir('rv-sessions-');
    db = await PgliteDb.open(path.join(home, 'pgdata'));
    await migrate(db, { files: embeddedMigrations() });
    await db.exec('CREATE TABLE probe (id serial PRIMARY KEY, who text NOT NULL)');
    await registerComponentLibrary(db, { publish: true });
    await seedDemoContent(db);
    const org = await createOrganization(db, { name: 'Sessions Ltd' });
    await createUser(db, { email: 'owner@sessions.example', password: LOGIN_PASSWORD, orgId: org.id, role: 'owner' });
    app = await createApiServer({ db });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const login = await fetch(base + '/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@sessions.example', password: LOGIN_PASSWORD, org_id: org.id }),
    });
    token = ((await login.json()) as { token: string }).token;
    socket = await serveSocket(db, '127.0.0.1', 0, { password: PASSWORD, statementTimeoutMs: STATEMENT_MS, idleInTransactionTimeoutMs: IDLE_MS });
    worker = await startBlocksWorker({ db, deployRoot: path.join(home, 'sites'), quietMs: 50, pollMs: 500, rebuildOutdated: false });
  });

  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await worker?.stop();
    await app?.close();
    await socket?.stop();
    await db?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** API reads, a failing API write, builder work and a second socket client, all at once. */
  async function others(b: pg.Client, i: number): Promise<void> {
    const [list, bad, , inserted] = await Promise.all([
      api('GET', '/api/contacts?limit=5'),
      api('POST', '/api/deals', { deal_name: `bad ${i}`, stage: 'no-such-stage' }),
      db.query(`UPDATE robbieblocks_pages SET page_name = page_name || '.' WHERE id = (SELECT id FROM robbieblocks_pages ORDER BY id LIMIT 1)`),
      b.query(`INSERT INTO probe (who) VALUES ('b-${i}') RETURNING id`),
    ]);
    expect(list.status).toBe(200);
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(inserted.rowCount).toBe(1);
  }

  it('ROLLBACK undoes and COMMIT keeps a socket client\'s transaction while others work, many times', async () => {
    const a = await client();
    const b = await client();
    const notices: string[] = [];
    a.on('notice', (n) => notices.push(n.message ?? ''));
    for (let i = 0; i < 12; i++) {
      const commit = i % 2 === 1;
      await a.query('BEGIN');
      await a.query(`INSERT INTO probe (who) VALUES ('a-${i}')`);
      // Everyone else starts now and waits for a's transaction to end (nothing lands inside it).
      const meanwhile = others(b, i);
      await waitFor(() => db.embedded.arbiter.waiting >= 3, 'the other sessions to queue');
      await a.query(`INSERT INTO probe (who) VALUES ('a-${i}-second')`);
      await a.query(commit ? 'COMMIT' : 'ROLLBACK');
      await meanwhile;
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM probe WHERE who LIKE $1`, [`a-${i}%`]);
      expect(rows[0]!.n, `iteration ${i} (${commit ? 'COMMIT' : 'ROLLBACK'})`).toBe(commit ? 2 : 0);
    }
    expect(notices.filter((n) => /no transaction in progress/.test(n))).toEqual([]);
    // Every one of b's autocommitted rows stayed, whatever a did.
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM probe WHERE who LIKE 'b-%'`)).rows[0]!.n).toBe(12);
    // The builder kept working meanwhile.
    await waitFor(async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM robbieblocks_deploys WHERE deploy_status IN ('success', 'skipped')`)).rows[0]!.n > 0, 'a deploy');
  });

  it('psql: ROLLBACK undoes, COMMIT keeps, with API requests in between', async () => {
    for (const [end, expected] of [['ROLLBACK', 0], ['COMMIT', 1]] as const) {
      const tag = `psql-${end}`;
      const psql = spawn('psql', [`host=127.0.0.1 port=${socket.port} user=postgres dbname=postgres`, '-X', '-v', 'ON_ERROR_STOP=1'], {
        env: { ...process.env, PGPASSWORD: PASSWORD },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      psql.stdout.on('data', (d) => (out += d));
      psql.stderr.on('data', (d) => (out += d));
      psql.stdin.write(`BEGIN;\nINSERT INTO probe (who) VALUES ('${tag}');\nSELECT 'inserted';\n`);
      await waitFor(() => out.includes('inserted'), 'psql insert');
      // While psql sits in its transaction: API requests (one failing) wait their turn, then answer.
      const during = Promise.all([api('GET', '/api/contacts'), api('POST', '/api/deals', { deal_name: 'x', stage: 'nope' })]);
      psql.stdin.end(`${end};\n`);
      const code = await new Promise<number | null>((r) => psql.on('close', r));
      const [ok, bad] = await during;
      expect(code, out).toBe(0);
      expect(out).not.toMatch(/no transaction in progress/);
      expect(ok.status).toBe(200);
      expect(bad.status).toBeLessThan(500);
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM probe WHERE who = $1`, [tag])).rows[0]!.n).toBe(expected);
    }
  });

  it('a socket client idle in a transaction past the limit is disconnected (25P03), its work undone; the API answers meanwhile', async () => {
    const idle = await client();
    const errors: Error[] = [];
    idle.on('error', (e) => errors.push(e));
    await idle.query('BEGIN');
    await idle.query(`INSERT INTO probe (who) VALUES ('idle')`);
    const t0 = Date.now();
    const me = await api('GET', '/api/me');
    expect(me.status).toBe(200);
    // It waited for the idle session's end, and not much longer.
    expect(Date.now() - t0).toBeLessThan(IDLE_MS + 5_000);
    await waitFor(() => errors.length > 0, 'the idle session to be ended');
    expect((errors[0] as Error & { code?: string }).code).toBe('25P03');
    await expect(idle.query('SELECT 1')).rejects.toThrow();
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM probe WHERE who = 'idle'`)).rows[0]!.n).toBe(0);
  });

  it('a statement past the limit is ended (57014); committed data stays and everyone goes on', async () => {
    const c = await client();
    await c.query(`INSERT INTO probe (who) VALUES ('before-slow')`);
    const slow = c.query('SELECT pg_sleep(30)').then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    // The API request queued behind the slow statement answers once it is ended.
    const me = api('GET', '/api/me');
    const err = await slow;
    expect(err?.code).toBe('57014');
    expect((await me).status).toBe(200);
    // The same connection goes on, and so do the others.
    expect((await c.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM probe WHERE who = 'before-slow'`)).rows[0]!.n).toBe(1);
  });

  it('Ctrl-C in psql cancels its running statement (57014); the database goes on', async () => {
    const psql = spawn('psql', [`host=127.0.0.1 port=${socket.port} user=postgres dbname=postgres`, '-X'], {
      env: { ...process.env, PGPASSWORD: PASSWORD },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    psql.stdout.on('data', (d) => (out += d));
    psql.stderr.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((r) => psql.on('close', r));
    psql.stdin.write('SELECT pg_sleep(20);\n');
    await waitFor(() => db.embedded.arbiter.holding?.name.startsWith('socket:'), 'the statement to run');
    const t0 = Date.now();
    psql.kill('SIGINT');
    await waitFor(() => /canceling statement due to user request/.test(out), 'the cancel');
    expect(Date.now() - t0).toBeLessThan(15_000);
    // psql stops a script after Ctrl-C (its exit code 3); the database serves the next client.
    psql.stdin.end();
    expect(await closed, out).toBe(3);
    expect((await (await client()).query("SELECT 'after' AS x")).rows[0].x).toBe('after');
  });

  it('a socket client\'s session settings are its own', async () => {
    const a = await client();
    const b = await client();
    const defaultPath = (await b.query('SHOW search_path')).rows[0].search_path;
    await a.query(`SET search_path = pg_catalog, public`);
    await a.query(`SET ROLE robbie_app`);
    await a.query(`SELECT set_config('app.org_id', '00000000-0000-0000-0000-000000000001', false)`);
    expect((await b.query('SHOW search_path')).rows[0].search_path).toBe(defaultPath);
    expect((await b.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');
    expect((await b.query(`SELECT coalesce(current_setting('app.org_id', true), '') AS o`)).rows[0].o).toBe('');
    expect((await db.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe('postgres');
    expect((await a.query('SHOW search_path')).rows[0].search_path).toBe('pg_catalog, public');
    expect((await a.query('SELECT current_user AS u')).rows[0].u).toBe('robbie_app');
    expect((await a.query(`SELECT current_setting('app.org_id', true) AS o`)).rows[0].o).toBe('00000000-0000-0000-0000-000000000001');
  });

  it('named prepared statements are per session', async () => {
    const a = await client();
    const b = await client();
    for (let i = 0; i < 3; i++) {
      const [ra, rb] = await Promise.all([
        a.query({ name: 'same_name', text: 'SELECT $1::int + 1 AS n', values: [i] }),
        b.query({ name: 'same_name', text: "SELECT $1::text || '!' AS n", values: [String(i)] }),
      ]);
      expect(ra.rows[0].n).toBe(i + 1);
      expect(rb.rows[0].n).toBe(`${i}!`);
    }
    await a.end();
    await waitFor(async () => !(await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE '%same_name'`)).rows.length || (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE '%same_name'`)).rows[0]!.n === 1, 'a\'s statement to be closed');
  });

  it('LISTEN through the socket receives NOTIFY from in-process code and from other clients', async () => {
    const l = await client();
    const got: string[] = [];
    l.on('notification', (n) => got.push(n.payload ?? ''));
    await l.query('LISTEN probe_channel');
    await db.query(`SELECT pg_notify('probe_channel', 'from-process')`);
    const other = await client();
    await other.query(`NOTIFY probe_channel, 'from-socket'`);
    await waitFor(() => got.length >= 2, 'notifications');
    expect(got.sort()).toEqual(['from-process', 'from-socket']);
  });

  it('hostile bytes on the socket end that connection with a protocol error; everyone else goes on', async () => {
    const net = await import('node:net');
    const startup = (params: Buffer) => {
      const b = Buffer.alloc(8);
      b.writeInt32BE(8 + params.length, 0);
      b.writeInt32BE(196608, 4);
      return Buffer.concat([b, params]);
    };
    const sends: [Buffer, RegExp][] = [
      [Buffer.from('GET / HTTP/1.1\r\n\r\n'), /C08P01/],
      [Buffer.alloc(8, 0xff), /C08P01/],
      [startup(Buffer.from([0])), /C28000/],
      [startup(Buffer.from('user\0postgres\0database\0other\0\0')), /C3D000/],
      [Buffer.concat([startup(Buffer.from('user\0postgres\0\0')), Buffer.from('p\0\0\0\x10SCRAM-SHA-1\0\0\0\0\0')]), /C28000/],
    ];
    for (const [bytes, expected] of sends) {
      const reply = await new Promise<string>((resolve) => {
        const s = net.connect(socket.port, '127.0.0.1', () => s.write(bytes));
        let out = '';
        s.on('data', (d) => (out += d.toString('latin1')));
        s.on('close', () => resolve(out));
        s.on('error', () => {});
      });
      expect(reply).toMatch(expected);
      expect(reply).toMatch(/SFATAL/);
    }
    expect((await (await client()).query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('refuses wrong credentials with PostgreSQL\'s error', async () => {
    await expect(client('wrong')).rejects.toMatchObject({ code: '28P01' });
    const other = new pg.Client({ host: '127.0.0.1', port: socket.port, user: 'mallory', password: PASSWORD, database: 'postgres' });
    other.on('error', () => {});
    await expect(other.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});
