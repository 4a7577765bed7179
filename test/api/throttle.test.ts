import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, createUser } from '../../src/api/accounts.js';
import { createApiServer } from '../../src/api/server.js';
import type { ThrottleLimits } from '../../src/api/auth/throttle.js';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { engineName, openTestDb } from '../helpers/db.js';

const PASSWORD = 'correct horse battery staple';

/** Small limits so the tests need few attempts: no backoff unless a test asks for it. */
const limits = (o: Partial<ThrottleLimits> = {}): Partial<ThrottleLimits> => ({
  account: { freeFailures: 3, lockAfter: 5 },
  address: { freeFailures: 1000, lockAfter: 1000 },
  windowSec: 600,
  backoffBaseSec: 0,
  backoffMaxSec: 60,
  lockSec: 600,
  ...o,
});

interface Reply { status: number; body: any; headers: Record<string, unknown> }

describe(`sign-in throttling (${engineName})`, () => {
  let db: Db;
  let close: () => Promise<void>;
  let org: string;
  const servers: FastifyInstance[] = [];
  type Login = (email: string, password: string, from?: string) => Promise<Reply>;
  let plain: Login;
  let strict: Login;
  /** A server with these limits on the shared database; `from` is the client address. */
  async function server(l: Partial<ThrottleLimits>): Promise<Login> {
    const app = await createApiServer({ db, throttle: l });
    servers.push(app);
    return async (email: string, password: string, from = '10.0.0.1'): Promise<Reply> => {
      const r = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress: from });
      return { status: r.statusCode, body: r.json(), headers: r.headers };
    };
  }
  const user = (email: string) => createUser(db, { email, password: PASSWORD, orgId: org, role: 'member' });

  beforeAll(async () => {
    const t = await openTestDb();
    db = t.db;
    close = t.close;
    await migrate(db, { files: embeddedMigrations() });
    org = (await createOrganization(db, { name: 'Acme' })).id;
    plain = await server(limits());
    // one failure free per account, locked for a second after two; an address locked after four
    strict = await server(limits({ account: { freeFailures: 1, lockAfter: 2 }, address: { freeFailures: 3, lockAfter: 4 }, lockSec: 1 }));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await close?.();
  });

  it('after the failures that lock an account, even the right password is refused with 429 and Retry-After; other accounts sign in', async () => {
    const login = plain;
    await user('ann@acme.test');
    await user('bob@acme.test');
    for (let i = 0; i < 5; i++) expect((await login('ann@acme.test', `wrong ${i}`)).status).toBe(401);
    const right = await login('ann@acme.test', PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('too_many_attempts');
    expect(right.body.error.request_id).toBe(right.headers['x-request-id']);
    expect(right.body.error.details.locked).toBe(true);
    const retry = Number(right.headers['retry-after']);
    expect(retry).toBeGreaterThan(500);
    expect(retry).toBeLessThanOrEqual(600);
    expect(right.body.token).toBeUndefined();
    // from another address too (it is the account that is locked), and whatever the case of the e-mail
    expect((await login('  ANN@acme.test', PASSWORD, '10.0.0.2')).status).toBe(429);
    expect((await login('bob@acme.test', PASSWORD)).status).toBe(200);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ann@acme.test'`);
    expect(rows[0]!.n).toBe(0);
  });

  it('an e-mail nobody has is throttled exactly like a real one (no enumeration)', async () => {
    const login = plain;
    await user('cat@acme.test');
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push((await login('nobody@acme.test', 'guess')).status);
    const real: number[] = [];
    for (let i = 0; i < 5; i++) real.push((await login('cat@acme.test', 'guess')).status);
    real.push((await login('cat@acme.test', PASSWORD)).status);
    expect(seen).toEqual([401, 401, 401, 401, 401, 429]);
    expect(real).toEqual(seen);
    // the e-mail itself is not stored, only its hash
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM auth_throttle WHERE subject LIKE '%@%'`);
    expect(rows[0]!.n).toBe(0);
  });

  it('guesses sent all at once cannot slip through together: at most the lock limit get a password check', async () => {
    const login = (e: string, p: string) => plain(e, p, '10.0.2.1');
    await user('ivy@acme.test');
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => login('ivy@acme.test', `wrong ${i}`)));
    const statuses = all.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect((await login('ivy@acme.test', PASSWORD)).status).toBe(429);
  });

  it('the state is in the database: another server on the same database refuses too', async () => {
    const login = await server(limits());
    expect((await login('ann@acme.test', PASSWORD)).status).toBe(429);
  });

  it('a correct password before the lock starts the account afresh', async () => {
    const login = plain;
    await user('dan@acme.test');
    for (let i = 0; i < 4; i++) expect((await login('dan@acme.test', 'wrong')).status).toBe(401);
    expect((await login('dan@acme.test', PASSWORD)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login('dan@acme.test', 'wrong')).status).toBe(401);
    expect((await login('dan@acme.test', PASSWORD)).status).toBe(200);
  });

  it('past the free failures the next attempt must wait (backoff): 429 with Retry-After, and it is not counted', async () => {
    const login = await server(limits({ account: { freeFailures: 2, lockAfter: 4 }, backoffBaseSec: 30 }));
    await user('eve@acme.test');
    expect((await login('eve@acme.test', 'wrong')).status).toBe(401);
    expect((await login('eve@acme.test', 'wrong')).status).toBe(401);
    const r = await login('eve@acme.test', PASSWORD);
    expect(r.status).toBe(429);
    expect(r.body.error.details.locked).toBe(false);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(25);
    expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect((await login('eve@acme.test', 'wrong')).status).toBe(429);
    const { rows } = await db.query<{ failures: number }>(`SELECT failures FROM auth_throttle WHERE scope = 'account' AND failures = 2`);
    expect(rows.length).toBe(1);
  });

  it('a lock ends after lockSec, and the right password works again', async () => {
    const login = (e: string, p: string) => strict(e, p, '10.0.1.1');
    await user('gus@acme.test');
    expect((await login('gus@acme.test', 'wrong')).status).toBe(401);
    expect((await login('gus@acme.test', 'wrong')).status).toBe(401);
    const locked = await login('gus@acme.test', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('1');
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await login('gus@acme.test', PASSWORD)).status).toBe(200);
    // and the account starts afresh
    expect((await login('gus@acme.test', 'wrong')).status).toBe(401);
  });

  it('failures spread over many e-mails lock the address, for every account; other addresses are unaffected', async () => {
    const login = strict;
    await user('hal@acme.test');
    for (let i = 0; i < 4; i++) expect((await login(`guess${i}@acme.test`, 'wrong', '10.9.9.9')).status).toBe(401);
    const r = await login('hal@acme.test', PASSWORD, '10.9.9.9');
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('too_many_attempts');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login('hal@acme.test', PASSWORD, '10.9.9.10')).status).toBe(200);
    const { rows } = await db.query<{ subject: string }>(`SELECT subject FROM auth_throttle WHERE scope = 'address' AND locked_until > now()`);
    expect(rows).toEqual([{ subject: '10.9.9.9' }]);
  });

  it('old rows are pruned after a failure once their window and lock are over', async () => {
    const login = plain;
    await db.query(`INSERT INTO auth_throttle (scope, subject, failures, window_started_at, last_failure_at) VALUES ('account', 'stale', 3, now() - interval '2 hours', now() - interval '2 hours')`);
    expect((await login('x@acme.test', 'wrong', '10.0.0.3')).status).toBe(401);
    const { rows } = await db.query<{ subject: string }>(`SELECT subject FROM auth_throttle WHERE subject = 'stale'`);
    expect(rows).toEqual([]);
  });
});
