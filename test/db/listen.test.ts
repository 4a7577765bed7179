import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/db/listen.js';
import { PostgresDb } from '../../src/db/postgres.js';
import type { Notification } from '../../src/db/types.js';
import { engineName, onPostgres, openTestDb, waitFor } from '../helpers/db.js';
import { startOwnServer, type OwnServer } from '../helpers/server.js';

describe(`db.listen (${engineName})`, () => {
  let t: Awaited<ReturnType<typeof openTestDb>>;
  beforeAll(async () => {
    t = await openTestDb();
  });
  afterAll(() => t?.close());

  it('delivers notifications sent after it subscribed, at commit only', async () => {
    const got: Notification[] = [];
    const l = await t.db.listen(['rv_test'], { onNotify: (n) => got.push(n) });
    await t.db.query(`SELECT pg_notify('rv_test', 'one')`);
    await t.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_notify('rv_test', 'rolled back')`);
      throw new Error('abort');
    }).catch(() => {});
    await t.db.query(`SELECT pg_notify('rv_test', 'two')`);
    await waitFor(() => got.length >= 2, 'two notifications', 10_000);
    expect(got.map((n) => n.payload)).toEqual(['one', 'two']);
    await l.close();
  });

  it('listens on several channels and tells them apart; nothing arrives after close', async () => {
    const got: Notification[] = [];
    const l = await t.db.listen(['rv_a', 'rv_b'], { onNotify: (n) => got.push(n) });
    await t.db.query(`SELECT pg_notify('rv_a', '1'), pg_notify('rv_c', 'not listened'), pg_notify('rv_b', '2')`);
    await waitFor(() => got.length >= 2, 'two notifications', 10_000);
    expect(got).toEqual([{ channel: 'rv_a', payload: '1' }, { channel: 'rv_b', payload: '2' }]);
    await l.close();
    // A second listener still in force on the same Db shows when notifications have been delivered.
    const after: string[] = [];
    const l2 = await t.db.listen(['rv_probe'], { onNotify: (n) => after.push(n.payload) });
    await t.db.query(`SELECT pg_notify('rv_a', 'late'), pg_notify('rv_probe', 'p')`);
    await waitFor(() => after.includes('p'), 'the probe notification', 10_000);
    expect(got.map((n) => n.payload)).toEqual(['1', '2']);
    await l2.close();
  });

  it('the free function listen(db, …) is the same as db.listen', async () => {
    const got: string[] = [];
    const l = await listen(t.db, ['rv_free'], { onNotify: (n) => got.push(n.payload) });
    await t.db.query(`SELECT pg_notify('rv_free', 'x')`);
    await waitFor(() => got.includes('x'), 'the notification', 10_000);
    await l.close();
  });
});

describe.skipIf(!onPostgres)('db.listen on PostgreSQL when its connection is terminated', () => {
  it('reconnects, calls onReconnect, and receives later notifications', async () => {
    const t = await openTestDb();
    const got: string[] = [];
    let reconnects = 0;
    const l = await t.db.listen(['rv_term'], { onNotify: (n) => got.push(n.payload), onReconnect: () => reconnects++ }, { minDelayMs: 20, maxDelayMs: 200 });
    await t.db.query(`SELECT pg_notify('rv_term', 'before')`);
    await waitFor(() => got.includes('before'), 'the first notification', 10_000);
    // Only the listen connection of this test's own database: the pool is left alone.
    const killed = await t.db.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name = 'robbieverse-listen' AND datname = current_database()`,
    );
    expect(killed.rows[0]!.n).toBe(1);
    await waitFor(() => reconnects === 1, 'the listener to reconnect', 30_000);
    // One listen connection again (the terminated backend may take a moment to leave pg_stat_activity).
    const listening = async () =>
      (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'robbieverse-listen' AND datname = current_database()`)).rows[0]!.n;
    await waitFor(async () => (await listening()) === 1, 'one listen connection', 10_000);
    await t.db.query(`SELECT pg_notify('rv_term', 'after')`);
    await waitFor(() => got.includes('after'), 'a notification after the reconnect', 10_000);
    expect(got).toEqual(['before', 'after']);
    expect(reconnects).toBe(1);
    await l.close();
    await t.close();
  });
});

describe.skipIf(!onPostgres)('LISTEN and the pool across a server restart and a cut connection', () => {
  let server: OwnServer;
  beforeAll(() => {
    server = startOwnServer();
  });
  afterAll(() => server?.stop());

  it('keeps receiving after the server restarts, and tells the caller to re-read', async () => {
    const db = await PostgresDb.open(server.url);
    const got: string[] = [];
    let reconnects = 0;
    const l = await db.listen(['rv_restart'], { onNotify: (n) => got.push(n.payload), onReconnect: () => reconnects++ }, { minDelayMs: 50, maxDelayMs: 500 });
    await db.query(`SELECT pg_notify('rv_restart', 'before')`);
    await waitFor(() => got.includes('before'), 'the first notification', 10_000);

    server.restart();
    await waitFor(() => reconnects === 1, 'the listener to reconnect', 30_000);
    // The pool threw its dead clients away; the same Db works again.
    await waitFor(async () => (await db.query(`SELECT pg_notify('rv_restart', 'after')`), true), 'the pool to reconnect', 30_000);
    await waitFor(() => got.includes('after'), 'a notification after the restart', 10_000);
    expect(got).toEqual(['before', 'after']);
    await l.close();
    await db.close();
  });

  it('survives its connection being killed, and a dead idle pool client does not crash the process', async () => {
    const db = await PostgresDb.open(server.url);
    const got: string[] = [];
    let reconnects = 0;
    const l = await db.listen(['rv_cut'], { onNotify: (n) => got.push(n.payload), onReconnect: () => reconnects++ }, { minDelayMs: 50, maxDelayMs: 500 });
    await db.query('SELECT 1'); // leaves an idle client in the pool
    const admin = await PostgresDb.open(server.url);
    const killed = await admin.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name IN ('robbieverse', 'robbieverse-listen') AND pid <> pg_backend_pid()`,
    );
    expect(killed.rows[0]!.n).toBeGreaterThanOrEqual(2);
    await waitFor(() => reconnects === 1, 'the listener to reconnect', 30_000);
    await db.query(`SELECT pg_notify('rv_cut', 'still here')`);
    await waitFor(() => got.includes('still here'), 'a notification after the cut', 10_000);
    await l.close();
    await db.close();
    await admin.close();
  });
});
