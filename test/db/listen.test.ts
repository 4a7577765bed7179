import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/db/listen.js';
import { PostgresDb } from '../../src/db/postgres.js';
import type { Notification } from '../../src/db/types.js';
import { engineName, onPostgres, openTestDb, waitFor } from '../helpers/db.js';
import { startOwnServer, type OwnServer } from '../helpers/server.js';

describe(`LISTEN helper (${engineName})`, () => {
  it('delivers notifications sent after it subscribed, at commit only', async () => {
    const t = await openTestDb();
    const got: Notification[] = [];
    const l = await listen(t.db, ['rv_test'], { onNotify: (n) => got.push(n) });
    await t.db.query(`SELECT pg_notify('rv_test', 'one')`);
    await t.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_notify('rv_test', 'rolled back')`);
      throw new Error('abort');
    }).catch(() => {});
    await t.db.query(`SELECT pg_notify('rv_test', 'two')`);
    await waitFor(() => got.length >= 2, 'two notifications', 10_000);
    expect(got.map((n) => n.payload)).toEqual(['one', 'two']);
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
    const l = await listen(db, ['rv_restart'], { onNotify: (n) => got.push(n.payload), onReconnect: () => reconnects++ }, { minDelayMs: 50, maxDelayMs: 500 });
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
    const l = await listen(db, ['rv_cut'], { onNotify: (n) => got.push(n.payload), onReconnect: () => reconnects++ }, { minDelayMs: 50, maxDelayMs: 500 });
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
