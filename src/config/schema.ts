/**
 * A small schema language for `berth.yaml`. A schema reads a *located* tree (values with the
 * line they came from, made by ./parse.ts from YAML) into typed values, and rejects anything
 * it does not know with one line naming the file, the line and the key:
 *
 *   berth.yaml:4: tags[1]: unknown template field .Foo (known: .Version, .ShortSHA, ...)
 *
 * This module loads no YAML parser, so code that only needs the types or a cached config
 * stays lean. The file's sections are declared in ./sections.ts.
 */
import { UsageError } from '../errors.js';

/** A value read from the file, with its 1-based line. */
export type Located =
  | { kind: 'scalar'; value: string | number | boolean | null; line: number; /** the text as written, for numbers and booleans */ raw?: string }
  | { kind: 'map'; entries: LocatedEntry[]; line: number }
  | { kind: 'seq'; items: Located[]; line: number };

export interface LocatedEntry {
  key: string;
  line: number;
  value: Located;
}

/** Where a value is: the file as shown to the user and the key path (`tags[1]`). */
export interface Where {
  file: string;
  path: string;
}

/** Reads one kind of value. `type` is shown in errors ("a string", "a list of strings"). */
export interface Spec<T> {
  readonly type: string;
  /** A stable description of the accepted shape; part of the config cache key. */
  readonly shape: string;
  read(node: Located, where: Where): T;
}

export type Infer<S> = S extends Spec<infer T> ? T : never;

/** The error every schema failure raises: `file:line: key: message`. */
export function configError(where: Where, line: number, message: string): UsageError {
  const at = where.path === '' ? '' : `${where.path}: `;
  return new UsageError('BAD_BERTH_YAML', printable(`${where.file}:${line}: ${at}${message}`));
}

/** One line of text a terminal shows as it is: control characters escaped, at most 400 characters. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return line.length > 400 ? `${line.slice(0, 399)}…` : line;
}

function describeNode(node: Located): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'nothing';
  return typeof node.value === 'string' ? `the string ${JSON.stringify(node.value)}` : `${typeof node.value} ${String(node.value)}`;
}

export interface StringOptions {
  /** Returns why the value is wrong, or undefined when it is fine. */
  check?: (value: string) => string | undefined;
  /** Accept numbers and booleans written without quotes as their text (e.g. `tag: 1.0`). */
  coerce?: boolean;
}

export function string(opts: StringOptions = {}): Spec<string> {
  return {
    type: 'a string',
    shape: opts.coerce ? 'string~' : 'string',
    read(node, where) {
      let value: string;
      if (node.kind === 'scalar' && typeof node.value === 'string') value = node.value;
      else if (opts.coerce && node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'boolean')) value = node.raw ?? String(node.value);
      else throw configError(where, node.line, `want a string, found ${describeNode(node)}`);
      const why = opts.check?.(value);
      if (why !== undefined) throw configError(where, node.line, why);
      return value;
    },
  };
}

export function boolean(): Spec<boolean> {
  return {
    type: 'true or false',
    shape: 'boolean',
    read(node, where) {
      if (node.kind === 'scalar' && typeof node.value === 'boolean') return node.value;
      throw configError(where, node.line, `want true or false, found ${describeNode(node)}`);
    },
  };
}

export function integer(opts: { min?: number; max?: number } = {}): Spec<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return {
    type: 'a whole number',
    shape: `integer(${min},${max})`,
    read(node, where) {
      if (node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value)) {
        if (node.value < min || node.value > max) throw configError(where, node.line, `want a number from ${min} to ${max}, found ${node.value}`);
        return node.value;
      }
      throw configError(where, node.line, `want a whole number, found ${describeNode(node)}`);
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const V extends string>(values: readonly V[]): Spec<V> {
  return {
    type: `one of ${values.join(', ')}`,
    shape: `oneOf(${values.join('|')})`,
    read(node, where) {
      if (node.kind === 'scalar' && typeof node.value === 'string' && (values as readonly string[]).includes(node.value)) return node.value as V;
      throw configError(where, node.line, `want one of ${values.join(', ')}, found ${describeNode(node)}`);
    },
  };
}

export function list<T>(item: Spec<T>): Spec<T[]> {
  const type = `a list of ${item.type.replace(/^an? /, '')}s`;
  return {
    type,
    shape: `list(${item.shape})`,
    read(node, where) {
      if (node.kind !== 'seq') throw configError(where, node.line, `want ${type}, found ${describeNode(node)}`);
      return node.items.map((it, i) => item.read(it, { file: where.file, path: `${where.path}[${i}]` }));
    },
  };
}

export type SectionValue<F extends Record<string, Spec<unknown>>> = { [K in keyof F]?: Infer<F[K]> };

/**
 * A mapping with a fixed set of keys, each optional. Any other key is an error naming the
 * keys it knows. An empty value (`tags:` with nothing after it) counts as absent.
 */
/**
 * A mapping with the keys `fields` names. `renamed` maps an old spelling (`pushRegistry`) to
 * its key (`push-registry`): still read, with a line for the user in `deprecations`.
 */
export function section<F extends Record<string, Spec<unknown>>>(fields: F, opts: { renamed?: Record<string, keyof F & string> } = {}): Spec<SectionValue<F> & { deprecations?: string[] }> {
  const known = Object.keys(fields);
  const renamed = opts.renamed ?? {};
  return {
    type: 'a mapping',
    shape: `{${known.map((k) => `${k}:${fields[k]!.shape}`).join(',')}}`,
    read(node, where) {
      if (node.kind === 'scalar' && node.value === null) return {};
      if (node.kind !== 'map') throw configError(where, node.line, `want a mapping of keys (${known.join(', ')}), found ${describeNode(node)}`);
      const out: Record<string, unknown> = {};
      const deprecations: string[] = [];
      for (const original of node.entries) {
        let entry = original;
        if (Object.hasOwn(renamed, entry.key)) {
          const key = renamed[entry.key]!;
          deprecations.push(`${where.file}:${entry.line}: ${entry.key} is deprecated; write ${key}`);
          entry = { ...entry, key };
        }
        const path = where.path === '' ? entry.key : `${where.path}.${entry.key}`;
        const spec = Object.hasOwn(fields, entry.key) ? fields[entry.key] : undefined;
        if (spec === undefined) {
          throw configError({ file: where.file, path }, entry.line, `unknown key (known here: ${known.join(', ')})`);
        }
        if (entry.value.kind === 'scalar' && entry.value.value === null) continue;
        out[entry.key] = spec.read(entry.value, { file: where.file, path });
      }
      if (deprecations.length > 0) out.deprecations = deprecations;
      return out as SectionValue<F>;
    },
  };
}

/**
 * A mapping whose keys the user chooses (component names, platforms), each value read with
 * `value`. `key` may check a key (returns why it is wrong); entries keep the file's order.
 */
export function record<T>(value: Spec<T>, opts: { key?: (key: string) => string | undefined; keyType?: string } = {}): Spec<{ key: string; line: number; value: T }[]> {
  const type = `a mapping of ${opts.keyType ?? 'names'} to ${value.type.replace(/^an? /, '')}s`;
  return {
    type,
    shape: `record(${value.shape})`,
    read(node, where) {
      if (node.kind === 'scalar' && node.value === null) return [];
      if (node.kind !== 'map') throw configError(where, node.line, `want ${type}, found ${describeNode(node)}`);
      return node.entries.map((entry) => {
        const path = where.path === '' ? entry.key : `${where.path}.${entry.key}`;
        const why = opts.key?.(entry.key);
        if (why !== undefined) throw configError({ file: where.file, path }, entry.line, why);
        return { key: entry.key, line: entry.line, value: value.read(entry.value, { file: where.file, path }) };
      });
    },
  };
}
