/**
 * docs/architecture.md cannot drift from the code (issue 22 item 8): every file it names is
 * there, its layer table is test/e2e/layers.test.ts's MAY_IMPORT, and its dependency table is
 * package.json's `dependencies`. Both sides are read from the files, so a layer or module
 * added to one and not the other fails here.
 */
import { expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

const DOC = 'docs/architecture.md';
const doc = readFileSync(join(REPO_ROOT, DOC), 'utf8');

/** Top-level folders of the repository that a path in the docs may start with. */
const TOP = ['src', 'test', 'hack', 'build', 'bin', 'docs', 'bench', 'demo', 'images'];
/** File names berth's docs name without their folder. */
const SOURCE_EXT = /\.(ts|js|mjs|cjs|sh|bzl|md)$/;

/** The markdown's lines outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** A table's rows (cells trimmed, `\|` kept as `|`), found by its header's first cells. */
function table(text: string, header: string[]): string[][] {
  const lines = prose(text);
  const cells = (l: string) => l.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => c.trim().replace(/\u0000/g, '|'));
  const at = lines.findIndex((l) => l.startsWith('|') && header.every((h, i) => cells(l)[i] === h));
  if (at < 0) throw new Error(`${DOC}: no table with the header ${header.join(' | ')}`);
  const rows: string[][] = [];
  for (const l of lines.slice(at + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(cells(l));
  }
  return rows;
}

const spans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** Every file and folder under `dir`, as paths relative to the repository. */
function tree(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    out.push(e.isDirectory() ? `${rel}/` : rel);
    if (e.isDirectory()) out.push(...tree(rel));
  }
  return out;
}

/** What `dist/...` names: an output of hack/build.mjs, or the compiled form of a src/ file. */
function builds(path: string): boolean {
  const script = readFileSync(join(REPO_ROOT, 'hack/build.mjs'), 'utf8');
  if (script.includes(`'${path}'`)) return true;
  const compiled = /^dist\/(.+)\.js$/.exec(path);
  return compiled !== null && existsSync(join(REPO_ROOT, 'src', `${compiled[1]}.ts`));
}

/** A path the doc names, and where it says it; undefined when it is not a path. */
function missing(span: string, within: string[], inRow = false): string | undefined {
  if (/\s|[<>{}$|]/.test(span) || span.startsWith('-') || span.startsWith('.')) return undefined;
  const first = span.split('/')[0]!;
  if (first === 'dist') return builds(span) ? undefined : `${span} (no output of hack/build.mjs)`;
  if (TOP.includes(first) && span.includes('/')) {
    if (span.includes('*')) {
      const re = new RegExp(`^${span.replace(/[.+?^()[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      return tree(dirname(span)).some((p) => re.test(p)) ? undefined : `${span} (matches nothing)`;
    }
    const full = join(REPO_ROOT, span);
    if (!existsSync(full)) return span;
    return span.endsWith('/') && !statSync(full).isDirectory() ? `${span} (not a folder)` : undefined;
  }
  // A source file's name relative to the folders it is written beside (`parse.ts`,
  // `engines/choose.ts`), or in a layer table row a folder of that layer (`engines/`).
  if (/^[\w.-]+(\/[\w.-]+)*\/?$/.test(span) && (SOURCE_EXT.test(span) || (span.includes('/') && inRow))) {
    const all = within.flatMap((d) => tree(d));
    return all.some((p) => p.endsWith(`/${span}`)) ? undefined : `${span} (not under ${within.join(', ')})`;
  }
  return undefined;
}

test('every file and folder docs/architecture.md names exists', () => {
  const wrong: string[] = [];
  for (const line of prose(doc)) {
    // In the layer table a bare name is a file of that row's folder; elsewhere, of any.
    const row = line.startsWith('|') ? spans(line.split('|')[1] ?? '').filter((s) => /^src\/[\w-]+\/$/.test(s)).map((s) => s.slice(0, -1)) : [];
    const within = row.length ? row : ['src', 'hack', 'build', 'bin', 'test'];
    for (const span of spans(line)) {
      const bad = missing(span, within, row.length > 0);
      if (bad !== undefined) wrong.push(bad);
    }
    for (const m of line.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (!/^[a-z]+:/.test(m[1]!) && !existsSync(join(REPO_ROOT, 'docs', m[1]!))) wrong.push(`${m[1]} (a link)`);
    }
  }
  expect(wrong).toEqual([]);
});

test('the check reads the doc: it finds the paths named there', () => {
  const named = prose(doc).flatMap(spans);
  for (const p of ['bin/berth.js', 'src/status/lean.ts', 'hack/build.mjs', 'dist/lean/berth.cjs', 'test/e2e/layers.test.ts']) expect(named).toContain(p);
  expect(missing('src/no-such-folder/', [])).toBe('src/no-such-folder/');
  expect(missing('no-such-module.ts', ['src/cli'])).toBe('no-such-module.ts (not under src/cli)');
  expect(missing('dist/lean/nothing.cjs', [])).toBe('dist/lean/nothing.cjs (no output of hack/build.mjs)');
});

/** test/e2e/layers.test.ts's MAY_IMPORT, read from its text: the object literal it is set to. */
function mayImport(): Record<string, string[]> {
  const text = readFileSync(join(REPO_ROOT, 'test/e2e/layers.test.ts'), 'utf8');
  const decl = /\bMAY_IMPORT\b[^=]*=\s*\{/.exec(text);
  if (!decl) throw new Error('test/e2e/layers.test.ts: no MAY_IMPORT = {...}');
  let depth = 0;
  let end = decl.index + decl[0].length - 1;
  for (; end < text.length; end++) {
    if (text[end] === '{') depth++;
    else if (text[end] === '}' && --depth === 0) break;
  }
  const literal = text.slice(decl.index + decl[0].length - 1, end + 1);
  try {
    return new Function(`return (${literal});`)() as Record<string, string[]>;
  } catch (err) {
    throw new Error(`test/e2e/layers.test.ts: MAY_IMPORT is not a plain object literal this test can read (${String(err)})`);
  }
}

/** The layer table: each src/ folder and the layers its "may import" cell names. */
function docLayers(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [folder, , may] of table(doc, ['folder', 'what lives there', 'may import'])) {
    const names = spans(folder!).filter((s) => /^src\/[\w-]+\/$/.test(s));
    for (const n of names) out[n.slice(4, -1)] = /\beverything\b/.test(may!) ? ['*'] : spans(may!);
  }
  return out;
}

test("docs/architecture.md's layer table is test/e2e/layers.test.ts's MAY_IMPORT", () => {
  const sorted = (m: Record<string, string[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]));
  const rules = mayImport();
  expect(Object.keys(rules).length).toBeGreaterThan(5);
  expect(sorted(docLayers())).toEqual(sorted(rules));
});

test("docs/architecture.md's dependency table names package.json's dependencies", () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const named = table(doc, ['package', 'what for', 'why this major']).flatMap(([p]) => spans(p!));
  expect(named.sort()).toEqual(Object.keys(pkg.dependencies).sort());
});
