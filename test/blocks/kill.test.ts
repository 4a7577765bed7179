import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitForStderr } from '../helpers/cli.js';
import { createTarget, engineName, tmpDir, type TestTarget } from '../helpers/db.js';
import { deploys, SEED_EXAMPLE } from './helpers.js';

describe(`RobbieBlocks worker killed mid-build (${engineName})`, () => {
  let t: TestTarget;
  let root: string;
  beforeAll(async () => {
    t = await createTarget();
    root = tmpDir('rv-blocks-kill-');
    const m = await runCli(['db', 'migrate', ...t.args]);
    expect(m.code, m.stderr).toBe(0);
    const sync = await runCli(['blocks', 'components', 'sync', ...t.args]);
    expect(sync.code, sync.stderr).toBe(0);
    const db = await t.open();
    await db.exec(SEED_EXAMPLE);
    await db.close();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('kill -9 during a build: after a restart the change is built exactly once, and the live directory is never half-written', async () => {
    const args = ['blocks', 'worker', '--node', 'vengeance-local', '--quiet', '50ms', '--deploy-root', root, ...t.args];
    const w = spawnCli(args);
    await waitForStderr(w, /building vengeance-local\/play/);
    w.child.kill('SIGKILL');
    const dead = await w.done;
    expect(dead.signal).toBe('SIGKILL');

    const site = path.join(root, 'vengeance-local', 'play');
    const liveAfterKill = fs.existsSync(path.join(site, 'current'));
    if (liveAfterKill) expect(fs.existsSync(path.join(site, 'current', 'robbieblocks-release.json'))).toBe(true);
    let db = await t.open();
    const stuck = await deploys(db, `n.node_key = 'vengeance-local' AND d.app_namespace = 'play'`);
    await db.close();
    expect(stuck.map((d) => d.deploy_status)).toEqual(['building']);

    const again = await runCli(['blocks', 'worker', '--once', '--node', 'vengeance-local', '--quiet', '50ms', '--deploy-root', root, ...t.args]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/closed deploy .* of vengeance-local\/play: interrupted: builder .* is no longer running/);

    db = await t.open();
    const rows = await deploys(db, `n.node_key = 'vengeance-local' AND d.app_namespace = 'play'`);
    await db.close();
    expect(rows.map((d) => d.deploy_status)).toEqual(['failed', 'success']);
    expect(rows[0]!.error_message).toMatch(/^interrupted/);
    const ok = rows[1]!;
    expect(ok.pages_count).toBe(1);
    // The live release is complete, and nothing half-built is left next to it
    const current = fs.readlinkSync(path.join(site, 'current'));
    expect(current).toBe(path.join('releases', ok.release_id!));
    expect(fs.existsSync(path.join(site, 'current', 'index.html'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(site, 'current', 'robbieblocks-release.json'), 'utf8')).deploy_id).toBe(ok.id);
    expect(fs.readdirSync(path.join(site, 'releases')).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(fs.readdirSync(site).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('status, deploys and rollback on the CLI, readable and --json', async () => {
    const status = await runCli(['blocks', 'status', '--deploy-root', root, ...t.args]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/vengeance-local\s*\|\s*play\s*\|\s*yes\s*\|\s*\d{8}T/);
    const list = await runCli(['blocks', 'deploys', '--node', 'vengeance-local', '--app', 'play', '--json', ...t.args]);
    expect(JSON.parse(list.stdout).map((d: { deploy_status: string }) => d.deploy_status)).toEqual(['success', 'failed']);
    // a manual deploy of unchanged content is skipped; there is nothing earlier to roll back to
    const dep = await runCli(['blocks', 'deploy', 'vengeance-local', 'play', '--json', '--deploy-root', root, ...t.args]);
    expect(dep.code, dep.stderr).toBe(0);
    expect(JSON.parse(dep.stdout)).toMatchObject({ status: 'skipped' });
    const rb = await runCli(['blocks', 'rollback', '--node', 'vengeance-local', '--app', 'play', '--deploy-root', root, ...t.args]);
    expect(rb.code).toBe(2);
    expect(rb.stderr).toMatch(/no earlier release to roll back to/);
    const bad = await runCli(['blocks', 'deploy', 'no-such-node', 'play', ...t.args]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no node "no-such-node"[\s\S]*hint: known nodes: .*vengeance-local/);
  });

  it('--help has examples; the bundled components are listed without a database', async () => {
    const help = await runCli(['blocks', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/worker[\s\S]*status[\s\S]*deploy[\s\S]*rollback[\s\S]*components[\s\S]*demo/);
    expect(help.stdout).toContain('$ robbieverse blocks deploy vengeance-local play');
    const w = await runCli(['blocks', 'worker', '--help']);
    expect(w.stdout).toContain('--once');
    const list = await runCli(['blocks', 'components', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((c: { key: string }) => c.key)).toContain('sticky-notes');
  });
});
