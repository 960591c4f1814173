import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BadPattern, compileGlob } from '../../src/dockerfile/glob.js';
import { IgnoreRules } from '../../src/dockerfile/dockerignore.js';

/** The backtracking reference: Go's filepath.Match (no `**`) as a JavaScript regular expression. */
function reference(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      re += `(?!/)[${pattern.slice(i + 1, end)}]`;
      i = end;
    } else re += /[.+(){}|^$\\]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`${re}$`);
}

describe('glob matching without backtracking', () => {
  it('matches as Docker\'s COPY does (Go\'s filepath.Match): *, ?, classes with ranges, ^ negating (! is a member), none crossing /', () => {
    const cases: [string, string, boolean][] = [
      ['*.txt', 'a.txt', true], ['*.txt', 'd/a.txt', false], ['?.txt', 'ab.txt', false], ['[ab].txt', 'b.txt', true],
      ['[^a].txt', 'a.txt', false], ['[^a].txt', 'c.txt', true], ['[!a].txt', 'a.txt', true], ['[!a].txt', '!.txt', true], ['[!a].txt', 'c.txt', false],
      ['[a-c]x', 'bx', true], ['[a-c]x', 'dx', false], ['d*/*.conf', 'dir/one.conf', true], ['\\*', '*', true], ['\\*', 'a', false],
      ['a*b*c', 'abxbc', true], ['a*b*c', 'abxb', false], ['', '', true], ['*', '', true], ['?', '/', false],
    ];
    for (const [p, path, want] of cases) expect([p, path, compileGlob(p, false).test(path)]).toEqual([p, path, want]);
  });

  it('takes ** across folders only for .dockerignore', () => {
    expect(compileGlob('**/x', true).test('a/b/x')).toBe(true);
    expect(compileGlob('**/x', true).test('x')).toBe(true);
    expect(compileGlob('a/**', true).test('a/b/c')).toBe(true);
    expect(compileGlob('a/**/b', true).test('a/b')).toBe(true);
    expect(compileGlob('a/**/b', true).test('a/x/y/b')).toBe(true);
    expect(compileGlob('**/x', false).test('a/b/x')).toBe(false);
  });

  it('refuses bad patterns with a BadPattern, never a crash of the engine', () => {
    for (const p of ['[z-a]', '[abc', 'x\\', '[]']) expect(() => compileGlob(p, false)).toThrow(BadPattern);
    expect(() => IgnoreRules.parse('[z-a]\n')).toThrow(/syntax error in pattern "\[z-a\]"/);
  });

  it('agrees with a backtracking reference on a fixed number of generated patterns and paths', () => {
    const piece = fc.constantFrom('a', 'b', '/', '*', '?', '[ab]', '[^a]', '[!b]', '.');
    const pathChar = fc.constantFrom('a', 'b', 'c', '/', '.');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.array(pathChar, { maxLength: 10 }), (parts, chars) => {
        const pattern = parts.join('');
        const path = chars.join('');
        expect(compileGlob(pattern, false).test(path)).toBe(reference(pattern).test(path));
      }),
      { numRuns: 3000 },
    );
  });

  it('finishes a pattern that makes a backtracking engine run for ever in linear time (generous bound)', () => {
    const hostile = `${'*a'.repeat(18)}b`; // 37 bytes
    const path = 'a'.repeat(20_000);
    const started = Date.now();
    expect(compileGlob(hostile, false).test(path)).toBe(false);
    expect(IgnoreRules.parse(`${'**/a*'.repeat(6)}b\n`).matches(`${'a/'.repeat(2000)}a`)).toBe(false);
    // Under bench/mutation.sh the sources are instrumented (several times slower): a looser bound there.
    expect(Date.now() - started).toBeLessThan(process.env.BERTH_MUTATE ? 60_000 : 5_000);
  });
});
