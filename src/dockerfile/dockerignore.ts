import { cleanPath, PatternList } from './glob.js';

export { cleanPath } from './glob.js';

/**
 * The `.dockerignore` file as `docker build` reads it: one pattern a line, `#` starts a
 * comment line, blank lines skipped, a BOM dropped, each pattern cleaned (`./a/` is `a`, a
 * leading `/` dropped) and `!` marking an exception. The patterns themselves (moby
 * patternmatcher's rules) are compiled and matched by glob.ts's PatternList.
 */
export type IgnoreRules = PatternList;

export const IgnoreRules = {
  /** Reads a .dockerignore file's text (`file` names it in errors). */
  parse(text: string, file = '.dockerignore'): IgnoreRules {
    const lines: string[] = [];
    for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
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
    }
    return PatternList.fromPatterns(lines, file);
  },

  /** Patterns as patternmatcher.New takes them. */
  fromPatterns(texts: readonly string[], where = '.dockerignore'): IgnoreRules {
    return PatternList.fromPatterns(texts, where);
  },
};
