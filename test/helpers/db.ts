import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PgliteDb } from '../../src/db/pglite.js';
import { PostgresDb } from '../../src/db/postgres.js';
import type { Db } from '../../src/db/types.js';

/** Set by .ci/run for the PostgreSQL pass; unset = the PGlite pass. */
export const SERVER_URL = process.env.TEST_DATABASE_URL || undefined;
export const onPostgres = SERVER_URL !== undefined;
export const engineName = onPostgres ? 'postgres' : 'pglite';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

/**
 * An isolated database for one test file: a fresh database on the test server, or a fresh
 * embedded home. `args` are the CLI flags that point at it; `open()` gives a Db for it.
 */
export interface TestTarget {
  url?: string;
  home?: string;
  args: string[];
  open(): Promise<Db>;
  /** A second, independent database of the same engine (e.g. to compare two builds). */
  sibling(): Promise<TestTarget>;
  cleanup(): Promise<void>;
}

const created: TestTarget[] = [];

export async function createTarget(): Promise<TestTarget> {
  let t: TestTarget;
  if (SERVER_URL) {
    const name = `rv_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = withDatabase(SERVER_URL, name);
    t = {
      url,
      args: ['--url', url],
      open: () => PostgresDb.open(url),
      sibling: createTarget,
      cleanup: async () => {
        const a = new pg.Client({ connectionString: SERVER_URL });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      },
    };
  } else {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-test-home-'));
    t = {
      home,
      args: ['--home', home],
      open: () => PgliteDb.open(path.join(home, 'pgdata')),
      sibling: createTarget,
      cleanup: async () => fs.rmSync(home, { recursive: true, force: true }),
    };
  }
  created.push(t);
  return t;
}

/** An in-process database for library tests: in-memory PGlite, or a fresh server database. */
export async function openTestDb(): Promise<{ db: Db; target?: TestTarget; close(): Promise<void> }> {
  if (!SERVER_URL) {
    const db = await PgliteDb.open();
    return { db, close: () => db.close() };
  }
  const target = await createTarget();
  const db = await target.open();
  return {
    db,
    target,
    close: async () => {
      await db.close();
      await target.cleanup();
    },
  };
}

export function tmpDir(prefix = 'rv-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies a fixture migrations directory so a test may edit it. */
export function copyFixture(name: string): string {
  const src = path.join(import.meta.dirname, '..', 'fixtures', 'migrations', name);
  const dst = tmpDir(`rv-mig-${name}-`);
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  return dst;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
