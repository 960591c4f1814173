/**
 * YAML text → the located tree ./schema.ts reads. The YAML parser is imported here on
 * demand (the bundler puts it in a chunk of its own), so a run that finds the config in its
 * cache, or has no berth.yaml, never loads it.
 *
 * Every config file berth reads (berth.yaml, release.yaml, variants.yaml) comes through
 * here, with limits: a parse is synchronous, so a signal cannot end it; instead its work is
 * bounded. The text is at most MAX_CONFIG_BYTES; nesting is checked by a linear scan before
 * the parser (whose recursion would otherwise run for seconds into a stack overflow); keys
 * are checked unique here with a Set (the parser's own check is quadratic); and aliases may
 * not expand the tree past MAX_CONFIG_VALUES (a 400-byte alias bomb otherwise grows forever).
 */
import type { Document, LineCounter, Node } from 'yaml';
import { configError, type Located, type LocatedEntry, type Spec } from './schema.js';

type Yaml = typeof import('yaml');

/** Larger than any real berth.yaml, release.yaml or variants.yaml, small enough to parse in well under a second. */
export const MAX_CONFIG_BYTES = 64 * 1024;
/** Values in the tree once aliases are expanded. */
export const MAX_CONFIG_VALUES = 20_000;
/** Nesting of maps and lists. */
export const MAX_CONFIG_DEPTH = 64;

/** Parses `text` (the contents of `file`, as shown in errors) and reads it with `spec`. */
export async function parseWith<T>(text: string, file: string, spec: Spec<T>): Promise<T> {
  return spec.read(await toLocated(text, file), { file, path: '' });
}

/** Parses YAML into a located tree; a syntax error is one line with the file and line. */
export async function toLocated(text: string, file: string): Promise<Located> {
  checkBounds(text, file);
  const yaml = await import('yaml');
  const { LineCounter, parseDocument } = yaml;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, version: '1.2' });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = lines.linePos(first.pos[0]).line;
    const message = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw configError({ file, path: '' }, line, `not valid YAML: ${message}`);
  }
  if (doc.contents === null) return { kind: 'scalar', value: null, line: 1 };
  return convert(yaml, doc.contents as Node, { doc, lines, file, text, values: 0, aliases: aliasTargets(yaml, doc) }, 0);
}

/**
 * What each alias refers to: the last node before it with that anchor, found in one pass.
 * (The parser's own `alias.resolve(doc)` walks the whole document for each alias: 15,000
 * aliases in 45 KB took a minute.)
 */
function aliasTargets(yaml: Yaml, doc: Document): Map<unknown, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<unknown, Node | undefined>();
  yaml.visit(doc, (_key, node) => {
    if (yaml.isAlias(node)) targets.set(node, anchors.get(node.source));
    else {
      const anchor = (node as { anchor?: string }).anchor;
      if (anchor) anchors.set(anchor, node as Node);
    }
  });
  return targets;
}

/**
 * Refuses text too large, or nested too deeply, to parse quickly: a linear scan of flow
 * brackets (`[[[[…`) outside quotes and comments, and of compact block indicators on one
 * line (`- - - …`). Block nesting by indentation costs its square in bytes, so the size
 * limit bounds it, and convert() checks it exactly.
 */
export function checkBounds(text: string, file: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    throw configError({ file, path: '' }, 1, `${bytes} bytes is too large for a configuration file (${MAX_CONFIG_BYTES} at most)`);
  }
  // eslint-disable-next-line no-control-regex
  const binary = text.search(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
  if (binary >= 0) throw configError({ file, path: '' }, lineAt(text, binary), 'not valid YAML: not UTF-8 text (a binary file?)');
  let flow = 0;
  let line = 1;
  let lineStart = true;
  let compact = 0;
  let quote = '';
  let prev = '\n';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = true;
      compact = 0;
      if (quote === '') prev = c;
      continue;
    }
    if (quote !== '') {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = '';
      prev = c;
      continue;
    }
    const afterSpace = prev === ' ' || prev === '\t' || prev === '\n';
    if (c === '#' && afterSpace) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '\t') {
        prev = c;
        continue;
      }
      const next = text[i + 1];
      if ((c === '-' || c === '?' || c === ':') && (next === ' ' || next === '\t' || next === '\n' || next === undefined)) {
        if (++compact > MAX_CONFIG_DEPTH) throw configError({ file, path: '' }, line, 'nested too deeply');
        prev = c;
        continue;
      }
      lineStart = false;
    }
    if ((c === '"' || c === "'") && (afterSpace || prev === '[' || prev === '{' || prev === ',' || prev === ':')) quote = c;
    else if (c === '[' || c === '{') {
      if (++flow > MAX_CONFIG_DEPTH) throw configError({ file, path: '' }, line, 'nested too deeply');
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
    prev = c;
  }
}

function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function lineOf(node: Node | null | undefined, lines: LineCounter): number {
  const start = node?.range?.[0];
  return start === undefined ? 1 : lines.linePos(start).line;
}

interface Walk {
  doc: Document;
  lines: LineCounter;
  file: string;
  text: string;
  /** Values made so far, aliases expanded. */
  values: number;
  aliases: Map<unknown, Node | undefined>;
}

function convert(yaml: Yaml, node: Node, w: Walk, depth: number): Located {
  const { isAlias, isMap, isScalar, isSeq } = yaml;
  const { lines, file, text } = w;
  const line = lineOf(node, lines);
  if (depth > MAX_CONFIG_DEPTH) throw configError({ file, path: '' }, line, 'nested too deeply');
  if (++w.values > MAX_CONFIG_VALUES) {
    throw configError({ file, path: '' }, line, `more than ${MAX_CONFIG_VALUES} values once its aliases are expanded (an alias bomb?)`);
  }
  if (isAlias(node)) {
    const target = w.aliases.get(node);
    if (target === undefined) throw configError({ file, path: '' }, line, `unknown alias *${node.source}`);
    return convert(yaml, target as Node, w, depth + 1);
  }
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number' || typeof v === 'boolean') {
      const range = node.range;
      return { kind: 'scalar', value: v, line, ...(range ? { raw: text.slice(range[0], range[1]).trim() } : {}) };
    }
    if (v === null || typeof v === 'string') return { kind: 'scalar', value: v, line };
    return { kind: 'scalar', value: String(v), line };
  }
  if (isSeq(node)) {
    return { kind: 'seq', line, items: node.items.map((it) => convert(yaml, it as Node, w, depth + 1)) };
  }
  if (isMap(node)) {
    const entries: LocatedEntry[] = [];
    const seen = new Set<string>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const keyLine = lineOf(keyNode, lines);
      if (keyNode === null || !isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        throw configError({ file, path: '' }, keyLine, 'every key must be a plain word');
      }
      const key = String(keyNode.value);
      if (seen.has(key)) throw configError({ file, path: '' }, keyLine, `not valid YAML: Map keys must be unique ("${key}" twice)`);
      seen.add(key);
      const value: Located = pair.value === null ? { kind: 'scalar', value: null, line: keyLine } : convert(yaml, pair.value as Node, w, depth + 1);
      entries.push({ key, line: keyLine, value });
    }
    return { kind: 'map', line, entries };
  }
  throw configError({ file, path: '' }, line, 'unsupported YAML node');
}
