/** Components in each accepted source shape (docs/blocks.md, "Component source") and a page using them all. */
import type { Db } from '../../src/db/types.js';

export const SHAPES: { key: string; code: string; props: Record<string, unknown> }[] = [
  { key: 'shape-default-export', code: `export default function ShapeDefaultExport(props: { greeting: string }) {\n  return <p className="shape">{props.greeting}</p>;\n}\n`, props: { greeting: 'default export says hi' } },
  { key: 'shape-const-arrow', code: `const ShapeConstArrow = (props) => <p className="shape">{props.greeting}</p>;\n`, props: { greeting: 'const arrow says hi' } },
  { key: 'shape-const-function', code: `const Shout = (s: string) => s.toUpperCase();\nconst ShapeConstFunction = function (props) {\n  return <p className="shape">{Shout(props.greeting)}</p>;\n};\n`, props: { greeting: 'const function says hi' } },
  { key: 'shape-plain-function', code: `function Badge({ text }) {\n  return <b>{text}</b>;\n}\n\nfunction ShapePlainFunction(props) {\n  return <p className="shape"><Badge text={props.greeting} /></p>;\n}\n`, props: { greeting: 'plain function says hi' } },
  {
    key: 'shape-react-hooks',
    code: `function Counter(props) {\n  const [n, setN] = React.useState(0);\n  React.useEffect(() => { setN(props.start + 1); }, [props.start]);\n  return <p className="shape">{props.greeting} {n}</p>;\n}\n`,
    props: { greeting: 'hooks count to', start: 41 },
  },
  { key: 'shape-bare-jsx', code: `<div className="shape">{props.greeting}</div>\n`, props: { greeting: 'bare JSX says hi' } },
  { key: 'shape-fragment', code: `<>\n  <p className="shape">{props.greeting}</p>\n  <p className="shape-more">and {props.more}</p>\n</>\n`, props: { greeting: 'fragment says hi', more: 'more' } },
];

/** What each block of SHAPES renders, in block order. */
export const RENDERED = ['default export says hi', 'const arrow says hi', 'CONST FUNCTION SAYS HI', 'plain function says hi', 'hooks count to 42', 'bare JSX says hi', 'fragment says hi'];

/** Inserts the SHAPES components (props schemas as plain maps) and a published page with one block each. */
export async function insertShapesPage(db: Db, route = '/shapes'): Promise<void> {
  for (const s of SHAPES) {
    const schema = Object.fromEntries(Object.keys(s.props).map((k) => [k, { type: typeof s.props[k] === 'number' ? 'integer' : 'string' }]));
    await db.query(
      `INSERT INTO robbieblocks_components (component_key, component_name, component_type, react_code, props_schema, is_published)
       VALUES ($1, $1, 'widget', $2, $3::jsonb, true)`,
      [s.key, s.code, JSON.stringify(schema)],
    );
  }
  await db.query(
    `INSERT INTO robbieblocks_pages (page_key, app_namespace, page_name, page_route, layout_template, status, meta_title)
     VALUES ('shapes', 'play', 'Shapes', $1, 'single-column', 'published', 'Shapes')`,
    [route],
  );
  for (const [i, s] of SHAPES.entries()) {
    await db.query(
      `INSERT INTO robbieblocks_page_blocks (page_id, component_id, block_order, zone, props)
       SELECT p.id, c.id, $2, 'main', $3::jsonb FROM robbieblocks_pages p, robbieblocks_components c
        WHERE p.page_key = 'shapes' AND c.component_key = $1`,
      [s.key, i + 1, JSON.stringify(s.props)],
    );
  }
}
