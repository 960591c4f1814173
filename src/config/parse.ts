/**
 * YAML text → the located tree ./schema.ts reads. The YAML parser is imported here on
 * demand (the bundler puts it in a chunk of its own), so a run that finds the config in its
 * cache, or has no berth.yaml, never loads it.
 */
import type { Document, LineCounter, Node } from 'yaml';
import { configError, type Located, type LocatedEntry, type Spec } from './schema.js';

type Yaml = typeof import('yaml');

/** Parses `text` (the contents of `file`, as shown in errors) and reads it with `spec`. */
export async function parseWith<T>(text: string, file: string, spec: Spec<T>): Promise<T> {
  return spec.read(await toLocated(text, file), { file, path: '' });
}

/** Parses YAML into a located tree; a syntax error is one line with the file and line. */
export async function toLocated(text: string, file: string): Promise<Located> {
  const yaml = await import('yaml');
  const { LineCounter, parseDocument } = yaml;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = lines.linePos(first.pos[0]).line;
    const message = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw configError({ file, path: '' }, line, `not valid YAML: ${message}`);
  }
  if (doc.contents === null) return { kind: 'scalar', value: null, line: 1 };
  return convert(yaml, doc.contents as Node, doc, lines, file, 0, text);
}

function lineOf(node: Node | null | undefined, lines: LineCounter): number {
  const start = node?.range?.[0];
  return start === undefined ? 1 : lines.linePos(start).line;
}

function convert(yaml: Yaml, node: Node, doc: Document, lines: LineCounter, file: string, depth: number, text: string): Located {
  const { isAlias, isMap, isScalar, isSeq } = yaml;
  const line = lineOf(node, lines);
  if (depth > 64) throw configError({ file, path: '' }, line, 'nested too deeply');
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target === undefined) throw configError({ file, path: '' }, line, `unknown alias *${node.source}`);
    return convert(yaml, target as Node, doc, lines, file, depth + 1, text);
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
    return { kind: 'seq', line, items: node.items.map((it) => convert(yaml, it as Node, doc, lines, file, depth + 1, text)) };
  }
  if (isMap(node)) {
    const entries: LocatedEntry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const keyLine = lineOf(keyNode, lines);
      if (keyNode === null || !isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        throw configError({ file, path: '' }, keyLine, 'every key must be a plain word');
      }
      const value: Located = pair.value === null ? { kind: 'scalar', value: null, line: keyLine } : convert(yaml, pair.value as Node, doc, lines, file, depth + 1, text);
      entries.push({ key: String(keyNode.value), line: keyLine, value });
    }
    return { kind: 'map', line, entries };
  }
  throw configError({ file, path: '' }, line, 'unsupported YAML node');
}
