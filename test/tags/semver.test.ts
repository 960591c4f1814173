import { expect, test } from '@jest/globals';
import { expandSemver } from '../../src/tags/semver.js';

const values = (version: string, repoTags: string[]) => expandSemver(version, repoTags).map((t) => t.value);

test('the highest stable release gets every alias and latest', () => {
  expect(expandSemver('v1.2.3', ['v1.0.0', 'v1.2.2', 'v1.2.3'])).toEqual([
    { name: 'semver', value: 'v1.2.3' },
    { name: 'semver-minor', value: 'v1.2' },
    { name: 'semver-major', value: 'v1' },
    { name: 'latest', value: 'latest' },
  ]);
  // the version need not be tagged yet
  expect(values('v1.3.0', ['v1.2.3'])).toEqual(['v1.3.0', 'v1.3', 'v1', 'latest']);
});

test('latest only for the highest stable version; pre-releases do not count', () => {
  expect(values('v1.2.3', ['v1.3.0'])).toEqual(['v1.2.3', 'v1.2']);
  expect(values('v1.2.3', ['v1.3.0-rc.1', 'v2.0.0-alpha.0'])).toEqual(['v1.2.3', 'v1.2', 'v1', 'latest']);
});

test('a patch of an older line moves neither v1 nor latest, nor v1.2 past a higher patch', () => {
  expect(values('v1.1.5', ['v1.2.0', 'v1.1.4'])).toEqual(['v1.1.5', 'v1.1']);
  expect(values('v1.2.3', ['v1.2.4'])).toEqual(['v1.2.3']);
  expect(values('v1.9.0', ['v2.0.0'])).toEqual(['v1.9.0', 'v1.9', 'v1']);
});

test('a pre-release, or a version with build metadata, gets only itself', () => {
  expect(expandSemver('v1.3.0-rc.1', [])).toEqual([{ name: 'semver', value: 'v1.3.0-rc.1' }]);
  expect(values('v1.3.0-alpha.0.6+0123456789abcd', [])).toEqual(['v1.3.0-alpha.0.6-0123456789abcd']);
  expect(values('v1.2.3+meta', [])).toEqual(['v1.2.3-meta']);
});

test('no v0 alias (as docker/metadata-action); versions without a v keep their form', () => {
  expect(values('v0.4.1', [])).toEqual(['v0.4.1', 'v0.4', 'latest']);
  expect(values('2.1.0', ['v2.0.0'])).toEqual(['2.1.0', '2.1', '2', 'latest']);
});

test('a version that is not semver is refused', () => {
  expect(() => expandSemver('release-7', [])).toThrow(/^--semver: "release-7" is not a semantic version/);
});
