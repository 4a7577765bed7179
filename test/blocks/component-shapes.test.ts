/**
 * Component source in the shapes people write it (docs/blocks.md, "Component source"), and a
 * props schema written as a plain map of properties: what validation says about content in the
 * database, and which component the builder picks from a source that declares several.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentModule } from '../../src/blocks/component-source.js';
import { readSnapshot } from '../../src/blocks/snapshot.js';
import { validateSnapshot } from '../../src/blocks/validate.js';
import { engineName } from '../helpers/db.js';
import { blocksFixture, type BlocksFixture } from './helpers.js';
import { insertShapesPage, SHAPES } from './shapes-fixture.js';

describe(`component shapes and plain-map props schemas (${engineName})`, () => {
  let fx: BlocksFixture;
  let nodeId: string;
  const issues = async () => (await validateSnapshot(await readSnapshot(fx.db, nodeId, 'play'))).map((i) => i.message);
  const setBlock = (key: string, set: string, params: unknown[]) =>
    fx.db.query(`UPDATE robbieblocks_components SET ${set} WHERE component_key = '${key}'`, params);

  beforeAll(async () => {
    fx = await blocksFixture();
    nodeId = (await fx.db.query<{ id: string }>(`SELECT id FROM nodes WHERE node_key = 'vengeance-local'`)).rows[0]!.id;
    await insertShapesPage(fx.db);
  }, 120_000);
  afterAll(() => fx?.close());

  it('a page with one block per shape, each with a plain-map props schema, is valid', async () => {
    expect(await issues()).toEqual([]);
  });

  it('a plain-map props schema validates the props: a wrong type is refused, naming the prop', async () => {
    await fx.db.query(`UPDATE robbieblocks_page_blocks SET props = '{"greeting": 5}' WHERE block_order = 2`);
    expect(await issues()).toEqual(['page "shapes" block 2 (shape-const-arrow): props invalid: /greeting must be string']);
    await fx.db.query(`UPDATE robbieblocks_page_blocks SET props = '{"greeting": "const arrow says hi", "extra": true}' WHERE block_order = 2`);
    expect(await issues()).toEqual([]);
  });

  it('a full JSON Schema is used as it is', async () => {
    await setBlock('shape-const-arrow', `props_schema = $1::jsonb`, [
      JSON.stringify({ type: 'object', additionalProperties: false, properties: { greeting: { type: 'string', maxLength: 5 } } }),
    ]);
    expect((await issues())[0]).toMatch(/block 2 \(shape-const-arrow\): props invalid: (\/greeting must NOT have more than 5 characters|\(props\) must NOT have additional properties)/);
    await setBlock('shape-const-arrow', `props_schema = '{"greeting": {"type": "string"}}'`, []);
    await fx.db.query(`UPDATE robbieblocks_page_blocks SET props = '{"greeting": "const arrow says hi"}' WHERE block_order = 2`);
    expect(await issues()).toEqual([]);
  });

  it('a source in no accepted shape fails with the list of shapes and what to do', async () => {
    const before = SHAPES[1]!.code;
    await setBlock('shape-const-arrow', `react_code = $1`, ['const greeting = (props) => <p>{props.greeting}</p>;\nconsole.log(greeting);\n']);
    const [msg, ...rest] = await issues();
    expect(rest).toEqual([]);
    expect(msg).toContain('component "shape-const-arrow" has no component to render ("greeting" starts with a lower-case letter');
    for (const shape of [
      '(1) export default function ShapeConstArrow(props)',
      '(2) a top-level function ShapeConstArrow(props)',
      '(3) a top-level const ShapeConstArrow = (props) =>',
      '(4) a top-level class ShapeConstArrow extends React.Component',
      '(5) a bare JSX element or fragment',
    ]) {
      expect(msg).toContain(shape);
    }
    expect(msg).toMatch(/Write the component in one of these shapes/);
    await setBlock('shape-const-arrow', `react_code = $1`, [before]);
    expect(await issues()).toEqual([]);
  });

  it('code that does not parse still says so', async () => {
    const before = SHAPES[1]!.code;
    await setBlock('shape-const-arrow', `react_code = $1`, ['const ShapeConstArrow = (props) => <p>{props.greeting}</div>;']);
    expect((await issues())[0]).toMatch(/^component "shape-const-arrow" does not compile: /);
    await setBlock('shape-const-arrow', `react_code = $1`, [before]);
  });
});

describe('which component a source with several is', () => {
  const pick = async (code: string, key = 'greeting-card', name: string | null = null) => {
    const r = await componentModule({ component_key: key, component_name: name, react_code: code });
    if (!r.ok) throw new Error(r.error);
    return { shape: r.module.shape, name: r.module.name, code: r.module.code };
  };

  it('a default export, whatever else is declared', async () => {
    const code = `function GreetingCard() { return null; }\nexport default function Other() { return <i />; }\n`;
    expect(await pick(code)).toEqual({ shape: 'default-export', name: 'GreetingCard', code });
  });

  it('the one named after the key (PascalCase), else after component_name, before later ones', async () => {
    expect((await pick(`function GreetingCard() { return <b />; }\nfunction Footer() { return null; }\n`)).name).toBe('GreetingCard');
    expect((await pick(`const Hello = () => <b />;\nconst Footer = () => null;\n`, 'greeting-card', 'Hello')).name).toBe('Hello');
  });

  it('else a bare JSX expression ending the source, using the helpers above it', async () => {
    const r = await pick(`const Item = ({ t }) => <li>{t}</li>;\n<ul>{props.items.map((t) => <Item key={t} t={t} />)}</ul>\n`);
    expect(r).toMatchObject({ shape: 'jsx', name: 'GreetingCard' });
    expect(r.code).toContain('const GreetingCard = (props: any) => (\n<ul>');
    expect(r.code).toMatch(/export default GreetingCard;\n$/);
  });

  it('else the last capitalised component declared; lower-case functions and non-components are not candidates', async () => {
    const r = await pick(`const Label = memo(function Label(p) { return <i>{p.t}</i>; });\nfunction helper() { return 1; }\nconst Card = (props) => <Label t={props.t} />;\nconst Answer = 42;\n`);
    expect(r).toMatchObject({ shape: 'const', name: 'Card' });
    expect(r.code).toMatch(/\nexport default Card;\n$/);
  });

  it('React is brought into scope only when the source uses it without importing it', async () => {
    expect((await pick(`function GreetingCard() { const [a] = React.useState(1); return <p>{a}</p>; }`)).code).toMatch(/^import \* as React from 'react'; function GreetingCard/);
    expect((await pick(`import React from 'react';\nfunction GreetingCard() { return <React.Fragment />; }`)).code).toMatch(/^import React from 'react';/);
    expect((await pick(`function GreetingCard() { return <p />; }`)).code).not.toContain(`import * as React`);
  });

  it('a class component', async () => {
    expect(await pick(`class GreetingCard extends React.Component { render() { return <p>{this.props.t}</p>; } }`)).toMatchObject({ shape: 'class', name: 'GreetingCard' });
  });
});
