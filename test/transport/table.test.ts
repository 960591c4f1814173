/**
 * The transport table (src/transport/location.ts): every place an image lives is one row, and
 * what one row writes as a location, every parser that takes its kind reads back as the same
 * location. `--into` takes the daemon row as well; copy and push do not.
 */
import { describe, expect, test } from '@jest/globals';
import { parseLoadTarget } from '../../src/folders/load-local.js';
import { describeLocation, parseAnyLocation, parseLocation, TRANSPORTS, transportOf, type EveryLocation } from '../../src/transport/location.js';

describe('the transport table', () => {
  test('one row per kind; the row that claims any path (the tarball) is last', () => {
    const kinds = TRANSPORTS.map((t) => t.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds.at(-1)).toBe('tarball');
    for (const t of TRANSPORTS.slice(0, -1)) expect(t.claims('some/file.tar', '/w')).toBe(false);
  });

  const samples: [string, EveryLocation][] = [
    ['oci:/w/dist:quay.io/x/y:v1', { kind: 'layout', dir: '/w/dist', name: 'quay.io/x/y:v1' }],
    ['oci:/w/dist', { kind: 'layout', dir: '/w/dist' }],
    ['/w/a.tar', { kind: 'tarball', path: '/w/a.tar' }],
    ['127.0.0.1:5000/a/b:v1', { kind: 'registry', ref: { registry: '127.0.0.1:5000', repository: 'a/b', tag: 'v1' } }],
    ['docker', { kind: 'daemon', engine: 'docker' }],
    ['podman', { kind: 'daemon', engine: 'podman' }],
  ];

  test.each(samples)('%s: described as written, parsed back to the same location', (text, loc) => {
    expect(describeLocation(loc)).toBe(text);
    expect(transportOf(loc).kind).toBe(loc.kind);
    if (loc.kind === 'daemon') expect(parseLoadTarget(text, '/w')).toEqual(loc);
    else expect(parseAnyLocation(`${loc.kind === 'registry' ? 'docker://' : ''}${text}`, '/w', 'source')).toEqual(loc);
    if (loc.kind === 'layout' || loc.kind === 'tarball') {
      expect(parseLocation(text, '/w', 'source')).toEqual(loc);
      expect(parseLoadTarget(text, '/w')).toEqual(loc);
    }
  });

  test('docker and podman are places only for --into: elsewhere they are file names', () => {
    expect(parseAnyLocation('docker', '/w', 'source')).toEqual({ kind: 'tarball', path: '/w/docker' });
    expect(parseLocation('podman', '/w', 'source')).toEqual({ kind: 'tarball', path: '/w/podman' });
  });

  test('berth reads no image out of a daemon: one line, exit 2', async () => {
    const err = await transportOf({ kind: 'daemon', engine: 'podman' }).read({ kind: 'daemon', engine: 'podman' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2 });
    expect((err as Error).message).not.toContain('\n');
  });
});
