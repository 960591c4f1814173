import { describe, expect, test } from '@jest/globals';
import { familiarName, formatReference, parseReference } from '../../src/oci/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  test.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['jetstack/cert-manager', 'docker.io/jetstack/cert-manager:latest'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
    ['quay.io/jetstack/cert-manager-controller:v1.2.3', 'quay.io/jetstack/cert-manager-controller:v1.2.3'],
    ['localhost/foo', 'localhost/foo:latest'],
    ['127.0.0.1:5000/a/b/c:tag_1.0-x', '127.0.0.1:5000/a/b/c:tag_1.0-x'],
    [`ghcr.io/acme/app@${D}`, `ghcr.io/acme/app@${D}`],
    [`ghcr.io/acme/app:v1@${D}`, `ghcr.io/acme/app:v1@${D}`],
    ['registry.example.com:443/a__b/c-d.e:1', 'registry.example.com:443/a__b/c-d.e:1'],
  ])('weak %s', (text, want) => {
    expect(formatReference(parseReference(text))).toBe(want);
  });

  test('strict requires a registry and a tag or digest', () => {
    expect(() => parseReference('alpine:3', { strict: true })).toThrow(/name the registry/);
    expect(() => parseReference('quay.io/a/b', { strict: true })).toThrow(/name a tag or a digest/);
    expect(formatReference(parseReference('quay.io/a/b:1', { strict: true }))).toBe('quay.io/a/b:1');
  });

  test.each([
    ['', /empty/],
    ['Quay.io', /lowercase/],
    ['quay.io/UPPER/x:1', /"UPPER" must be lowercase/],
    ['UPPER/repo:v1', /"UPPER" must be lowercase letters, digits and separators \(a registry host needs a dot or a port\)/],
    ['quay.io/a/b:-bad', /tag "-bad"/],
    ['quay.io/a/b:has+plus', /tag "has\+plus"/],
    [`quay.io/a/b:${'x'.repeat(129)}`, /does not fit/],
    ['quay.io/a//b:1', /empty path component/],
    ['quay.io/a/b@sha256:abc', /not a digest/],
  ])('rejects %j', (text, message) => {
    expect(() => parseReference(text, { what: '--tag' })).toThrow(message);
  });

  test('familiar names drop docker.io and library/', () => {
    expect(familiarName(parseReference('alpine'))).toBe('alpine:latest');
    expect(familiarName(parseReference('jetstack/x:1'))).toBe('jetstack/x:1');
    expect(familiarName(parseReference('quay.io/jetstack/x:1'))).toBe('quay.io/jetstack/x:1');
  });
});
