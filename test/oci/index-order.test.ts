/**
 * The canonical order of an index's entries (by os, architecture, variant, os.version,
 * os.features, then digest): the same set of images gives the same index bytes and digest in
 * any order. Property tests over random platforms and permutations.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { assembleIndex } from '../../src/image/assemble.js';
import { compareIndexEntries, type Descriptor } from '../../src/oci/descriptor.js';
import type { Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/mediatype.js';
import { comparePlatforms, type Platform } from '../../src/oci/platform.js';

const word = fc.constantFrom('', 'a', 'b', 'linux', 'windows', 'amd64', 'arm', 'arm64', 'v7', 'v8', '10.0.17763.5329', 'Z', 'é');
const platform: fc.Arbitrary<Platform> = fc.record(
  {
    os: word,
    architecture: word,
    variant: word,
    'os.version': word,
    'os.features': fc.array(word, { maxLength: 3 }),
  },
  { requiredKeys: ['os', 'architecture'] },
);
const digest: fc.Arbitrary<Digest> = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}` as Digest);
const entry: fc.Arbitrary<Descriptor> = fc.record({ platform, digest }).map(({ platform: p, digest: d }) => ({ mediaType: MediaType.ociManifest, digest: d, size: 500, platform: p }));
/** Entries with distinct digests (as an index's children are), and a permutation of them. */
const entriesAndPermutation = fc.uniqueArray(entry, { minLength: 1, maxLength: 8, selector: (e) => e.digest }).chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length })));

describe('comparePlatforms and compareIndexEntries', () => {
  test('are total orders: antisymmetric and transitive, zero only for equal keys', () => {
    fc.assert(
      fc.property(platform, platform, platform, (a, b, c) => {
        expect(Math.sign(comparePlatforms(a, b))).toBe(-Math.sign(comparePlatforms(b, a)) || 0);
        if (comparePlatforms(a, b) <= 0 && comparePlatforms(b, c) <= 0) expect(comparePlatforms(a, c)).toBeLessThanOrEqual(0);
        const same = a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '') && (a['os.version'] ?? '') === (b['os.version'] ?? '') && JSON.stringify(a['os.features'] ?? []) === JSON.stringify(b['os.features'] ?? []);
        expect(comparePlatforms(a, b) === 0).toBe(same);
      }),
      { numRuns: 500 },
    );
  });

  test('order by os, then architecture, then variant, then os.version, then os.features, then digest', () => {
    const d = (p: Platform, hex = 'a') => ({ mediaType: MediaType.ociManifest, digest: `sha256:${hex.repeat(64)}` as Digest, size: 1, platform: p });
    const sorted = [
      d({ os: 'linux', architecture: 'amd64' }),
      d({ os: 'linux', architecture: 'arm', variant: 'v6' }),
      d({ os: 'linux', architecture: 'arm', variant: 'v7' }),
      d({ os: 'linux', architecture: 'arm64' }, 'a'),
      d({ os: 'linux', architecture: 'arm64' }, 'b'),
      d({ os: 'linux', architecture: 'ppc64le' }),
      d({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }),
      d({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1' }),
      d({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1', 'os.features': ['win32k'] }),
    ];
    expect([...sorted].reverse().sort(compareIndexEntries)).toEqual(sorted);
    // An entry with no platform comes first.
    const bare = { mediaType: MediaType.ociManifest, digest: `sha256:${'f'.repeat(64)}` as Digest, size: 1 };
    expect([sorted[0]!, bare].sort(compareIndexEntries)[0]).toBe(bare);
  });
});

describe('assembleIndex', () => {
  test('any permutation of the same children gives the same bytes and digest, in the canonical order', () => {
    fc.assert(
      fc.property(entriesAndPermutation, ([entries, permuted]) => {
        const a = assembleIndex(entries, 'oci');
        const b = assembleIndex(permuted, 'oci');
        expect(Buffer.from(b.raw).equals(Buffer.from(a.raw))).toBe(true);
        expect(b.digest).toBe(a.digest);
        const listed = a.index.manifests;
        for (let i = 1; i < listed.length; i++) expect(compareIndexEntries(listed[i - 1]!, listed[i]!)).toBeLessThanOrEqual(0);
        expect(new Set(listed.map((m) => m.digest))).toEqual(new Set(entries.map((e) => e.digest)));
      }),
      { numRuns: 300 },
    );
  });
});
