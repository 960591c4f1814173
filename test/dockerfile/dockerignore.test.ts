import { describe, expect, it } from '@jest/globals';
import { cleanPath, IgnoreRules } from '../../src/dockerfile/dockerignore.js';

// Cases from the behaviour moby's patternmatcher documents in its tests (MatchesOrParentMatches).
const single: [string, string, boolean][] = [
  ['**', 'file', true], ['**', 'file/', true], ['**/', 'file', true], ['**/', 'file/', true], ['**', '/', true],
  ['**', 'dir/file', true], ['**/', 'dir/file', true], ['**/**', 'dir/file', true], ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/dir2/file', true], ['**/dir', 'dir', true], ['**/dir', 'dir/file', true], ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true], ['**file', 'file', true], ['**file', 'dir/file', true], ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true], ['**/file*.txt', 'dir/dir/file.txt', true], ['**/**/*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false], ['**/*.txt', 'file.txt', true], ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['a/*.txt', 'a/dir/file.txt', false], ['a/*.txt', 'a/file.txt', true], ['a/*.txt**', 'a/file.txt', true],
  ['a[b-d]e', 'ae', false], ['a[b-d]e', 'ace', true], ['a[b-d]e', 'aae', false], ['a[^b-d]e', 'aze', true],
  ['.*', '.foo', true], ['.*', 'foo', false], ['abc.def', 'abcdef', false], ['abc.def', 'abc.def', true], ['abc?def', 'abcZdef', true],
  ['abc?def', 'abcdef', false], ['**/foo/bar', 'dir/dir2/foo/bar', true], ['abc/**', 'abc', false], ['abc/**', 'abc/def/ghi', true],
  ['**/.foo', '.foo', true], ['**/.foo', 'bar.foo', false], ['a(b)c/def', 'a(b)c/def', true], ['a(b)c/def', 'a(b)c/xyz', false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true], ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a\\\\', 'a\\', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
  ['*', 'abc', true], ['a*', 'ab/c', true], ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['*.go', '.', false], ['/docs', 'docs/x', true], ['./docs/', 'docs/x', true],
];

describe('.dockerignore matching (moby patternmatcher semantics)', () => {
  it.each(single)('pattern %j on %j → %s', (pattern, path, want) => {
    expect(IgnoreRules.parse(pattern).matches(path)).toBe(want);
  });

  it.each([
    [['**', '!util/docker/web'], 'util/docker/web/foo', false],
    [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
    [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
    [['docs', '!docs/README.md'], 'docs/README.md', false],
    [['docs/', '!docs/README.md'], 'docs/README.md', false],
    [['docs/*', '!docs/README.md'], 'docs/README.md', false],
    [['*.go', '!fileutils.go'], 'fileutils.go', false],
    [['!fileutils.go', '*.go'], 'fileutils.go', true],
    [['*.md', '!README*.md', 'README-secret.md'], 'README-secret.md', true],
    [['*.md', '!README*.md', 'README-secret.md'], 'README-public.md', false],
  ] as [string[], string, boolean][])('patterns %j on %j → %s', (patterns, path, want) => {
    expect(IgnoreRules.parse(patterns.join('\n')).matches(path)).toBe(want);
  });

  it('skips comments and blank lines, trims spaces, reports exceptions', () => {
    const rules = IgnoreRules.parse('\uFEFF# a comment\n\n  docs  \n  ! docs/keep.md \n');
    expect(rules.matches('docs/a')).toBe(true);
    expect(rules.matches('docs/keep.md')).toBe(false);
    expect(rules.matches('# a comment')).toBe(false);
    expect(rules.hasExceptions).toBe(true);
  });

  it.each(['[', '[^', '[^bc', 'a[', '\\', '!'])('refuses the bad pattern %j', (pattern) => {
    expect(() => IgnoreRules.fromPatterns([pattern])).toThrow(/\.dockerignore/);
  });
});

describe('.dockerignore: the parts around matching', () => {
  it.each([
    ['', '.'], ['.', '.'], ['/', '/'], ['a//b/./c/', 'a/b/c'], ['./a', 'a'], ['a/../b', 'b'], ['../a', '../a'], ['../../a/..', '../..'],
    ['/../a', '/a'], ['/a/b/../../..', '/'], ['a/b/../../..', '..'], ['a/..', '.'],
  ])('cleanPath(%j) is %j, as Go\'s filepath.Clean', (path, want) => {
    expect(cleanPath(path)).toBe(want);
  });

  it('is empty with no pattern, comments and blanks only, or an empty CRLF file', () => {
    for (const text of ['', '# only a comment\r\n\r\n   \n', '\r\n']) {
      const rules = IgnoreRules.parse(text);
      expect(rules.isEmpty()).toBe(true);
      expect(rules.empty).toBe(true);
      expect(rules.hasExceptions).toBe(false);
      expect(rules.matches('anything')).toBe(false);
    }
    const one = IgnoreRules.parse('a\r\nb\n');
    expect([one.isEmpty(), one.empty, one.hasExceptions]).toEqual([false, false, false]);
    expect([one.matches('a'), one.matches('b'), one.matches('c')]).toEqual([true, true, false]);
  });

  it('keeps a # that does not start the line, and a leading / names the context root', () => {
    const rules = IgnoreRules.parse(' #not-a-comment\n/build/\n!/build/keep\n');
    expect(rules.matches('#not-a-comment')).toBe(true);
    expect(rules.matches('build/x')).toBe(true);
    expect(rules.matches('build/keep')).toBe(false);
    expect(rules.matches('src/build/x')).toBe(false);
    expect(rules.matches('./build//x')).toBe(true);
  });

  it('an exception only undoes a match, and only a later one', () => {
    const rules = IgnoreRules.fromPatterns(['!a.txt', '  ', '*.txt', '!keep.txt']);
    expect([rules.matches('a.txt'), rules.matches('keep.txt'), rules.matches('b.txt'), rules.matches('b.md')]).toEqual([true, false, true, false]);
  });

  it('names the file and the pattern in a syntax error', () => {
    expect(() => IgnoreRules.parse('ok\n[z-a]\n', 'ctx/.dockerignore')).toThrow('ctx/.dockerignore: syntax error in pattern "[z-a]":');
    expect(() => IgnoreRules.parse('!\n', 'x.dockerignore')).toThrow('x.dockerignore: illegal exclusion pattern: "!"');
    expect(() => IgnoreRules.fromPatterns(['!'], 'x.dockerignore')).toThrow('x.dockerignore: illegal exclusion pattern: "!"');
  });
});
