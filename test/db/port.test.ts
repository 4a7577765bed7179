import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase, restoreServerDatabase } from '../../src/db/backup.js';
import { socketUrl } from '../../src/db/open.js';
import { PgliteDb } from '../../src/db/pglite.js';
import { PostgresDb } from '../../src/db/postgres.js';
import { serveSocket, type ServedSocket } from '../../src/db/socket.js';
import { engineName, onPostgres, openTestDb, tmpDir } from '../helpers/db.js';

const SRC = path.join(import.meta.dirname, '..', '..', 'src');
const CLASS_TEST = /instanceof\s+(PostgresDb|PgliteDb)\b/;

/** Files under `root` (but not under `root/db`) that ask a Db for its class, as `file:line`. */
function classTests(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== path.join(root, 'db')) walk(p);
      } else if (/\.(ts|mts|js)$/.test(e.name)) {
        fs.readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          if (CLASS_TEST.test(line)) found.push(`${path.relative(root, p)}:${i + 1}`);
        });
      }
    }
  };
  walk(root);
  return found;
}

describe('the Db port is asked, not the class', () => {
  it('no code outside src/db tests `instanceof PostgresDb` or `instanceof PgliteDb`', () => {
    // Use db.capabilities (or a function in src/db) instead; see docs/architecture.md.
    expect(classTests(SRC)).toEqual([]);
  });

  it('the check finds such a test, and lets src/db have one', () => {
    const root = tmpDir('rv-port-');
    fs.mkdirSync(path.join(root, 'cli'));
    fs.mkdirSync(path.join(root, 'db'));
    fs.writeFileSync(path.join(root, 'cli', 'x.ts'), "const a = 1;\nif (db instanceof PgliteDb) a;\n");
    fs.writeFileSync(path.join(root, 'db', 'y.ts'), 'if (db instanceof PostgresDb) 1;\n');
    expect(classTests(root)).toEqual([path.join('cli', 'x.ts') + ':2']);
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe(`db.capabilities (${engineName})`, () => {
  it('the test database says what it is', async () => {
    const t = await openTestDb();
    try {
      if (onPostgres) {
        expect(t.db.capabilities).toEqual({
          sessions: 'many',
          serverProcess: true,
          backup: 'pg_dump',
          socket: false,
          interruptible: true,
          url: t.target!.url,
        });
      } else {
        // In memory: ending a statement would restart the engine and lose the data.
        expect(t.db.capabilities).toEqual({ sessions: 'one-shared', serverProcess: false, backup: 'data-dir', socket: true, interruptible: false });
      }
    } finally {
      await t.close();
    }
  });

  it.skipIf(!onPostgres)('a server cannot be served on our socket, nor backed up as a data directory', async () => {
    const t = await openTestDb();
    try {
      expect(t.db.dumpDataDir).toBeUndefined();
      await expect(serveSocket(t.db, '127.0.0.1', 0, { password: 'x' })).rejects.toMatchObject({ code: 'E_USAGE' });
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(onPostgres)('capabilities of the embedded engine, in this process and behind its socket', () => {
  let home: string;
  let db: PgliteDb;
  let socket: ServedSocket;
  const PASSWORD = 'p@ss word/with:odd chars';

  beforeAll(async () => {
    home = tmpDir('rv-port-home-');
    db = await PgliteDb.open(path.join(home, 'pgdata'));
    socket = await serveSocket(db, '127.0.0.1', 0, { password: PASSWORD });
  });
  afterAll(async () => {
    await socket?.stop();
    await db?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('on a data directory a statement can be interrupted, and the data directory is dumped by this process', async () => {
    expect(db.capabilities).toEqual({ sessions: 'one-shared', serverProcess: false, backup: 'data-dir', socket: true, interruptible: true });
    const dir = tmpDir('rv-port-backup-');
    const info = await backupDatabase(db, dir, 'port');
    expect(info.format).toBe('pglite-datadir');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a pool on the socket shares the one backend: no pg_dump, no socket of its own, the real URL kept apart from location', async () => {
    const url = socketUrl(socket, PASSWORD);
    const remote = await PostgresDb.open(url, { max: 1 });
    try {
      expect(remote.capabilities).toEqual({ sessions: 'one-shared', serverProcess: true, backup: 'data-dir', socket: false, interruptible: true, url });
      expect(remote.location).not.toContain(encodeURIComponent(PASSWORD));
      const dir = tmpDir('rv-port-backup-');
      await expect(backupDatabase(remote, dir, 'port')).rejects.toMatchObject({ code: 'E_BACKUP', message: expect.stringContaining('Postgres socket') });
      expect(fs.readdirSync(dir)).toEqual([]);
      fs.rmSync(dir, { recursive: true, force: true });
      await expect(serveSocket(remote, '127.0.0.1', 0, { password: 'x' })).rejects.toMatchObject({ code: 'E_USAGE' });
    } finally {
      await remote.close();
    }
  });

  it('a pg_dump archive is not restored into the embedded engine', async () => {
    const file = path.join(os.tmpdir(), `rv-port-${process.pid}.dump`);
    fs.writeFileSync(file, 'not an archive');
    try {
      await expect(restoreServerDatabase(db, file)).rejects.toMatchObject({ code: 'E_USAGE' });
      expect((await db.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
