/**
 * Image locations as skopeo writes them (docker-archive:PATH, oci-archive:PATH, oci:DIR[:NAME],
 * docker://REF), accepted wherever berth reads or writes an image, and read back by skopeo.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { parseAnyLocation, parseLocation } from '../../src/transport/location.js';
import { berth } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let registry: TestRegistry;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-loc-'));
  registry = await startRegistry();
  expect((await berth(['base', 'static', '-o', 'base.tar', '-t', 'localhost/base:v1'], { cwd: dir })).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

describe('parsing', () => {
  test.each([
    ['docker-archive:a.tar', { kind: 'tarball', path: '/w/a.tar' }],
    ['docker-archive:out/a.tar:quay.io/org/app:v1', { kind: 'tarball', path: '/w/out/a.tar', name: 'quay.io/org/app:v1' }],
    ['oci-archive:/abs/a.tar', { kind: 'tarball', path: '/abs/a.tar' }],
    ['oci-archive:a.tar:v1', { kind: 'tarball', path: '/w/a.tar', name: 'v1' }],
    ['oci:dist', { kind: 'layout', dir: '/w/dist' }],
    ['oci:dist:quay.io/x/y:v1', { kind: 'layout', dir: '/w/dist', name: 'quay.io/x/y:v1' }],
    ['a.tar', { kind: 'tarball', path: '/w/a.tar' }],
  ])('%s', (text, want) => {
    expect(parseLocation(text, '/w', 'source')).toEqual(want);
    expect(parseAnyLocation(text, '/w', 'source')).toEqual(want);
  });

  test('docker://REF is a registry wherever a registry may be', () => {
    expect(parseAnyLocation('docker://127.0.0.1:5000/a/b:v1', '/w', 'source')).toEqual({ kind: 'registry', ref: { registry: '127.0.0.1:5000', repository: 'a/b', tag: 'v1' } });
  });

  test.each([
    ['docker-archive:', /source: "docker-archive:" names no file; write docker-archive:PATH\[:NAME\]/],
    ['oci-archive:a.tar:', /has an empty name after the colon/],
    ['oci:', /names no directory; write oci:DIR\[:NAME\]/],
  ])('%s is refused', (text, message) => {
    expect(() => parseLocation(text, '/w', 'source')).toThrow(message);
  });
});

describe('with skopeo', () => {
  test("skopeo's docker-archive (no OCI layout in it) is read by inspect, copy and build", async () => {
    await run('skopeo', ['copy', '-q', `oci-archive:${join(dir, 'base.tar')}`, `docker-archive:${join(dir, 'sk.tar')}:localhost/base:v1`]);
    const inspect = await berth(['inspect', '--json', 'docker-archive:sk.tar'], { cwd: dir });
    expect(inspect.code).toBe(0);
    const summary = JSON.parse(inspect.stdout);
    expect(summary.platform).toBe('linux/amd64');
    expect(summary.config.user).toBe('65532:65532');
    const copy = await berth(['copy', 'docker-archive:sk.tar:localhost/base:v1', 'oci:layout:copied'], { cwd: dir });
    expect(copy.code).toBe(0);
    expect(await run('umoci', ['ls', '--layout', join(dir, 'layout')])).toBe('copied\n');
    const build = await berth(['build', '--base', 'docker-archive:sk.tar', '--file', `${join(dir, 'base.tar')}:/x`, '-o', 'docker-archive:built.tar:localhost/built:v1'], { cwd: dir });
    expect(build.code).toBe(0);
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', `docker-archive:${join(dir, 'built.tar')}`]));
    expect(raw.layers).toHaveLength(2);
    expect(JSON.parse(await run('tar', ['xOf', join(dir, 'built.tar'), 'manifest.json']))[0].RepoTags).toEqual(['localhost/built:v1']);
  });

  test('berth writes oci-archive: and docker-archive: that skopeo reads as either', async () => {
    const r = await berth(['copy', 'base.tar', 'oci-archive:o.tar:localhost/o:v1'], { cwd: dir });
    expect(r.code).toBe(0);
    const digest = r.stdout.trim();
    for (const t of ['oci-archive', 'docker-archive']) {
      const out = JSON.parse(await run('skopeo', ['inspect', `${t}:${join(dir, 'o.tar')}`]));
      expect(out.Os).toBe('linux');
    }
    expect(JSON.parse(await run('skopeo', ['inspect', `oci-archive:${join(dir, 'o.tar')}`])).Digest).toBe(digest);
  });

  test('docker:// on both sides of copy and as push and pull', async () => {
    const push = await berth(['push', 'oci-archive:base.tar', `docker://${registry.host}/loc/base:v1`], { cwd: dir });
    expect(push.code).toBe(0);
    const pull = await berth(['pull', `docker://${registry.host}/loc/base:v1`, '-o', 'docker-archive:pulled.tar'], { cwd: dir });
    expect(pull.code).toBe(0);
    expect(pull.stdout).toBe(push.stdout);
    const copy = await berth(['copy', `docker://${registry.host}/loc/base:v1`, `docker://${registry.host}/loc/copy:v1`], { cwd: dir });
    expect(copy.stdout).toBe(push.stdout);
    expect(JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/loc/copy:v1`])).Digest).toBe(push.stdout.trim());
  });
});

test("README's claim: umoci reads berth's OCI format, not --format docker", async () => {
  for (const [format, name] of [['oci', 'o'], ['docker', 'd']]) {
    expect((await berth(['base', 'static', '--format', format!, '-o', `oci:umoci-${name}:${name}`], { cwd: dir })).code).toBe(0);
  }
  await run('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'umoci-o')}:o`, join(dir, 'bundle-o')]);
  await expect(run('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'umoci-d')}:d`, join(dir, 'bundle-d')])).rejects.toThrow(/not implemented: application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
});
