/**
 * The one pattern module: path patterns for COPY sources (Go's filepath.Match), COPY
 * --exclude, .dockerignore and an image folder's outputs file (moby's patternmatcher). Every
 * pattern is compiled and matched here, without backtracking: the pattern becomes a small
 * automaton whose set of live states advances one character at a time, so a match costs at
 * most pattern length x path length steps whatever the pattern (a regular expression engine
 * that backtracks can take forever on `*a*a*a*...b`). dockerignore.ts reads the ignore file's
 * lines; copy.ts asks `hasMeta` and `matchingPaths` for COPY sources.
 */
import { UsageError } from '../errors.js';

type Token =
  | { k: 'lit'; c: string }
  | { k: 'any' }
  | { k: 'class'; negated: boolean; ranges: [string, string][] }
  /** `*`: any run of characters but `/`. */
  | { k: 'star' }
  /** `**` at the end: anything. */
  | { k: 'all' }
  /** `**` (with its `/`) before more pattern: nothing, or any run of whole folders (ending in `/`). */
  | { k: 'dirs' };

export class BadPattern extends Error {}

export interface Glob {
  test(path: string): boolean;
  /** Whether the pattern matches `path` or one of its parent folders (`a` or `a/b` of `a/b/c`), in one pass. */
  testOrParent(path: string): boolean;
}

/**
 * Compiles `pattern`. `doublestar`: `**` crosses folders (.dockerignore); without, `**` is two
 * stars (COPY, as filepath.Match). Throws BadPattern on an unclosed `[`, a reversed range
 * (`[z-a]`), an empty class or a trailing `\`.
 */
export function compileGlob(pattern: string, doublestar: boolean): Glob {
  const chars = [...pattern];
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      if (doublestar && chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        tokens.push(i + 1 >= chars.length ? { k: 'all' } : { k: 'dirs' });
      } else if (tokens[tokens.length - 1]?.k !== 'star') tokens.push({ k: 'star' });
    } else if (ch === '?') tokens.push({ k: 'any' });
    else if (ch === '\\') {
      if (i + 1 >= chars.length) throw new BadPattern('a pattern cannot end with \\');
      tokens.push({ k: 'lit', c: chars[++i]! });
    } else if (ch === '[') {
      let j = i + 1;
      const negated = chars[j] === '^'; // as Go's filepath.Match: `[!a]` is a class of ! and a (Docker, buildah and BuildKit agree)
      if (negated) j++;
      const ranges: [string, string][] = [];
      for (let first = true; ; first = false) {
        if (j >= chars.length) throw new BadPattern('an unclosed [ in the pattern');
        if (chars[j] === ']' && !first) break;
        let lo = chars[j++]!;
        if (lo === '\\') {
          if (j >= chars.length) throw new BadPattern('an unclosed [ in the pattern');
          lo = chars[j++]!;
        }
        let hi = lo;
        if (chars[j] === '-' && chars[j + 1] !== undefined && chars[j + 1] !== ']') {
          j++;
          hi = chars[j++]!;
          if (hi === '\\') {
            if (j >= chars.length) throw new BadPattern('an unclosed [ in the pattern');
            hi = chars[j++]!;
          }
          if (hi < lo) throw new BadPattern(`the range ${lo}-${hi} runs backwards`);
        }
        ranges.push([lo, hi]);
      }
      tokens.push({ k: 'class', negated, ranges });
      i = j;
    } else tokens.push({ k: 'lit', c: ch });
  }
  return { test: (path) => run(tokens, path, false), testOrParent: (path) => run(tokens, path, true) };
}

/** Whether `tokens` match all of `path`: states are 2*i (before token i) and 2*i+1 (inside a `dirs` token i). */
function run(tokens: readonly Token[], path: string, parents: boolean): boolean {
  const n = tokens.length;
  const final = 2 * n;
  let current = new Uint8Array(2 * n + 2);
  let next = new Uint8Array(2 * n + 2);
  const add = (set: Uint8Array, s: number): void => {
    // Epsilon closure: star, all and dirs may match nothing.
    while (!set[s]) {
      set[s] = 1;
      if (s % 2 === 1 || s === final) return;
      const t = tokens[s / 2]!;
      if (t.k !== 'star' && t.k !== 'all' && t.k !== 'dirs') return;
      s += 2;
    }
  };
  add(current, 0);
  for (const ch of path) {
    if (parents && ch === '/' && current[final]) return true;
    next.fill(0);
    let live = false;
    for (let s = 0; s < final; s++) {
      if (!current[s]) continue;
      const i = s >> 1;
      const t = tokens[i]!;
      if (s % 2 === 1) {
        // Inside `dirs`: any character; a `/` may end it.
        add(next, s);
        if (ch === '/') add(next, 2 * (i + 1));
        live = true;
        continue;
      }
      switch (t.k) {
        case 'lit':
          if (ch === t.c) add(next, s + 2), (live = true);
          break;
        case 'any':
          if (ch !== '/') add(next, s + 2), (live = true);
          break;
        case 'class': {
          if (ch === '/') break;
          const inside = t.ranges.some(([lo, hi]) => ch >= lo && ch <= hi);
          if (inside !== t.negated) add(next, s + 2), (live = true);
          break;
        }
        case 'star':
          if (ch !== '/') add(next, s), (live = true);
          break;
        case 'all':
          add(next, s), (live = true);
          break;
        case 'dirs':
          add(next, s + 1);
          if (ch === '/') add(next, s + 2);
          live = true;
          break;
      }
    }
    if (!live) return false;
    [current, next] = [next, current];
  }
  return current[final] === 1;
}

/** Whether a COPY source is a pattern (holds `*`, `?` or `[`) rather than a path. */
export const hasMeta = (p: string): boolean => /[*?[]/.test(p);

/** Those of `paths` that `pattern` (Go's filepath.Match: `*`, `?`, `[...]`, none crossing `/`) matches, sorted. Throws BadPattern. */
export function matchingPaths(paths: Iterable<string>, pattern: string): string[] {
  const glob = compileGlob(pattern.replace(/^\/+/, ''), false);
  return [...paths].filter((k) => glob.test(k)).sort();
}

/** Go's filepath.Clean on a `/`-separated path. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined || '.';
}

interface Pattern {
  text: string;
  exclusion: boolean;
  glob: Glob;
}

/**
 * An ordered list of patterns with moby patternmatcher's semantics: `!` marks an exception,
 * the last matching pattern decides, a pattern matching a parent folder matches everything
 * under it, `*` and `?` never cross a `/`, `**` crosses any number of folders, patterns are
 * cleaned (`./a/` is `a`). What .dockerignore, COPY --exclude and an outputs file hold.
 */
export class PatternList {
  private constructor(private readonly patterns: readonly Pattern[]) {}

  /** Patterns as patternmatcher.New takes them; a bad one is a UsageError BAD_FLAG naming `where`. */
  static fromPatterns(texts: readonly string[], where = '.dockerignore'): PatternList {
    const patterns: Pattern[] = [];
    for (const raw of texts) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new UsageError('BAD_FLAG', `${where}: illegal exclusion pattern: "!"`);
        exclusion = true;
        p = p.slice(1);
      }
      patterns.push({ text: p, exclusion, glob: compileRule(p, where) });
    }
    return new PatternList(patterns);
  }

  /** No pattern: nothing is matched (a context is the whole folder). */
  isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether any pattern is an exception (so a matched folder must still be walked). */
  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** patternmatcher's MatchesOrParentMatches: `file` relative to the root, `/`-separated. */
  matches(file: string): boolean {
    const path = cleanPath(file);
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      if (pattern.glob.testOrParent(path)) matched = !pattern.exclusion;
    }
    return matched;
  }
}

function compileRule(pattern: string, where: string): Glob {
  try {
    return compileGlob(pattern, true);
  } catch (err) {
    if (!(err instanceof BadPattern)) throw err;
    throw new UsageError('BAD_FLAG', `${where}: syntax error in pattern "${pattern}": ${err.message}`);
  }
}
