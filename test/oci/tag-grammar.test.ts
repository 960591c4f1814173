/**
 * The OCI tag grammar `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` at its edges: a tag is 1 to 128
 * characters; the first may be a letter, digit or `_` but not `.` or `-`. Each place that
 * checks a tag (isValidTag, validateTag, references, release --tag, berth tags) is held to
 * the same edges, and a property test compares isValidTag with an oracle written without a
 * regular expression, so shifting any edge (127, 129, a leading `.`) fails here.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { isValidTag, parseReference, validateTag } from '../../src/oci/reference.js';
import { berth } from '../helpers/cli.js';

const FIRST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_';
const REST = `${FIRST}.-`;

/** The grammar, spelled out character by character. */
function oracle(tag: string): boolean {
  if (tag.length < 1 || tag.length > 128) return false;
  if (!FIRST.includes(tag[0]!)) return false;
  return [...tag.slice(1)].every((c) => REST.includes(c));
}

const edges: [string, string, boolean][] = [
  ['1 character', 'a', true],
  ['127 characters', 'a'.repeat(127), true],
  ['128 characters', 'a'.repeat(128), true],
  ['128 characters ending in . and -', `${'v'.repeat(126)}.-`, true],
  ['129 characters', 'a'.repeat(129), false],
  ['200 characters', 'a'.repeat(200), false],
  ['empty', '', false],
  ['a leading _', '_latest', true],
  ['a leading digit', '1.2.3', true],
  ['a leading upper-case letter', 'Latest', true],
  ['a leading .', '.hidden', false],
  ['a leading -', '-rc1', false],
  ['only .', '.', false],
  ['only -', '-', false],
  ['. and - after the first', 'v1.2.3-rc.1_x', true],
  ['a +', 'v1.2.3+build', false],
  ['a /', 'a/b', false],
  ['a :', 'a:b', false],
  ['a space', 'a b', false],
  ['a non-ASCII letter', 'vé', false],
  ['a trailing newline', 'v1\n', false],
];

describe('isValidTag and validateTag at the edges', () => {
  test.each(edges)('%s', (_name, tag, valid) => {
    expect(isValidTag(tag)).toBe(valid);
    expect(oracle(tag)).toBe(valid);
    if (valid) expect(validateTag(tag, '--tag')).toBe(tag);
    else expect(() => validateTag(tag, '--tag')).toThrow(expect.objectContaining({ code: 'BAD_TAG', exitCode: 2 }));
  });

  test('agrees with the grammar on generated strings, near the length edges too', () => {
    const char = fc.constantFrom(...REST, '+', '/', ':', ' ', 'é', '\n', '~');
    const tag = fc.oneof(
      fc.string({ unit: char, minLength: 0, maxLength: 8 }),
      fc.string({ unit: char, minLength: 125, maxLength: 131 }),
      fc.tuple(fc.constantFrom(...FIRST, '.', '-'), fc.integer({ min: 120, max: 132 })).map(([first, n]) => first + 'x'.repeat(n - 1)),
    );
    fc.assert(fc.property(tag, (t) => isValidTag(t) === oracle(t)), { numRuns: 3000 });
  });
});

describe('references hold the same edges', () => {
  test.each(edges.filter(([, tag]) => tag !== '' && !/[:/@\n]/.test(tag)))('%s', (_name, tag, valid) => {
    const text = `registry.example/app:${tag}`;
    if (valid) expect(parseReference(text).tag).toBe(tag);
    else expect(() => parseReference(text)).toThrow(expect.objectContaining({ code: 'BAD_REFERENCE', exitCode: 2 }));
  });
});

describe('the CLI refuses a bad tag before anything is written', () => {
  test.each([
    ['128 characters', 'a'.repeat(128), 0],
    ['129 characters', 'a'.repeat(129), 2],
    ['a leading .', '.v1', 2],
    ['a leading -', '-v1', 2],
    ['a leading _', '_v1', 0],
  ])('berth tags with %s', async (_name, tag, code) => {
    const r = await berth(['tags', `--tag=${tag}`], { env: { PATH: process.env.PATH } });
    expect(r.code).toBe(code);
    if (code === 0) expect(r.stdout.split('\n')).toContain(tag);
    else expect(r.stderr).toMatch(new RegExp(`^berth: .*"${tag.replace('.', '\\.')}".*valid tag`));
  });
});
