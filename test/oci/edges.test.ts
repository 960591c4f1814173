/**
 * Edges of the data model that mutation testing found no in-process test holding: the
 * 255-character name limit, the registry host check, an empty or digest-only reference, the
 * exact inverse of formatReference, platform matching by normalised variant, and the media
 * type families.
 */
import { describe, expect, test } from '@jest/globals';
import { digestAlgorithm, digestFromHex, parseDigest } from '../../src/oci/digest.js';
import { formatOf, isGzipLayer, isIndexMediaType, isLayerMediaType, isManifestMediaType, MediaType } from '../../src/oci/mediatype.js';
import { parsePlatform, platformMatches } from '../../src/oci/platform.js';
import { formatReference, parseReference } from '../../src/oci/reference.js';

const D = `sha256:${'b'.repeat(64)}`;

describe('references', () => {
  test('a name of exactly 255 characters (registry/repository) is accepted, 256 is not', () => {
    const registry = 'registry.example'; // 16 + '/' = 17
    const ok = `${registry}/${'a'.repeat(255 - 17)}`;
    expect(parseReference(`${ok}:v1`).repository).toHaveLength(255 - 17);
    expect(() => parseReference(`${ok}a:v1`)).toThrow(expect.objectContaining({ code: 'BAD_REFERENCE', message: expect.stringContaining('the name is longer than 255 characters') }));
  });

  test('an empty reference, a bad host and a reference that is only a digest are refused, naming the input', () => {
    expect(() => parseReference('', { what: '--base' })).toThrow(/^--base: "" is not a valid image reference: it is empty$/);
    expect(() => parseReference('bad_host.example/app:v1')).toThrow(/^reference: "bad_host\.example\/app:v1" is not a valid image reference: "bad_host\.example" is not a registry host$/);
    expect(() => parseReference(`@${D}`)).toThrow(/is not a valid image reference/);
    expect(() => parseReference('quay.io/app@sha256:abc')).toThrow(/"sha256:abc" is not a digest/);
  });

  test('a tag and a digest together are both kept, and formatReference is the exact inverse', () => {
    for (const text of [`quay.io/org/app:v1@${D}`, `quay.io/org/app@${D}`, 'quay.io/org/app:v1', `localhost:5000/app:v2@${D}`]) {
      const ref = parseReference(text);
      expect(formatReference(ref)).toBe(text);
    }
    expect(parseReference(`quay.io/org/app@${D}`)).toEqual({ registry: 'quay.io', repository: 'org/app', digest: D });
    expect(parseReference('quay.io/org/app')).toEqual({ registry: 'quay.io', repository: 'org/app', tag: 'latest' });
    // A host needs a dot, a port or to be localhost; upper case alone does not make one (a
    // push to such a name could only fail), so it is a repository path, which is lower case.
    expect(parseReference('Host.example/app:v1').registry).toBe('Host.example');
    expect(() => parseReference('Host/app:v1')).toThrow('"Host" must be lowercase letters, digits and separators (a registry host needs a dot or a port)');
    expect(parseReference('org/app:v1').registry).toBe('docker.io');
  });
});

describe('platforms', () => {
  test.each([
    ['linux/arm64', 'linux/arm64/v8', true],
    ['linux/arm', 'linux/arm/v7', true],
    ['linux/arm', 'linux/arm/v6', false],
    ['linux/amd64', 'linux/amd64/v1', true],
    ['linux/amd64', 'linux/amd64/v2', false],
    ['linux/ppc64le', 'linux/ppc64le', true],
    ['linux/amd64', 'linux/arm64', false],
    ['linux/amd64', 'windows/amd64', false],
  ])('%s matches %s: %s (both ways)', (a, b, same) => {
    expect(platformMatches(parsePlatform(a), parsePlatform(b))).toBe(same);
    expect(platformMatches(parsePlatform(b), parsePlatform(a))).toBe(same);
  });

  test('a variant is kept only when given', () => {
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(Object.keys(parsePlatform('linux/arm'))).toEqual(['os', 'architecture']);
    expect(() => parsePlatform('linux')).toThrow(/^--platform: "linux" is not a platform; write os\/arch/);
    expect(() => parsePlatform('beos/amd64', '--x')).toThrow(/^--x: unknown operating system "beos" in "beos\/amd64" \(known: linux, windows, /);
  });
});

describe('media types and digests', () => {
  test('the families', () => {
    expect([MediaType.ociIndex, MediaType.dockerManifestList].map(isIndexMediaType)).toEqual([true, true]);
    expect([MediaType.ociManifest, MediaType.dockerManifest, undefined].map(isIndexMediaType)).toEqual([false, false, false]);
    expect([MediaType.ociManifest, MediaType.dockerManifest].map(isManifestMediaType)).toEqual([true, true]);
    expect([MediaType.ociIndex, undefined].map(isManifestMediaType)).toEqual([false, false]);
    expect(isLayerMediaType('application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);
    expect(isLayerMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true);
    expect(isLayerMediaType('application/vnd.oci.image.config.v1+json')).toBe(false);
    expect(isGzipLayer('application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);
    expect(isGzipLayer('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true);
    expect(isGzipLayer('application/vnd.oci.image.layer.v1.tar')).toBe(false);
    expect(isGzipLayer('application/vnd.oci.image.layer.v1.tar+zstd')).toBe(false);
    expect(formatOf(MediaType.dockerManifest)).toBe('docker');
    expect(formatOf(MediaType.ociManifest)).toBe('oci');
  });

  test('digests: algorithm, from hex, and the input named in errors', () => {
    expect(digestAlgorithm(D as never)).toBe('sha256');
    expect(digestFromHex('sha256', 'b'.repeat(64))).toBe(D);
    expect(() => digestFromHex('sha256', 'xyz')).toThrow(/^digest: "sha256:xyz" is not a valid digest/);
    expect(() => parseDigest('nope', '--digest')).toThrow(/^--digest: "nope" is not a valid digest \(want sha256/);
  });
});
