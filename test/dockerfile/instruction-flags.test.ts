import { describe, expect, it } from '@jest/globals';
import { FlagError, takeFlags, type FlagSpec } from '../../src/dockerfile/instruction-flags.js';

// COPY's and RUN's flags as bflag.go reads them: leading `--name[=value]` words only.
const COPY: FlagSpec = { strings: ['from', 'chown', 'chmod'], lists: ['exclude'], bools: ['link', 'parents'] };
const RUN: FlagSpec = { passThrough: ['mount', 'network', 'security'] };

const take = (text: string, spec: FlagSpec = COPY) => {
  const { flags, rest } = takeFlags(text, spec);
  return { strings: Object.fromEntries(flags.strings), lists: Object.fromEntries(flags.lists), bools: [...flags.bools], written: flags.written, rest };
};

describe('instruction flags', () => {
  it('splits leading flags from the rest, keeping every flag as written', () => {
    expect(take('  --from=build --chown=1:2   --link a b --c')).toEqual({
      strings: { from: 'build', chown: '1:2' }, lists: {}, bools: ['link'], written: ['--from=build', '--chown=1:2', '--link'], rest: 'a b --c',
    });
    expect(take('a --from=x')).toEqual({ strings: {}, lists: {}, bools: [], written: [], rest: 'a --from=x' });
    expect(take('')).toEqual({ strings: {}, lists: {}, bools: [], written: [], rest: '' });
    expect(take('--link')).toEqual({ strings: {}, lists: {}, bools: ['link'], written: ['--link'], rest: '' });
    expect(take('--from=a\t--parents=true\tsrc dst')).toEqual({ strings: { from: 'a' }, lists: {}, bools: ['parents'], written: ['--from=a', '--parents=true'], rest: 'src dst' });
  });

  it('takes a list flag each time, a string flag once, a boolean as true or false', () => {
    expect(take('--exclude=*.md --exclude=tmp/ . /app').lists).toEqual({ exclude: ['*.md', 'tmp/'] });
    expect(take('--chmod= a b').strings).toEqual({ chmod: '' });
    expect(take('--link=false --parents=true a b').bools).toEqual(['parents']);
    expect(take('--link=false a b').written).toEqual(['--link=false']);
  });

  it('passes an engine flag through as written', () => {
    expect(take('--mount=type=cache,target=/c --network=none make', RUN)).toEqual({
      strings: {}, lists: {}, bools: [], written: ['--mount=type=cache,target=/c', '--network=none'], rest: 'make',
    });
  });

  it.each([
    ['--  a b', '"--" is not a flag'],
    ['--=x a b', '"--" is not a flag'],
    ['--from a b', 'missing a value on flag: --from'],
    ['--exclude a b', 'missing a value on flag: --exclude'],
    ['--exclude= a b', 'missing a value on flag: --exclude'],
    ['--from=a --from=b c d', 'duplicate flag specified: --from'],
    ['--link=yes a b', 'expecting boolean value for flag --link, not: yes'],
    ['--link= a b', 'expecting boolean value for flag --link, not: '],
    ['--chown=1 --mount=x a b', 'unknown flag: --mount'],
    ['--FROM=a b c', 'unknown flag: --FROM'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => takeFlags(text, COPY)).toThrow(new FlagError(message));
  });
});
