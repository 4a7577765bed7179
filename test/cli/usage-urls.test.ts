import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configuredApiOrigin, reachableOrigin } from '../../src/cli/api-address.js';
import { createTarget, engineName, type TestTarget } from '../helpers/db.js';
import { runCli, spawnCli, waitForStderr, type Spawned } from '../helpers/cli.js';

/**
 * The URLs commands print are the ones in use: `serve --port 0` listens on some free port, and
 * `keys create` run meanwhile prints a curl for that port (not 8787), which answers.
 */
const env = { ROBBIEVERSE_SOCKET_PORT: '0', ROBBIEVERSE_API_PORT: undefined, ROBBIEVERSE_ADMIN_EMAIL: undefined };

describe(`printed URLs are the ones in use (${engineName})`, () => {
  let t: TestTarget;
  let serve: Spawned | undefined;
  const cli = (args: string[]) => runCli([...args, ...t.args], { env });

  beforeAll(async () => {
    t = await createTarget();
    const m = await cli(['db', 'migrate']);
    expect(m.code, m.stderr).toBe(0);
  });
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      await serve.done;
    }
    await t.cleanup();
  });

  it('keys create prints the running API of `serve --port 0`, and that curl answers', async () => {
    serve = spawnCli(['serve', '--port', '0', ...t.args], { env });
    await waitForStderr(serve, /press Ctrl-C to stop/);
    const origin = /API: (http:\/\/127\.0\.0\.1:(\d+))\/api/.exec(serve.stderr())![1]!;
    expect(origin).not.toBe('http://127.0.0.1:8787');
    const u = await cli(['users', 'create', '--email', 'ann@acme.example', '--org', 'Default Organization', '--role', 'admin', '--json']);
    expect(u.code, u.stderr).toBe(0);
    const k = await cli(['keys', 'create', '--user', 'ann@acme.example', '--org', 'Default Organization', '--name', 'urls']);
    expect(k.code, k.stderr).toBe(0);
    const curl = /curl -s (http:\/\/\S+)\/api\/me -H 'Authorization: Bearer (rvk_\S+)'/.exec(k.stdout);
    expect(curl, k.stdout).toBeTruthy();
    expect(curl![1]).toBe(origin);
    const me = await fetch(`${curl![1]}/api/me`, { headers: { authorization: `Bearer ${curl![2]}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { email: 'ann@acme.example' }, via: 'api_key' });
  });

  it('once serve has stopped, the configured address is printed again', async () => {
    serve!.child.kill('SIGTERM');
    await serve!.done;
    const k = await runCli(['keys', 'create', '--user', 'ann@acme.example', '--org', 'Default Organization', '--name', 'after', ...t.args], { env: { ...env, ROBBIEVERSE_API_PORT: '9123' } });
    expect(k.code, k.stderr).toBe(0);
    expect(k.stdout).toMatch(/curl -s http:\/\/127\.0\.0\.1:9123\/api\/me/);
  });

  it('wildcard listen addresses are printed as loopback; port 0 without a running API says PORT', () => {
    expect(reachableOrigin('http://0.0.0.0:8080')).toBe('http://127.0.0.1:8080');
    expect(reachableOrigin('http://[::]:8080')).toBe('http://[::1]:8080');
    expect(reachableOrigin('http://:::8801/')).toBe('http://[::1]:8801/');
    expect(reachableOrigin('http://10.0.0.5:8080')).toBe('http://10.0.0.5:8080');
    expect(configuredApiOrigin({ apiHost: '0.0.0.0', apiPort: 0 })).toBe('http://127.0.0.1:PORT');
    expect(configuredApiOrigin({ apiHost: '::1', apiPort: 9000 })).toBe('http://[::1]:9000');
  });
});
