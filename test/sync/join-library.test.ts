/**
 * The component library on a sync network: the master registers it (an ordinary, captured write);
 * a joined node writes nothing itself (robbieblocks_components is hub → node, read-only there)
 * and receives it from the master. Migrating, registering and starting the builder on a node work.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadComponentLibrary, registerComponentLibrary } from '../../src/blocks/library.js';
import { startBlocksWorker } from '../../src/blocks/worker.js';
import { asServerError } from '../../src/errors.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { syncRole } from '../../src/sync/role.js';
import { copyLibrary } from '../blocks/helpers.js';
import { engineName, tmpDir } from '../helpers/db.js';
import { closeAll, count, createHub, createNode, joinNode, nodeKinds, sync, type Hub, type SyncNode } from '../helpers/sync.js';

const KEYS = loadComponentLibrary().map((c) => c.key);
const components = (db: Hub['db']) =>
  db
    .query<{ id: string; component_key: string; css_styles: string; updated_at: Date }>(
      'SELECT id::text, component_key, css_styles, updated_at FROM robbieblocks_components ORDER BY component_key',
    )
    .then((r) => r.rows);

describe(`the component library on a sync network (${engineName})`, () => {
  let hub: Hub;
  let node: SyncNode;
  const dirs: string[] = [];

  beforeAll(async () => {
    [hub, node] = await Promise.all([createHub(), createNode('lib', nodeKinds()[0])]);
    await joinNode(hub, node, 'library-node');
  });
  afterAll(async () => {
    await closeAll();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('the node holds the master\'s library, with the same ids, and writes none of it itself', async () => {
    expect(await syncRole(node.db)).toBe('node');
    expect(await syncRole(hub.db)).toBe('hub');
    const onHub = await components(hub.db);
    expect(onHub.map((c) => c.component_key).sort()).toEqual([...KEYS].sort());
    expect(await components(node.db)).toEqual(onHub);

    // an ordinary write is refused there, which is why registration must stand aside
    const err = await node.db
      .query(`UPDATE robbieblocks_components SET version = '9.9.9' WHERE component_key = 'robbie-bar'`)
      .catch((e: unknown) => e);
    expect(asServerError(err)?.code).toBe('25006');

    const again = await migrate(node.db, { files: embeddedMigrations() });
    expect(again.library).toEqual({ inserted: [], updated: [], unchanged: [], skipped: KEYS });
    expect(await registerComponentLibrary(node.db)).toEqual({ inserted: [], updated: [], unchanged: [], skipped: KEYS });
    expect(await components(node.db)).toEqual(onHub);
  });

  it('the builder starts on a node (its start registers nothing there)', async () => {
    const deployRoot = tmpDir('rv-lib-node-sites-');
    dirs.push(deployRoot);
    const worker = await startBlocksWorker({ db: node.db, deployRoot, nodeKeys: ['library-node'], quietMs: 50, retries: 0 });
    await worker.stop();
  });

  it('on the master registration is captured: a changed library reaches the node with the next pull', async () => {
    const logged = () => count(hub.db, `SELECT count(*) AS v FROM sync.change_log WHERE table_name = 'robbieblocks_components'`);
    const before = await logged();
    expect((await migrate(hub.db, { files: embeddedMigrations() })).library?.unchanged).toEqual(KEYS);
    expect(await logged()).toBe(before);

    const dir = copyLibrary();
    dirs.push(dir);
    fs.appendFileSync(path.join(dir, 'components', 'robbie-bar', 'styles.css'), '\n.robbie-bar--from-master { order: 1; }\n');
    expect((await registerComponentLibrary(hub.db, { dir })).updated).toEqual(['robbie-bar']);
    expect(await logged()).toBe(before + 1);
    await sync(node);
    const bar = (await components(node.db)).find((c) => c.component_key === 'robbie-bar')!;
    expect(bar.css_styles).toContain('robbie-bar--from-master');
    expect(await components(node.db)).toEqual(await components(hub.db));

    // the master's next migrate brings the bundled library back, and the node follows
    expect((await migrate(hub.db, { files: embeddedMigrations() })).library?.updated).toEqual(['robbie-bar']);
    await sync(node);
    expect(await components(node.db)).toEqual(await components(hub.db));
    expect((await components(node.db)).find((c) => c.component_key === 'robbie-bar')!.css_styles).not.toContain('from-master');
  });
});
