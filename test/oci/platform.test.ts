import { describe, expect, test } from '@jest/globals';
import { formatPlatform, parsePlatform, platformMatches } from '../../src/oci/platform.js';
import { UsageError } from '../../src/errors.js';

describe('parsePlatform', () => {
  test.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }],
  ])('%s', (text, want) => {
    expect(parsePlatform(text)).toEqual(want);
  });

  test('round-trips through formatPlatform', () => {
    for (const p of ['linux/amd64', 'linux/arm/v7', 'linux/ppc64le', 'linux/s390x', 'windows/amd64']) expect(formatPlatform(parsePlatform(p))).toBe(p);
  });

  test.each([
    ['linux', /os\/arch/],
    ['linux/amd64/v7/x', /os\/arch/],
    ['linux//v7', /os\/arch/],
    ['linx/amd64', /unknown operating system "linx"/],
    ['linux/amd46', /unknown architecture "amd46"/],
    ['linux/arm/v9', /unknown variant "v9".*v5, v6, v7, v8/],
    ['linux/s390x/v1', /s390x has no variants/],
  ])('rejects %s', (text, message) => {
    expect(() => parsePlatform(text)).toThrow(UsageError);
    expect(() => parsePlatform(text)).toThrow(message);
  });
});

describe('platformMatches', () => {
  const p = (s: string) => parsePlatform(s);
  test('arm64 matches arm64/v8 both ways', () => {
    expect(platformMatches(p('linux/arm64'), p('linux/arm64/v8'))).toBe(true);
    expect(platformMatches(p('linux/arm64/v8'), p('linux/arm64'))).toBe(true);
  });
  test('arm means arm/v7, not v6', () => {
    expect(platformMatches(p('linux/arm'), p('linux/arm/v7'))).toBe(true);
    expect(platformMatches(p('linux/arm/v7'), p('linux/arm/v6'))).toBe(false);
  });
  test('os and architecture must agree', () => {
    expect(platformMatches(p('linux/amd64'), p('linux/arm64'))).toBe(false);
    expect(platformMatches(p('linux/amd64'), p('windows/amd64'))).toBe(false);
  });
});
