/**
 * An instruction's leading `--name[=value]` flags (BuildKit's bflag.go): each instruction
 * declares the flags it takes; an unknown flag, a string flag without a value or a boolean
 * with a value other than true/false is an error.
 */

export interface FlagSpec {
  strings?: readonly string[];
  /** String flags that may be given several times (COPY --exclude). */
  lists?: readonly string[];
  bools?: readonly string[];
  /** Flags accepted and kept as written, meaningful only to an engine (RUN --mount). */
  passThrough?: readonly string[];
}

export interface ParsedFlags {
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  bools: Set<string>;
  /** Every flag as written, in order, for an engine. */
  written: string[];
}

export class FlagError extends Error {}

/** Splits leading flags off `text`; returns them and the rest of the text. */
export function takeFlags(text: string, spec: FlagSpec): { flags: ParsedFlags; rest: string } {
  const flags: ParsedFlags = { strings: new Map(), lists: new Map(), bools: new Set(), written: [] };
  let rest = text;
  for (;;) {
    const m = /^\s*--([^\s=]*)(?:=(\S*))?(?=\s|$)/.exec(rest);
    if (!m) break;
    rest = rest.slice(m[0].length);
    const [, name = '', value] = m;
    if (name === '') throw new FlagError('"--" is not a flag');
    flags.written.push(m[0].trim());
    if (spec.passThrough?.includes(name)) continue;
    if (spec.lists?.includes(name)) {
      if (value === undefined || value === '') throw new FlagError(`missing a value on flag: --${name}`);
      flags.lists.set(name, [...(flags.lists.get(name) ?? []), value]);
    } else if (spec.strings?.includes(name)) {
      if (value === undefined) throw new FlagError(`missing a value on flag: --${name}`);
      if (flags.strings.has(name)) throw new FlagError(`duplicate flag specified: --${name}`);
      flags.strings.set(name, value);
    } else if (spec.bools?.includes(name)) {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new FlagError(`expecting boolean value for flag --${name}, not: ${value}`);
      if (value !== 'false') flags.bools.add(name);
    } else {
      throw new FlagError(`unknown flag: --${name}`);
    }
  }
  return { flags, rest: rest.trimStart() };
}
