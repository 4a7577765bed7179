import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineName, tmpDir } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

/**
 * Bad option values, environment and config are usage errors: exit 2 with a message saying what
 * to do, found before anything is opened (no home directory appears, no port is listened on).
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function fresh(): { cwd: string; home: string } {
  const cwd = tmpDir('rv-usage-');
  dirs.push(cwd);
  return { cwd, home: path.join(cwd, 'home') };
}

const CASES: { args: string[]; env?: Record<string, string>; message: RegExp }[] = [
  { args: ['up', '--port', '99999'], message: /argument '99999' is invalid\. 99999 is not a port: use a port from 0 to 65535/ },
  { args: ['up', '--api-port', 'abc'], message: /'abc' is invalid\. abc is not a port/ },
  { args: ['up', '--site-port', '-1'], message: /-1 is not a port/ },
  { args: ['up', '--port', '8.5'], message: /8\.5 is not a port/ },
  { args: ['serve', '--port', '70000'], message: /70000 is not a port/ },
  { args: ['up', '--api-host', 'not a host'], message: /--api-host not a host: not a host name or address\nhint: for example --api-host 127\.0\.0\.1/ },
  { args: ['serve', '--host', 'a/b'], message: /--host a\/b: not a host name or address/ },
  { args: ['up', '--admin-email', 'nobody'], message: /--admin-email nobody: not an e-mail address/ },
  { args: ['db', 'migrate', '--lock-timeout', '5x'], message: /--lock-timeout 5x: not a duration\nhint: examples: 500ms, 30s, 2m/ },
  { args: ['db', 'migrate', '--batch-size', 'abc'], message: /--batch-size \(not a number\): not a whole number from 1/ },
  { args: ['blocks', 'worker', '--poll', '0'], message: /--poll 0: must be longer than 0/ },
  { args: ['blocks', 'worker', '--keep', '0'], message: /--keep 0: not a whole number from 1 to 1000/ },
  { args: ['blocks', 'deploy', 'vengeance-local', 'play', '--timeout', 'soon'], message: /--timeout soon: not a duration/ },
  { args: ['blocks', 'deploys', '--status', 'done'], message: /--status done: not one of pending, building, deploying, success, failed, skipped/ },
  { args: ['blocks', 'deploys', '--limit', '-3'], message: /--limit -3: not a whole number/ },
  { args: ['blocks', 'pages', '--status', 'live'], message: /--status live: not one of draft, published, archived/ },
  { args: ['keys', 'create', '--user', 'ann@acme.example', '--org', 'Acme', '--name', 'x', '--expires', '3q'], message: /--expires 3q: not a lifetime or a future date/ },
  { args: ['keys', 'create', '--user', 'ann', '--org', 'Acme', '--name', 'x'], message: /--user ann: not an e-mail address/ },
  { args: ['users', 'create', '--email', 'nope', '--org', 'Acme'], message: /--email nope: not an e-mail address/ },
  { args: ['orgs', 'create', '--name', ' '], message: /--name must not be empty/ },
  { args: ['db', 'status', '--url', 'postgres://db.example:99999/x'], message: /unsupported database URL "postgres:\/\/db\.example:99999\/x"/ },
  { args: ['up'], env: { ROBBIEVERSE_API_PORT: 'abc' }, message: /ROBBIEVERSE_API_PORT=abc is not a whole number from 0 to 65535\nhint: set a port from 0 to 65535 \(0 = any free port\), or unset ROBBIEVERSE_API_PORT/ },
  { args: ['up'], env: { ROBBIEVERSE_SITE_PORT: '99999' }, message: /ROBBIEVERSE_SITE_PORT=99999 is not a whole number/ },
  { args: ['up'], env: { ROBBIEVERSE_SOCKET_PORT: '-1' }, message: /ROBBIEVERSE_SOCKET_PORT=-1 is not a whole number/ },
  { args: ['db', 'status'], env: { ROBBIEVERSE_LOG_LEVEL: 'loud' }, message: /ROBBIEVERSE_LOG_LEVEL=loud is not a log level\nhint: use one of fatal, error, warn, info, debug, trace, silent/ },
  { args: ['db', 'status'], env: { ROBBIEVERSE_LOCK_TIMEOUT_MS: '0' }, message: /ROBBIEVERSE_LOCK_TIMEOUT_MS=0 is not a whole number from 1/ },
  { args: ['serve'], env: { ROBBIEVERSE_CORS_ORIGINS: 'app.example.com' }, message: /"app\.example\.com" is not a browser origin/ },
  { args: ['serve'], env: { ROBBIEVERSE_API_HOST: 'a b' }, message: /ROBBIEVERSE_API_HOST=a b is not a host name or address/ },
];

describe(`usage errors exit 2 before anything opens (${engineName})`, () => {
  // concurrent: each case is a separate process that exits within a second or two
  it.concurrent.each(CASES.map((c) => [[...c.args, ...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`)].join(' '), c] as const))('%s', async (_name, c) => {
    const { cwd, home } = fresh();
    const r = await runCli([...c.args, '--home', home], { cwd, env: c.env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(c.message);
    expect(r.stdout).toBe('');
    // nothing was opened or created: no home, no lock, no data directory
    expect(fs.existsSync(home), `${home} exists`).toBe(false);
  });

  it('config file values are checked too (ports and unknown keys), with the allowed keys as the hint', async () => {
    const { cwd, home } = fresh();
    fs.writeFileSync(path.join(cwd, 'robbieverse.config.json'), JSON.stringify({ apiPort: 99999, sitePort: 'x' }));
    const r = await runCli(['up', '--home', home], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/apiPort: Too big: expected number to be <=65535; sitePort: Invalid input: expected number/);
    expect(r.stderr).toMatch(/hint: allowed keys: .*sitePort/);
    expect(fs.existsSync(home)).toBe(false);
  });

  it('with --json the usage error is JSON on stdout, code E_USAGE', async () => {
    const { cwd, home } = fresh();
    const r = await runCli(['db', 'status', '--json', '--url', 'foo://x', '--home', home], { cwd });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_USAGE', message: expect.stringMatching(/--url: unsupported database URL "foo:\/\/x"/), hint: expect.stringMatching(/postgres:\/\//) } });
  });

  it('good values pass the checks and reach the command (here: it tries to connect, exit 5)', async () => {
    const { cwd, home } = fresh();
    const r = await runCli(['blocks', 'deploys', '--status', 'failed', '--limit', '5', '--url', 'postgres://nobody@127.0.0.1:1/none', '--home', home], {
      cwd,
      env: { ROBBIEVERSE_LOG_LEVEL: 'warn', ROBBIEVERSE_API_PORT: '0', ROBBIEVERSE_CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' },
    });
    expect(r.code, r.stderr).toBe(5);
  });
});
