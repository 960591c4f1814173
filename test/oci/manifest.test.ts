/**
 * What berth accepts as a manifest, index, descriptor or image config read from a file or a
 * server: every check of src/oci/manifest.ts and descriptor.ts, each refusal exit 2 with a
 * message naming where the document came from. (Written after mutation testing showed no
 * in-process test held these checks.)
 */
import { describe, expect, test } from '@jest/globals';
import { validateDescriptor } from '../../src/oci/descriptor.js';
import { encodeJson, parseImageConfig, parseManifestOrIndex, sniffMediaType } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/mediatype.js';

const D = `sha256:${'a'.repeat(64)}`;
const desc = (more: Record<string, unknown> = {}) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 3, ...more });
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const manifest = (more: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc({ mediaType: MediaType.ociConfig }), layers: [desc()], ...more });
const index = (more: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc({ mediaType: MediaType.ociManifest, platform: { os: 'linux', architecture: 'amd64' } })], ...more });

describe('validateDescriptor', () => {
  test('accepts a full descriptor and returns it as it is', () => {
    const d = desc({ annotations: { a: 'b' }, platform: { os: 'linux', architecture: 'arm', variant: 'v7' }, size: 0 });
    expect(validateDescriptor(d, 'x')).toBe(d);
  });

  test.each([
    ['null', null, 'is not an object'],
    ['an array', [desc()], 'is not an object'],
    ['a string', 'sha256:x', 'is not an object'],
    ['no mediaType', desc({ mediaType: undefined }), 'has no mediaType'],
    ['an empty mediaType', desc({ mediaType: '' }), 'has no mediaType'],
    ['a number as mediaType', desc({ mediaType: 7 }), 'has no mediaType'],
    ['a bad digest', desc({ digest: 'sha256:abc' }), 'has an invalid digest "sha256:abc"'],
    ['a digest that is not a string', desc({ digest: 12 }), 'has an invalid digest 12'],
    ['a negative size', desc({ size: -1 }), 'has an invalid size -1'],
    ['a fractional size', desc({ size: 1.5 }), 'has an invalid size 1.5'],
    ['an unsafe size', desc({ size: 2 ** 53 }), `has an invalid size ${2 ** 53}`],
    ['a size as a string', desc({ size: '3' }), 'has an invalid size "3"'],
    ['annotations that are not strings', desc({ annotations: { a: 1 } }), 'has annotations that are not strings'],
    ['annotations as a list', desc({ annotations: ['a'] }), 'has annotations that are not strings'],
    ['a platform without os', desc({ platform: { architecture: 'amd64' } }), 'has a platform without os and architecture'],
    ['a platform without architecture', desc({ platform: { os: 'linux' } }), 'has a platform without os and architecture'],
    ['a platform that is a string', desc({ platform: 'linux/amd64' }), 'has a platform without os and architecture'],
  ])('refuses %s', (_name, value, why) => {
    expect(() => validateDescriptor(value, 'in.tar index.json')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST', exitCode: 2, message: `in.tar index.json: descriptor ${why}` }));
  });
});

describe('sniffMediaType', () => {
  test('the document says, else the caller, else the shape', () => {
    expect(sniffMediaType({ mediaType: 'x' }, 'y')).toBe('x');
    expect(sniffMediaType({}, 'y')).toBe('y');
    expect(sniffMediaType({ manifests: [] })).toBe(MediaType.ociIndex);
    expect(sniffMediaType({ config: {}, layers: [] })).toBe(MediaType.ociManifest);
    expect(sniffMediaType({ config: {}, layers: {} })).toBeUndefined();
    expect(sniffMediaType({ config: 'x', layers: [] })).toBeUndefined();
    expect(sniffMediaType([])).toBeUndefined();
    expect(sniffMediaType(null)).toBeUndefined();
  });
});

describe('parseManifestOrIndex', () => {
  test('a manifest and an index, also without mediaType fields (from their shape or the caller)', () => {
    expect(parseManifestOrIndex(bytes(manifest()), 'm')).toMatchObject({ kind: 'manifest', mediaType: MediaType.ociManifest });
    expect(parseManifestOrIndex(bytes(index()), 'i')).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
    const { mediaType: _m, ...bareManifest } = manifest();
    const { mediaType: _i, ...bareIndex } = index();
    expect(parseManifestOrIndex(bytes(bareManifest), 'm')).toMatchObject({ kind: 'manifest', mediaType: MediaType.ociManifest });
    expect(parseManifestOrIndex(bytes(bareIndex), 'i')).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
    expect(parseManifestOrIndex(bytes(bareManifest), 'm', MediaType.dockerManifest)).toMatchObject({ kind: 'manifest', mediaType: MediaType.dockerManifest });
    expect(parseManifestOrIndex(bytes(bareIndex), 'i', MediaType.dockerManifestList)).toMatchObject({ kind: 'index', mediaType: MediaType.dockerManifestList });
    const parsed = parseManifestOrIndex(bytes(manifest({ annotations: { a: 'b' } })), 'm');
    expect(parsed.kind === 'manifest' && parsed.manifest.layers[0]!.digest).toBe(D);
  });

  test.each([
    ['not JSON', '{', /^where: not valid JSON \(/],
    ['schemaVersion 1', bytes(manifest({ schemaVersion: 1 })), /^where: not a schemaVersion 2 manifest or index$/],
    ['no schemaVersion', bytes(manifest({ schemaVersion: undefined })), /^where: not a schemaVersion 2 manifest or index$/],
    ['a JSON list', bytes([manifest()]), /^where: not a schemaVersion 2 manifest or index$/],
    ['an index without manifests', bytes(index({ manifests: undefined, mediaType: MediaType.ociIndex })), /^where: index has no manifests list$/],
    ['an index with a bad child', bytes(index({ manifests: [desc(), desc({ size: -2 })] })), /^where manifests\[1\]: descriptor has an invalid size -2$/],
    ['an index with annotations that are not strings', bytes(index({ annotations: { a: true } })), /^where: annotations must be strings$/],
    ['a manifest with a bad config', bytes(manifest({ config: desc({ digest: 'x' }) })), /^where config: descriptor has an invalid digest "x"$/],
    ['a manifest without config', bytes(manifest({ config: undefined })), /^where config: descriptor is not an object$/],
    ['a manifest without layers', bytes(manifest({ layers: undefined })), /^where: manifest has no layers list$/],
    ['a manifest with a bad layer', bytes(manifest({ layers: [desc(), desc(), desc({ mediaType: '' })] })), /^where layers\[2\]: descriptor has no mediaType$/],
    ['a manifest with annotations that are not strings', bytes(manifest({ annotations: { a: 1 } })), /^where: annotations must be strings$/],
    ['an unknown media type', bytes(manifest({ mediaType: 'text/plain' })), /^where: unsupported media type "text\/plain"$/],
    ['no media type and no shape', bytes({ schemaVersion: 2 }), /^where: unsupported media type null$/],
  ])('refuses %s', (_name, raw, message) => {
    expect(() => parseManifestOrIndex(typeof raw === 'string' ? bytes(raw) : raw, 'where')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST', exitCode: 2, message: expect.stringMatching(message) }));
  });
});

describe('parseImageConfig', () => {
  const config = (more: Record<string, unknown> = {}) => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...more });
  test('accepts a config and keeps every field', () => {
    expect(parseImageConfig(bytes(config({ extra: 1 })), 'c')).toEqual(config({ extra: 1 }));
  });
  test.each([
    ['not JSON', '[', /^c: not valid JSON/],
    ['a list', bytes([config()]), /^c: image config is not an object$/],
    ['null', bytes(null), /^c: image config is not an object$/],
    ['no architecture', bytes(config({ architecture: undefined })), /^c: image config has no architecture and os$/],
    ['no os', bytes(config({ os: 3 })), /^c: image config has no architecture and os$/],
    ['no rootfs', bytes(config({ rootfs: undefined })), /^c: image config has no rootfs.diff_ids$/],
    ['diff_ids not a list', bytes(config({ rootfs: { diff_ids: 'x' } })), /^c: image config has no rootfs.diff_ids$/],
  ])('refuses %s', (_name, raw, message) => {
    expect(() => parseImageConfig(typeof raw === 'string' ? bytes(raw) : raw, 'c')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST', exitCode: 2, message: expect.stringMatching(message) }));
  });
});

test('encodeJson: no white space, keys in the order built', () => {
  expect(Buffer.from(encodeJson({ b: 1, a: [1, { c: 'x' }] })).toString()).toBe('{"b":1,"a":[1,{"c":"x"}]}');
});
