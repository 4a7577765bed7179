/**
 * The component library is reference data of the schema: `db migrate` (the runner) registers it,
 * with ids from reference_uuid, writes nothing when it is unchanged, and the seed README's example
 * works on a database that was only migrated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  libraryArgumentSql, loadComponentLibrary, registerComponentLibrary, type LibraryComponent,
} from '../../src/blocks/library.js';
import type { Db } from '../../src/db/types.js';
import { embeddedMigrations } from '../../src/migrate/embedded.js';
import { migrate } from '../../src/migrate/runner.js';
import { startBlocksWorker } from '../../src/blocks/worker.js';
import { engineName, openTestDb, tmpDir } from '../helpers/db.js';
import { copyLibrary, SEED_EXAMPLE } from './helpers.js';

const KEYS = loadComponentLibrary().map((c) => c.key);

interface Row {
  id: string;
  component_key: string;
  updated_at: Date;
  reference: boolean;
}

const rows = async (db: Db) =>
  (
    await db.query<Row>(
      `SELECT id::text, component_key, updated_at, id = reference_uuid('robbieblocks_components', component_key) AS reference
         FROM robbieblocks_components ORDER BY component_key`,
    )
  ).rows;
const changeRows = async (db: Db) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM robbieblocks_change_triggers')).rows[0]!.n;

describe(`the component library is registered by db migrate (${engineName})`, () => {
  const closers: (() => Promise<void>)[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const fresh = async () => {
    const t = await openTestDb();
    closers.push(t.close);
    return t.db;
  };

  it('after migrate alone the seed example works; a second migrate writes nothing', async () => {
    const db = await fresh();
    const first = await migrate(db, { files: embeddedMigrations() });
    expect(first.library?.inserted.sort()).toEqual([...KEYS].sort());
    const before = await rows(db);
    expect(before.map((r) => r.component_key).sort()).toEqual([...KEYS].sort());
    expect(before.every((r) => r.reference)).toBe(true);

    await db.exec(SEED_EXAMPLE);
    // … and deploys once a builder runs
    const sites = tmpDir('rv-lib-ref-sites-');
    dirs.push(sites);
    const worker = await startBlocksWorker({ db, deployRoot: sites, nodeKeys: ['vengeance-local'], quietMs: 50, retries: 0 });
    await worker.idle();
    await worker.stop();
    const play = await db.query<{ deploy_status: string }>(
      `SELECT d.deploy_status FROM robbieblocks_deploys d JOIN nodes n ON n.id = d.node_id
        WHERE n.node_key = 'vengeance-local' AND d.app_namespace = 'play' ORDER BY d.created_at DESC LIMIT 1`,
    );
    expect(play.rows.map((r) => r.deploy_status)).toEqual(['success']);
    const triggers = await changeRows(db);
    const second = await migrate(db, { files: embeddedMigrations() });
    expect(second.applied).toEqual([]);
    expect(second.library).toEqual({ inserted: [], updated: [], unchanged: KEYS, skipped: [] });
    expect(await rows(db)).toEqual(before);
    expect(await changeRows(db)).toBe(triggers);
    // registerComponentLibrary() runs the same upsert
    expect(await registerComponentLibrary(db)).toEqual({ inserted: [], updated: [], unchanged: KEYS, skipped: [] });
    expect(await rows(db)).toEqual(before);
    expect(await changeRows(db)).toBe(triggers);

    // a changed component is updated in place (same id) and rebuilds the app whose page uses it
    const dir = copyLibrary();
    dirs.push(dir);
    fs.appendFileSync(path.join(dir, 'components', 'robbie-bar', 'styles.css'), '\n.robbie-bar--probe { display: none; }\n');
    const changed = await registerComponentLibrary(db, { dir });
    expect(changed.updated).toEqual(['robbie-bar']);
    const after = await rows(db);
    const bar = (list: Row[]) => list.find((r) => r.component_key === 'robbie-bar')!;
    expect(bar(after).id).toBe(bar(before).id);
    expect(bar(after).updated_at.getTime()).toBeGreaterThan(bar(before).updated_at.getTime());
    expect(await changeRows(db)).toBe(triggers + 1);
    // and the next migrate brings the bundled one back
    expect((await migrate(db, { files: embeddedMigrations() })).library?.updated).toEqual(['robbie-bar']);
  });

  it('a component that exists already keeps its id; new ones get reference ids', async () => {
    const db = await fresh();
    await migrate(db, { files: embeddedMigrations(), library: false });
    expect(await rows(db)).toEqual([]);
    const { rows: made } = await db.query<{ id: string }>(
      `INSERT INTO robbieblocks_components (component_key, component_name, component_type, react_code, props_schema, is_published)
       VALUES ('robbie-bar', 'RobbieBar', 'layout', 'export default function RobbieBar() { return null; }', '{}', true)
       RETURNING id::text`,
    );
    const r = await migrate(db, { files: embeddedMigrations() });
    expect(r.library?.updated).toEqual(['robbie-bar']);
    expect(r.library?.inserted).toHaveLength(KEYS.length - 1);
    const now = await rows(db);
    expect(now.find((x) => x.component_key === 'robbie-bar')).toMatchObject({ id: made[0]!.id, reference: false });
    expect(now.filter((x) => x.component_key !== 'robbie-bar').every((x) => x.reference)).toBe(true);
  });

  it('sources survive the SQL quoting exactly, even text that looks like its dollar quote', async () => {
    const db = await fresh();
    await migrate(db, { files: embeddedMigrations(), library: false });
    const tricky: LibraryComponent = {
      key: 'quote-probe', name: 'QuoteProbe', type: 'ui', version: '1.0.0', dependencies: ['react'], description: "it's $rb$",
      react_code: "export default function QuoteProbe() { return <p>{'$rb$ $rb1$ \\\\ ' + `$$`}</p>; }\n",
      css_styles: '.quote-probe::after { content: "$rb"; }',
      props_schema: { type: 'object', properties: { a: { type: 'string', default: "'$x$'" } } },
    };
    const { rows: back } = await db.query<{ c: Record<string, unknown> }>(`SELECT (${libraryArgumentSql([tricky])}) -> 0 AS c`);
    expect(back[0]!.c).toEqual({ ...tricky, props_schema: tricky.props_schema });
  });
});
