import { describe, expect, it } from '@jest/globals';
import { processWord, processWords, splitWords } from '../../src/dockerfile/lex.js';

const vars = new Map([['V', 'val'], ['EMPTY', ''], ['SP', 'a b']]);

describe('Docker word expansion', () => {
  it.each([
    ['$V', 'val'], ['${V}', 'val'], ['x${V}y', 'xvaly'], ['$V/bin', 'val/bin'], ['$UNSET', ''],
    ['${UNSET:-def}', 'def'], ['${EMPTY:-def}', 'def'], ['${EMPTY-def}', ''], ['${UNSET-def}', 'def'], ['${V:-def}', 'val'],
    ['${V:+alt}', 'alt'], ['${EMPTY:+alt}', ''], ['${EMPTY+alt}', 'alt'], ['${UNSET:+alt}', ''],
    ['${UNSET:-${V}}', 'val'], ["'$V'", '$V'], ['"$V"', 'val'], ['\\$V', '$V'], ['"\\$V"', '$V'], ['"a\\b"', 'a\\b'],
    ['$', '$'], ['a$', 'a$'], ['"a b"', 'a b'], ["'a'\"b\"c", 'abc'], ['a\\ b', 'a b'],
    // Positional and special parameters are nothing, as Docker 20.10 and BuildKit have them (the conformance suite's env-positional, env-special-params).
    ['x$1y', 'xy'], ['x$12y', 'xy'], ['$0', ''], ['${1}', ''], ['${2:-two}', 'two'], ['a$$b', 'ab'], ['x$@y', 'xy'], ['x$#y', 'xy'], ['x$?y', 'xy'], ['x$-y', 'xy'], ['x$!y', 'xy'], ['x$*y', 'xy'], ['${@}', ''],
    ['$}', '$}'], ['$/x', '$/x'],
  ])('%s → %j', (word, want) => {
    expect(processWord(word, vars)).toBe(want);
  });

  it('uses the escape directive\'s character', () => {
    expect(processWord('C:`$V', vars, '`')).toBe('C:$V');
    expect(processWord('C:\\dir', vars, '`')).toBe('C:\\dir');
  });

  it('splits words on unquoted space, after expansion of quotes', () => {
    expect(processWords('a "b c" $V', vars)).toEqual(['a', 'b c', 'val']);
    expect(splitWords('A=1 B="x y" C=\'z w\'')).toEqual(['A=1', 'B="x y"', "C='z w'"]);
  });

  it.each(['${V', '${', '${V:-x', '${UNSET:?must be set}', '"open', "'open", '${V:=x}'])('refuses %j', (word) => {
    expect(() => processWord(word, vars)).toThrow();
  });
});

describe('BuildKit lex.go, rule by rule', () => {
  const message = (word: string, v: ReadonlyMap<string, string> = vars) => {
    try {
      processWord(word, v);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`${word} expanded`);
  };

  it('keeps a word whole: blanks in it, in a default, an escape at the end dropped', () => {
    expect(processWord('a b', vars)).toBe('a b');
    expect(processWord('${UNSET:-a b}', vars)).toBe('a b');
    expect(processWord('${UNSET}', vars)).toBe('');
    expect(processWord('a\\', vars)).toBe('a');
    expect(processWord('"a\\"b"', vars)).toBe('a"b');
    expect(processWord('"a\\\\b"', vars)).toBe('a\\b');
  });

  it('${V?msg} and ${V:?msg}: the value when set, else an error naming the variable', () => {
    expect(processWord('${V?msg}', vars)).toBe('val');
    expect(processWord('${V:?msg}', vars)).toBe('val');
    expect(processWord('${EMPTY?msg}', vars)).toBe('');
    expect(message('${EMPTY:?must be set}')).toBe('EMPTY: must be set');
    expect(message('${UNSET?must be set}')).toBe('UNSET: must be set');
    expect(message('${UNSET:?}')).toBe('UNSET: is not set');
  });

  it('refuses what BuildKit refuses, saying what is wrong', () => {
    expect(message('${}')).toBe('bad substitution: "${" must be followed by a variable name');
    expect(message('${:-x}')).toBe('bad substitution: "${" must be followed by a variable name');
    expect(message('${V=x}')).toBe('unsupported modifier "=" in ${V...}');
    expect(message('${V:=x}')).toBe('unsupported modifier ":=" in ${V...}');
    expect(message('${V')).toBe("missing '}' after ${V");
    expect(message('${V:-x')).toBe("missing '}' after ${V:-");
    expect(message("'open")).toBe('unexpected end of text: a single quote is not closed');
    expect(message('"open')).toBe('unexpected end of text: a double quote is not closed');
  });

  it('splits words on unquoted blanks only, none empty, with the default escape', () => {
    expect(processWords('  a \t b\n ', vars)).toEqual(['a', 'b']);
    expect(processWords('', vars)).toEqual([]);
    expect(processWords('a\\ b "c d"', vars)).toEqual(['a b', 'c d']);
    expect(splitWords('  a \t b\n ')).toEqual(['a', 'b']);
    expect(splitWords('')).toEqual([]);
    expect(splitWords('a\\ b c')).toEqual(['a\\ b', 'c']);
    expect(splitWords('a\\"b c"')).toEqual(['a\\"b', 'c"']);
    // In single quotes the escape character is an ordinary one (parseWords).
    expect(splitWords("'a\\' b'")).toEqual(["'a\\'", "b'"]);
    expect(splitWords('"a\\" b" c')).toEqual(['"a\\" b"', 'c']);
    expect(splitWords('a` b c', '`')).toEqual(['a` b', 'c']);
  });
});

describe('limits on what a word expands to', () => {
  // Not BuildKit's (it has none): berth's bound, so a hostile Dockerfile gets one error line.
  it('expands up to 1 MiB and refuses more', () => {
    const half = new Map([['H', 'x'.repeat(1 << 19)]]);
    expect(processWord('$H${H}', half)).toHaveLength(1 << 20);
    expect(() => processWord('$H$H$H', half)).toThrow('variables expand to more than 1 MiB');
  });

  it('nests ${...} 64 deep, not 65; braces one after another do not count as nesting', () => {
    const nested = (n: number) => '${U:-'.repeat(n - 1) + '${V}' + '}'.repeat(n - 1);
    expect(processWord(nested(64), vars)).toBe('val');
    expect(() => processWord(nested(65), vars)).toThrow('${...} nested more than 64 deep');
    expect(processWord('${V}'.repeat(100), vars)).toBe('val'.repeat(100));
  });
});
