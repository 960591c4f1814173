import { describe, expect, it } from '@jest/globals';
import { processWord, processWords, splitWords } from '../../src/dockerfile/lex.js';

const vars = new Map([['V', 'val'], ['EMPTY', ''], ['SP', 'a b']]);

describe('Docker word expansion', () => {
  it.each([
    ['$V', 'val'], ['${V}', 'val'], ['x${V}y', 'xvaly'], ['$V/bin', 'val/bin'], ['$UNSET', ''],
    ['${UNSET:-def}', 'def'], ['${EMPTY:-def}', 'def'], ['${EMPTY-def}', ''], ['${UNSET-def}', 'def'], ['${V:-def}', 'val'],
    ['${V:+alt}', 'alt'], ['${EMPTY:+alt}', ''], ['${EMPTY+alt}', 'alt'], ['${UNSET:+alt}', ''],
    ['${UNSET:-${V}}', 'val'], ["'$V'", '$V'], ['"$V"', 'val'], ['\\$V', '$V'], ['"\\$V"', '$V'], ['"a\\b"', 'a\\b'],
    ['$', '$'], ['a$', 'a$'], ['$1', '$1'], ['"a b"', 'a b'], ["'a'\"b\"c", 'abc'], ['a\\ b', 'a b'],
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
