import { expect, test } from '@jest/globals';
import { computeTags, templateValues } from '../../src/tags/compute.js';
import type { TagContext } from '../../src/tags/context.js';
import { parseTagSpec } from '../../src/tags/spec.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const base: TagContext = { ci: { system: 'none', event: 'other' }, version: 'v1.2.3-4+0123456789abcd', commit: SHA, commitTime: 1709634030, branch: 'feature/Add_thing', repoTags: [], warnings: [] };
const specs = (...s: string[]) => s.map((x) => parseTagSpec(x));

test('template values: Version as a tag, ShortSHA of 8, Date of the commit in UTC, Branch made tag-safe', () => {
  expect(templateValues({ ...base, prNumber: '7' })).toEqual({ Version: 'v1.2.3-4-0123456789abcd', CommitSHA: SHA, ShortSHA: '01234567', Date: '20240305', PRNumber: '7', Branch: 'feature-Add_thing' });
});

test('defaults: a push gets v<YYYYMMDD>-<shortsha>, a pull request pr-<n>', () => {
  expect(computeTags({ specs: [], context: base, env: {} }).tags).toEqual([{ name: 'default', value: 'v20240305-01234567' }]);
  expect(computeTags({ specs: [], context: { ...base, prNumber: '42', ci: { system: 'github-actions', event: 'pull_request' } }, env: {} }).tags).toEqual([{ name: 'default', value: 'pr-42' }]);
});

test('specs render in order; a value appears once', () => {
  const r = computeTags({ specs: specs('{{ .Version }}', 'sha={{ .ShortSHA }}', 'latest', 'again=latest', 'b={{ .Branch }}'), context: base, env: {} });
  expect(r.tags).toEqual([
    { name: 'Version', value: 'v1.2.3-4-0123456789abcd' },
    { name: 'sha', value: '01234567' },
    { name: 'latest', value: 'latest' },
    { name: 'b', value: 'feature-Add_thing' },
  ]);
  expect(r.skipped).toEqual([]);
});

test('a template whose value is unknown here is skipped and reported', () => {
  const r = computeTags({ specs: specs('pr-{{ .PRNumber }}', 'x-{{ .Env "SUFFIX" }}', 'keep'), context: base, env: {} });
  expect(r.tags).toEqual([{ name: 'keep', value: 'keep' }]);
  expect(r.skipped).toEqual([
    { spec: 'pr-{{ .PRNumber }}', missing: ['.PRNumber'] },
    { spec: 'x-{{ .Env "SUFFIX" }}', missing: ['$SUFFIX'] },
  ]);
  expect(computeTags({ specs: specs('x-{{ .Env "SUFFIX" }}'), context: base, env: { SUFFIX: 'rc1' } }).tags).toEqual([{ name: 'x-EnvSUFFIX', value: 'x-rc1' }]);
});

test('a rendered value that is no tag is an error naming the spec and the value', () => {
  expect(() => computeTags({ specs: specs('{{ .Env "V" }}'), context: base, env: { V: 'has space' } })).toThrow(/^tag "\{\{ \.Env "V" \}\}" gives "has space", which is not a valid tag/);
  expect(() => computeTags({ specs: specs('{{ .Env "V" }}'), context: base, env: { V: 'x'.repeat(200) } })).toThrow(/not a valid tag/);
});

test('one name for two values is an error', () => {
  expect(() => computeTags({ specs: specs('a=one', 'a=two'), context: base, env: {} })).toThrow(/the tag name "a" is given to both "one" and "two"/);
});

test('--semver adds the expansion of the release version', () => {
  const r = computeTags({ specs: [], context: { ...base, version: 'v2.0.0', repoTags: ['v1.9.0'] }, env: {}, semver: true });
  expect(r.tags.map((t) => t.value)).toEqual(['v2.0.0', 'v2.0', 'v2', 'latest']);
  const withSpecs = computeTags({ specs: specs('v2.0.0', 'extra'), context: { ...base, version: 'v2.0.0' }, env: {}, semver: true });
  expect(withSpecs.tags.map((t) => t.value)).toEqual(['v2.0.0', 'extra', 'v2.0', 'v2', 'latest']);
});
