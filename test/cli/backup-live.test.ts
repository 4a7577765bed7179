import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, tmpDir } from '../helpers/db.js';
import { json, runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';
import { contentChecksum, modeOf } from '../db/restore-helpers.js';

const env = { ROBBIEVERSE_SOCKET_PORT: '0' };

/** One raw request on the control channel, as any local program could send it. */
function rawRequest(sock: string, line: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(line));
    c.on('data', (d) => (buf += d));
    c.on('end', () => resolve(JSON.parse(buf)));
    c.on('error', reject);
  });
}

describe.skipIf(onPostgres)('db backup while `robbieverse up` runs on the embedded home (pglite)', () => {
  let root: string;
  let home: string;
  let up: Spawned;
  beforeAll(async () => {
    root = tmpDir('rv-backup-live-');
    home = path.join(root, 'home');
    up = spawnCli(['up', '--home', home, '--port', '0', '--no-api', '--no-sites'], { env });
    await waitForStderr(up, /press Ctrl-C to stop/, 180_000);
    const r = await runCli(['db', 'query', `CREATE TABLE kept (id int PRIMARY KEY, note text, v vector(3));
      INSERT INTO kept SELECT g, 'row ' || g || ' ✓', ARRAY[g, g * 2, g * 3]::vector FROM generate_series(1, 2000) g;
      INSERT INTO organizations (name, domain) VALUES ('Backup Test Org', 'backup.example')`, '--home', home], { env });
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    if (up && up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGTERM');
      await up.done;
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the home is owner-only and up serves a 0600 control socket in it', () => {
    expect(modeOf(home)).toBe(0o700);
    expect(fs.statSync(path.join(home, 'control.sock')).isSocket()).toBe(true);
    expect(modeOf(path.join(home, 'control.sock'))).toBe(0o600);
    expect(modeOf(path.join(home, 'lock.json'))).toBe(0o600);
  });

  it('makes a verified, owner-only backup through up, which restores into a new home with the same content', async () => {
    const dir = path.join(root, 'backups', 'nested');
    const b = await runCli(['db', 'backup', '--home', home, '--backup-dir', dir, '--json'], { env });
    expect(b.code, b.stderr).toBe(0);
    const info = json(b);
    expect(info.format).toBe('pglite-datadir');
    expect(path.dirname(info.path)).toBe(dir);
    expect(info.bytes).toBe(fs.statSync(info.path).size);
    expect(modeOf(info.path)).toBe(0o600);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.dirname(dir))).toBe(0o700);
    expect(fs.readdirSync(dir)).toEqual([path.basename(info.path)]); // no temporary file left
    expect(up.child.exitCode).toBeNull(); // up keeps running

    const live = await contentChecksum(['--home', home]); // through up's socket
    expect(live).toMatch(/public\.kept 2000 [0-9a-f]{32}/);
    const fresh = path.join(root, 'restored-home');
    const r = await runCli(['db', 'restore', info.path, '--yes', '--home', fresh], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/checked: PostgreSQL \d+, \d+ migrations applied, 0 pending/);
    expect(modeOf(fresh)).toBe(0o700);
    expect(await contentChecksum(['--home', fresh])).toBe(live);
  }, 180_000);

  it('refuses malformed control requests and writes nothing', async () => {
    const sock = path.join(home, 'control.sock');
    const target = path.join(root, 'evil');
    for (const line of [
      'not json\n',
      '[1]\n',
      '{"op":"delete","dir":"/tmp"}\n',
      `{"op":"backup","dir":"relative/dir"}\n`,
      `{"op":"backup","dir":${JSON.stringify(target)},"label":"../../escape"}\n`,
      `{"op":"backup","dir":${JSON.stringify(target)},"label":"ok","path":"/etc/x"}\n`,
    ]) {
      const r = await rawRequest(sock, line);
      expect(r.ok, line).toBe(false);
      expect(r.error.code).toBe('E_USAGE');
      expect(r.error.message).toMatch(/^bad control request/);
      expect(r.error.hint).toBeTruthy();
    }
    expect(fs.existsSync(target)).toBe(false);
    expect(await rawRequest(sock, '{"op":"ping"}\n')).toEqual({ ok: true, pid: up.child.pid });
    // the CLI reports a refused label with the project's error shape
    const bad = await runCli(['db', 'backup', '--home', home, '--backup-dir', target, '--label', 'a/b'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/label must be/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('stops cleanly and removes its control socket', async () => {
    up.child.kill('SIGTERM');
    const done = await up.done;
    expect(done.code, done.stderr).toBe(0);
    expect(fs.existsSync(path.join(home, 'control.sock'))).toBe(false);
  }, 60_000);
});
