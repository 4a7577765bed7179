import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLock } from '../../src/db/home-lock.js';
import { copyFixture, onPostgres, tmpDir } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr } from '../helpers/cli.js';

// The home lock and the socket belong to the embedded engine; the PostgreSQL pass skips them.
describe.skipIf(onPostgres)('the embedded home: one owner, others through the socket', () => {
  let home: string;
  let slow: string;
  beforeAll(() => {
    home = tmpDir('rv-home-');
    slow = copyFixture('slow');
  });
  afterAll(() => {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(slow, { recursive: true, force: true });
  });

  it('refuses a second process, naming the holder, while the first keeps working', async () => {
    fs.writeFileSync(path.join(slow, '001-control.sql'), 'CREATE TABLE control (sleep_seconds double precision NOT NULL);\nINSERT INTO control VALUES (4);\n');
    const first = spawnCli(['db', 'migrate', '--migrations', slow, '--home', home]);
    await waitForStderr(first, /002-slow … /);
    const second = await runCli(['db', 'query', 'SELECT 1', '--home', home]);
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`is open in process ${first.child.pid}`);
    expect(second.stderr).toMatch(/hint: wait for it to finish, stop it/);
    const firstDone = await first.done;
    expect(firstDone.code, firstDone.stderr).toBe(0);
    expect(firstDone.stderr).toMatch(/applied 2 migrations/);
    expect(readLock(home)).toBeUndefined();
    const after = await runCli(['db', 'query', 'SELECT count(*)::int AS n FROM robbieverse_meta.schema_migrations', '--home', home, '--json']);
    expect(json(after).rows[0].n).toBe(2);
  });

  it('while `up` runs, db query, db status and psql work through its socket; SIGTERM releases the lock', async () => {
    const upHome = tmpDir('rv-up-home-');
    const up = spawnCli(['up', '--home', upHome, '--port', '0', '--api-port', '0', '--no-sites']);
    await waitForStderr(up, /press Ctrl-C to stop/);
    expect(up.stderr()).toMatch(/000-extensions … done/);
    const sock = /socket:\s+127\.0\.0\.1:(\d+)/.exec(up.stderr());
    expect(sock).toBeTruthy();
    expect(readLock(upHome)).toMatchObject({ pid: up.child.pid, socket: { host: '127.0.0.1', port: Number(sock![1]) } });

    const q = await runCli(['db', 'query', "SELECT name FROM robbieverse_meta.schema_migrations WHERE name = '000-extensions'", '--home', upHome, '--json']);
    expect(q.code, q.stderr).toBe(0);
    expect(json(q).rows).toEqual([{ name: '000-extensions' }]);
    const s = await runCli(['db', 'status', '--home', upHome]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/through the socket of the running `robbieverse up`/);
    const w = await runCli(['db', 'query', 'CREATE TABLE made_through_socket (id int); INSERT INTO made_through_socket VALUES (7)', '--home', upHome]);
    expect(w.code, w.stderr).toBe(0);

    // psql signs in with the password file `up` names; the password is in no URL or command line.
    const pgpass = path.join(upHome, 'pgpass');
    expect(up.stderr()).toContain(`PGPASSFILE=${pgpass} psql "host=127.0.0.1 port=${sock![1]} user=postgres dbname=postgres"`);
    const password = /^\*:\*:\*:postgres:(.+)$/m.exec(fs.readFileSync(pgpass, 'utf8'))![1]!;
    expect(up.stderr()).not.toContain(password);
    const conn = `host=127.0.0.1 port=${sock![1]} user=postgres dbname=postgres`;
    const psql = spawnSync('psql', [conn, '-At', '-c', 'SELECT id FROM made_through_socket'], { encoding: 'utf8', env: { ...process.env, PGPASSFILE: pgpass } });
    expect(psql.status, psql.stderr).toBe(0);
    expect(psql.stdout.trim()).toBe('7');
    // Wrong password, another user name, no password: refused as PostgreSQL refuses them.
    for (const [user, pw] of [['postgres', 'wrong'], ['mallory', password], ['postgres', '']] as const) {
      const bad = spawnSync('psql', [`host=127.0.0.1 port=${sock![1]} user=${user} dbname=postgres`, '-w', '-At', '-c', 'SELECT email, password_hash FROM users'], {
        encoding: 'utf8',
        env: { ...process.env, PGPASSWORD: pw, PGPASSFILE: '/dev/null' },
      });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(pw ? new RegExp(`FATAL:  password authentication failed for user "${user}"`) : /no password supplied/);
      expect(bad.stdout).toBe('');
    }
    // Owner-only: the home and its password file.
    expect(fs.statSync(upHome).mode & 0o077).toBe(0);
    expect(fs.statSync(pgpass).mode & 0o777).toBe(0o600);

    // A reset must not go through someone else's socket.
    const reset = await runCli(['db', 'reset', '--yes', '--home', upHome]);
    expect(reset.code).toBe(4);

    up.child.kill('SIGTERM');
    const r = await up.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/SIGTERM: stopping/);
    expect(readLock(upHome)).toBeUndefined();
    // The data written through the socket is on disk.
    const after = await runCli(['db', 'query', 'SELECT id FROM made_through_socket', '--home', upHome, '--json']);
    expect(json(after).rows).toEqual([{ id: 7 }]);
    fs.rmSync(upHome, { recursive: true, force: true });
  });

  it('takes over a lock left by a killed process', async () => {
    fs.writeFileSync(path.join(home, 'lock.json'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname(), startedAt: 'then', command: 'gone' }));
    const r = await runCli(['db', 'query', 'SELECT 1 AS one', '--home', home, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(readLock(home)).toBeUndefined();
  });
});
