/**
 * Path patterns for COPY sources (Go's filepath.Match) and .dockerignore (moby's
 * patternmatcher), matched without backtracking: the pattern becomes a small automaton whose
 * set of live states advances one character at a time, so a match costs at most
 * pattern length x path length steps whatever the pattern (a regular expression engine that
 * backtracks can take forever on `*a*a*a*...b`).
 */

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
