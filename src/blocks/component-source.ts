/**
 * A component's `react_code` as people write it → the module the generated app imports (one
 * default export, React in scope). The source is parsed (Vite's parser, TSX), never matched with
 * patterns; edits are made at the parser's offsets, so everything else stays byte for byte.
 */
import { componentIdentifier } from './model.js';

export type ComponentShape = 'default-export' | 'function' | 'const' | 'class' | 'jsx';

/** The accepted shapes, as the validation error and docs/blocks.md list them. */
export function acceptedShapes(name: string): string[] {
  return [
    `export default function ${name}(props) { … } (or export default of any component)`,
    `a top-level function ${name}(props) { … }`,
    `a top-level const ${name} = (props) => … or const ${name} = function (props) { … } (also memo(…) or forwardRef(…))`,
    `a top-level class ${name} extends React.Component { render() { … } }`,
    `a bare JSX element or fragment that reads props, e.g. <div className="greeting">{props.greeting}</div>`,
  ];
}

export interface ComponentModule {
  /** TSX source with a default export. */
  code: string;
  shape: ComponentShape;
  /** The component's name in the source (for the JSX shape: the name given to the wrapper). */
  name: string;
  /** Whether `import * as React from 'react'` was added (the code uses React without importing it). */
  addedReact: boolean;
}

export type ComponentSourceResult = { ok: true; module: ComponentModule } | { ok: false; error: string };

export interface ComponentSourceInput {
  component_key: string;
  component_name?: string | null;
  react_code: string;
}

type Parse = typeof import('vite').parseAst;
let parser: Promise<Parse> | undefined;
const loadParser = () => (parser ??= import('vite').then((v) => v.parseAst));

// A minimal view of the ESTree nodes read here.
interface Node {
  type: string;
  start: number;
  end: number;
  [k: string]: unknown;
}
const isNode = (v: unknown): v is Node => !!v && typeof v === 'object' && typeof (v as Node).type === 'string';

/** `Robbie bar`, `robbie_bar`, `RobbieBar` → `RobbieBar`; undefined when nothing is left. */
export function pascalCase(name: string): string | undefined {
  const parts = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  if (!parts.length) return undefined;
  const id = parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
  return /^[A-Z]/.test(id) ? id : undefined;
}

const capitalised = (name: string) => /^[A-Z]/.test(name);

/** Parentheses and TypeScript wrappers (`x as T`, `x satisfies T`, `x!`) around an expression. */
function unwrap(n: Node): Node {
  let cur = n;
  while (['ParenthesizedExpression', 'TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'TSTypeAssertion'].includes(cur.type) && isNode(cur.expression)) {
    cur = cur.expression;
  }
  return cur;
}

const WRAPPERS = new Set(['memo', 'forwardRef']);

/** An expression that makes a function component: an arrow, a function, or memo(…)/forwardRef(…) of one. */
function isComponentExpression(n: Node | null | undefined): boolean {
  if (!n) return false;
  const e = unwrap(n);
  if (e.type === 'ArrowFunctionExpression' || e.type === 'FunctionExpression') return !e.async && !e.generator;
  if (e.type === 'CallExpression' && isNode(e.callee)) {
    const c = e.callee;
    const name = c.type === 'Identifier' ? (c.name as string) : c.type === 'MemberExpression' && isNode(c.property) ? (c.property.name as string) : '';
    const arg = (e.arguments as Node[])[0];
    return WRAPPERS.has(name) && isComponentExpression(arg);
  }
  return false;
}

function isComponentClass(n: Node): boolean {
  const sup = isNode(n.superClass) ? n.superClass : undefined;
  if (!sup) return false;
  const name = sup.type === 'Identifier' ? (sup.name as string) : sup.type === 'MemberExpression' && isNode(sup.property) ? (sup.property.name as string) : '';
  return name === 'Component' || name === 'PureComponent';
}

interface Candidate {
  name: string;
  shape: 'function' | 'const' | 'class';
}

/** Names bound at the top level (imports and declarations), and the component candidates among them. */
function topLevel(body: Node[]): { bound: Set<string>; candidates: Candidate[]; lowercase: string[]; hasDefault: boolean } {
  const bound = new Set<string>();
  const candidates: Candidate[] = [];
  const lowercase: string[] = [];
  let hasDefault = false;
  const declaration = (d: Node) => {
    if (d.type === 'FunctionDeclaration' && isNode(d.id)) {
      const name = d.id.name as string;
      bound.add(name);
      if (d.async || d.generator) return;
      if (capitalised(name)) candidates.push({ name, shape: 'function' });
      else lowercase.push(name);
    } else if (d.type === 'ClassDeclaration' && isNode(d.id)) {
      const name = d.id.name as string;
      bound.add(name);
      if (capitalised(name) && isComponentClass(d)) candidates.push({ name, shape: 'class' });
    } else if (d.type === 'VariableDeclaration') {
      for (const v of d.declarations as Node[]) {
        if (!isNode(v.id) || v.id.type !== 'Identifier') continue;
        const name = v.id.name as string;
        bound.add(name);
        if (!isComponentExpression(v.init as Node | null)) continue;
        if (capitalised(name)) candidates.push({ name, shape: 'const' });
        else lowercase.push(name);
      }
    } else if (d.type === 'TSEnumDeclaration' && isNode(d.id)) {
      bound.add(d.id.name as string);
    }
  };
  for (const n of body) {
    if (n.type === 'ImportDeclaration') {
      for (const s of (n.specifiers as Node[]) ?? []) if (isNode(s.local)) bound.add(s.local.name as string);
    } else if (n.type === 'ExportDefaultDeclaration') {
      hasDefault = true;
    } else if (n.type === 'ExportNamedDeclaration') {
      if (isNode(n.declaration)) declaration(n.declaration);
      for (const s of (n.specifiers as Node[]) ?? []) {
        const exported = isNode(s.exported) ? ((s.exported.name ?? s.exported.value) as string) : undefined;
        if (exported === 'default') hasDefault = true;
      }
    } else {
      declaration(n);
    }
  }
  return { bound, candidates, lowercase, hasDefault };
}

/** Whether the identifier `React` is used anywhere (React.useState, <React.Fragment>, React.FC). */
function usesReact(n: unknown): boolean {
  if (Array.isArray(n)) return n.some(usesReact);
  if (!n || typeof n !== 'object') return false;
  const o = n as Record<string, unknown>;
  if ((o.type === 'Identifier' || o.type === 'JSXIdentifier') && o.name === 'React') return true;
  for (const k in o) {
    const v = o[k];
    if (v && typeof v === 'object' && usesReact(v)) return true;
  }
  return false;
}

function firstLines(s: string, n: number): string {
  return s.split('\n').filter((l) => l.trim()).slice(0, n).join(' ');
}

/**
 * Turns a component's source into the module the app imports (docs/blocks.md, "Component
 * source: the shapes the builder accepts"). Which component a source with several is: a default export; else the
 * top-level component named after the component (its key in PascalCase, `robbie-bar` →
 * `RobbieBar`, or its component_name in PascalCase); else a bare JSX element or fragment ending the
 * source; else the last top-level component declared (helpers come before what uses them).
 */
export async function componentModule(c: ComponentSourceInput): Promise<ComponentSourceResult> {
  const parse = await loadParser();
  const src = c.react_code;
  const key = c.component_key;
  const expected = componentIdentifier(key) ?? pascalCase(key) ?? 'Component';
  let body: Node[];
  try {
    body = (parse(src, { lang: 'tsx' }) as unknown as { body: Node[] }).body;
  } catch (err) {
    return { ok: false, error: `component "${key}" does not compile: ${firstLines((err as Error).message ?? String(err), 3)}` };
  }
  const { bound, candidates, lowercase, hasDefault } = topLevel(body);
  const reactImport = !bound.has('React') && usesReact(body);
  const finish = (code: string, shape: ComponentShape, name: string): ComponentSourceResult => ({
    ok: true,
    // On the first line, so compile errors keep their line numbers.
    module: { code: reactImport ? `import * as React from 'react'; ${code}` : code, shape, name, addedReact: reactImport },
  });

  if (hasDefault) return finish(src, 'default-export', expected);

  const names = [expected, c.component_name ? pascalCase(c.component_name) : undefined].filter((x): x is string => !!x);
  const named = candidates.find((k) => names.includes(k.name));
  const exportDefault = (k: Candidate) => finish(`${src}${src.endsWith('\n') ? '' : '\n'}export default ${k.name};\n`, k.shape, k.name);
  if (named) return exportDefault(named);

  const last = body[body.length - 1];
  if (last?.type === 'ExpressionStatement' && isNode(last.expression) && ['JSXElement', 'JSXFragment'].includes(unwrap(last.expression).type)) {
    let name = expected;
    for (let i = 2; bound.has(name); i++) name = `${expected}${i}`;
    const jsx = src.slice(last.expression.start, last.expression.end);
    const rest = src.slice(last.end);
    const wrapped = `const ${name} = (props: any) => (\n${jsx}\n);\nexport default ${name};${rest.startsWith('\n') ? '' : '\n'}`;
    return finish(src.slice(0, last.start) + wrapped + rest, 'jsx', name);
  }

  const chosen = candidates[candidates.length - 1];
  if (chosen) return exportDefault(chosen);

  const hint = lowercase.length ? ` (${lowercase.map((n) => `"${n}"`).join(', ')} start${lowercase.length === 1 ? 's' : ''} with a lower-case letter, which React does not treat as a component)` : '';
  return {
    ok: false,
    error:
      `component "${key}" has no component to render${hint}. Accepted shapes: ` +
      acceptedShapes(expected).map((s, i) => `(${i + 1}) ${s}`).join('; ') +
      `. Write the component in one of these shapes (names start with a capital letter; with several components, the one named ${expected} is used, else the last one declared).`,
  };
}
