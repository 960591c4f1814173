import { UsageError } from '../errors.js';
import { BadPattern, compileGlob, type Glob } from './glob.js';

/**
 * `.dockerignore` with the semantics of moby's patternmatcher, which users know from `docker
 * build`: patterns in order, `!` marks an exception, the last matching pattern decides, a
 * pattern matching a parent directory matches everything under it, `*` and `?` never cross a
 * `/`, `**` crosses any number of directories, patterns are cleaned (`./a/` is `a`, a leading
 * `/` is dropped), `#` starts a comment line.
 */

interface Pattern {
  text: string;
  exclusion: boolean;
  regexp: Glob;
}

export class IgnoreRules {
  private constructor(private readonly patterns: readonly Pattern[]) {}

  /** No pattern: the context is the whole folder. */
  isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** Reads a .dockerignore file's text (`file` names it in errors). */
  static parse(text: string, file = '.dockerignore'): IgnoreRules {
    const lines: string[] = [];
    for (const [i, raw] of text.replace(/^\uFEFF/, '').split(/\r?\n/).entries()) {
      if (raw.startsWith('#')) continue;
      let pattern = raw.trim();
      if (pattern === '') continue;
      const invert = pattern.startsWith('!');
      if (invert) pattern = pattern.slice(1).trim();
      if (pattern !== '') {
        pattern = cleanPath(pattern);
        if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
      }
      lines.push(`${invert ? '!' : ''}${pattern}`);
      void i;
    }
    return IgnoreRules.fromPatterns(lines, file);
  }

  /** Patterns as patternmatcher.New takes them. */
  static fromPatterns(texts: readonly string[], where = '.dockerignore'): IgnoreRules {
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
      patterns.push({ text: p, exclusion, regexp: compile(p, where) });
    }
    return new IgnoreRules(patterns);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether any pattern is an exception (so an excluded directory must still be walked). */
  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** patternmatcher's MatchesOrParentMatches: `file` relative to the context, `/`-separated. */
  matches(file: string): boolean {
    const path = cleanPath(file);
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      if (pattern.regexp.testOrParent(path)) matched = !pattern.exclusion;
    }
    return matched;
  }
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

function compile(pattern: string, where: string): Glob {
  try {
    return compileGlob(pattern, true);
  } catch (err) {
    if (!(err instanceof BadPattern)) throw err;
    throw new UsageError('BAD_FLAG', `${where}: syntax error in pattern "${pattern}": ${err.message}`);
  }
}
