import { describe, expect, test } from '@jest/globals';
import { checkTagSpec, missingValues, parseTagSpec, renderTagSpec } from '../../src/tags/spec.js';

describe('tag specs', () => {
  test.each([
    ['latest', 'latest'],
    ['v1.2.3', 'v123'],
    ['release=v1.2.3', 'release'],
    ['v{{ .Date }}-{{ .ShortSHA }}', 'vDate-ShortSHA'],
    ['pr-{{.PRNumber}}', 'pr-PRNumber'],
    ['{{ .Version }}', 'Version'],
    ['commit={{ .CommitSHA }}', 'commit'],
    ['{{ .Env "SUFFIX" }}', 'EnvSUFFIX'],
    ['{{ Env "SUFFIX" }}', 'EnvSUFFIX'],
  ])('%s is named %s', (spec, name) => {
    expect(parseTagSpec(spec).name).toBe(name);
  });

  test('rendering with the values of the context', () => {
    const values = { Version: 'v1.2.3', ShortSHA: '01234567', CommitSHA: '0123456789abcdef0123456789abcdef01234567', Date: '20240305', PRNumber: '42', Branch: 'main' };
    const env = { SUFFIX: 'rc' };
    const r = (s: string) => renderTagSpec(parseTagSpec(s), values, env);
    expect(r('v{{ .Date }}-{{ .ShortSHA }}')).toBe('v20240305-01234567');
    expect(r('pr-{{ .PRNumber }}')).toBe('pr-42');
    expect(r('{{ .Branch }}-{{ .Env "SUFFIX" }}')).toBe('main-rc');
    expect(r('{{ .Version }}')).toBe('v1.2.3');
    expect(r('x={{ .CommitSHA }}')).toBe(values.CommitSHA);
  });

  test('what is unknown in the context is reported, not rendered empty', () => {
    const spec = parseTagSpec('pr-{{ .PRNumber }}-{{ .Env "NOPE" }}');
    expect(missingValues(spec, { ShortSHA: 'abc' }, {})).toEqual(['.PRNumber', '$NOPE']);
  });

  test.each([
    ['v{{ .Foo }}', 'BAD_TEMPLATE', /^--tag "v\{\{ \.Foo \}\}": unknown template field \.Foo \(known: \.Version, \.ShortSHA, \.CommitSHA, \.Date, \.PRNumber, \.Branch, \.ContentHash, \.Env "NAME"\)$/],
    ['{{ .Date | printf }}', 'BAD_TEMPLATE', /unknown template field \{\{ \.Date \| printf \}\}/],
    ['{{ .Env }}', 'BAD_TEMPLATE', /Env needs a variable name/],
    ['{{ .Env "1BAD" }}', 'BAD_TEMPLATE', /"1BAD" is not an environment variable name/],
    ['v{{ .Date', 'BAD_TEMPLATE', /"\{\{" is not closed by "\}\}"/],
    ['has space', 'BAD_TAG', /^--tag "has space": "has space" is not a valid tag/],
    ['-leading-dash', 'BAD_TAG', /is not a valid tag/],
    [`${'x'.repeat(129)}`, 'BAD_TAG', /is not a valid tag/],
    ['v1+build', 'BAD_TAG', /is not a valid tag/],
    ['a/b={{ .Date }}', 'BAD_TAG', /"a\/b" is not a tag name/],
    ['name=', 'BAD_TAG', /the tag value is empty/],
    ['v {{ .Date }}', 'BAD_TAG', /"v " cannot be part of a tag/],
  ])('%j is refused with %s', (spec, code, message) => {
    let err: unknown;
    try {
      parseTagSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code, exitCode: 2 });
    expect((err as Error).message).toMatch(message);
  });

  test('checkTagSpec is the same check, as berth.yaml uses it', () => {
    expect(checkTagSpec('v{{ .Date }}')).toBeUndefined();
    expect(checkTagSpec('{{ .Nope }}')).toMatch(/unknown template field \.Nope/);
  });
});
