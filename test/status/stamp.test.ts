/**
 * Names stamped from Bazel status files: `{KEY}` in `berth copy|index --tag` and in
 * `berth release --registry/--tag` becomes the key's value from `--status-file`. A copy with
 * `--tag` re-names an image tarball without changing its digest; what the Bazel rules'
 * naming action does.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expandStatusKeys, statusKeysIn } from '../../src/status/stamp.js';
import { berth, REPO_ROOT } from '../helpers/cli.js';
import { run, tempDir } from '../helpers/tools.js';

const HELLO = join(REPO_ROOT, 'demo', 'hello', 'bin');
const values = (o: Record<string, string>) => ({ values: new Map(Object.entries(o)), files: ['bazel-out/stable-status.txt'] });

describe('expandStatusKeys', () => {
  test('replaces each {KEY}, leaves tag templates and other text alone', () => {
    const status = values({ STABLE_DOCKER_REGISTRY: 'quay.io/acme', STABLE_DOCKER_TAG: 'v1.2.3' });
    expect(expandStatusKeys('{STABLE_DOCKER_REGISTRY}/app:{STABLE_DOCKER_TAG}', status, '--tag')).toBe('quay.io/acme/app:v1.2.3');
    expect(expandStatusKeys('v{{ .Version }}-{STABLE_DOCKER_TAG}', status, '--tag')).toBe('v{{ .Version }}-v1.2.3');
    expect(expandStatusKeys('plain:tag', undefined, '--tag')).toBe('plain:tag');
    expect(statusKeysIn('{A}{B_2}{A}{{ .X }}{not a key}')).toEqual(['A', 'B_2']);
  });

  test('a key with no value, or no status file at all, is an error naming the flag and the value', () => {
    expect(() => expandStatusKeys('x:{STABLE_NOPE}', values({}), '--tag')).toThrow('--tag "x:{STABLE_NOPE}": no status file gives STABLE_NOPE (read stable-status.txt)');
    expect(() => expandStatusKeys('{STABLE_DOCKER_TAG}', undefined, '--tag')).toThrow(
      '--tag "{STABLE_DOCKER_TAG}": {STABLE_DOCKER_TAG} is a workspace status key and no --status-file gives its value (with Bazel, build with --stamp)',
    );
  });
});

describe('--status-file on the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let image: string;
  let digest: string;
  let status: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    image = join(dir, 'image.tar');
    const r = await berth(['build', '--base', 'static', '--file', `${join(HELLO, 'hello-amd64')}:/app/hello:0755`, '--output', image]);
    expect(r.code).toBe(0);
    digest = r.stdout.trim();
    status = join(dir, 'stable-status.txt');
    await writeFile(status, 'BUILD_HOST box\nSTABLE_DOCKER_REGISTRY ghcr.io/acme\nSTABLE_DOCKER_PUSH_REGISTRY ghcr.io/acme-push\nSTABLE_DOCKER_TAG v1.2.3\n');
  });
  afterAll(async () => cleanup());

  test('berth copy --tag re-names a tarball, stamped, keeping its digest', async () => {
    const out = join(dir, 'named.tar');
    const r = await berth(['copy', image, out, '--tag', '{STABLE_DOCKER_REGISTRY}/hello:{STABLE_DOCKER_TAG}', '--tag', 'example.com/hello:latest', '--status-file', status, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ digest, tags: ['ghcr.io/acme/hello:v1.2.3', 'example.com/hello:latest'] });
    expect(JSON.parse(await run('tar', ['-xOf', out, 'manifest.json']))[0].RepoTags).toEqual(['ghcr.io/acme/hello:v1.2.3', 'example.com/hello:latest']);
    expect(JSON.parse(await run('skopeo', ['inspect', `oci-archive:${out}:ghcr.io/acme/hello:v1.2.3`])).Digest).toBe(digest);
    // Same inputs, same bytes.
    const again = join(dir, 'again.tar');
    await berth(['copy', image, again, '--tag', '{STABLE_DOCKER_REGISTRY}/hello:{STABLE_DOCKER_TAG}', '--tag', 'example.com/hello:latest', '--status-file', status]);
    const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
    expect(await sha(again)).toBe(await sha(out));
    // Into a folder that does not exist yet (as Bazel's and berth build's outputs): created.
    const nested = join(dir, 'new', 'folder', 'named.tar');
    const n = await berth(['copy', image, nested, '--tag', '{STABLE_DOCKER_REGISTRY}/hello:{STABLE_DOCKER_TAG}', '--tag', 'example.com/hello:latest', '--status-file', status]);
    expect(n.code).toBe(0);
    expect(await sha(nested)).toBe(await sha(out));
  });

  test('bad uses say what is wrong, exit 2', async () => {
    const missing = await berth(['copy', image, join(dir, 'x.tar'), '--tag', '{STABLE_DOCKER_REGISTRY}/hello:v1']);
    expect([missing.code, missing.stderr]).toEqual([2, 'berth: --tag "{STABLE_DOCKER_REGISTRY}/hello:v1": {STABLE_DOCKER_REGISTRY} is a workspace status key and no --status-file gives its value (with Bazel, build with --stamp)\n']);
    const noFile = await berth(['copy', image, join(dir, 'x.tar'), '--tag', 'a/b:c', '--status-file', join(dir, 'nope.txt')]);
    expect([noFile.code, noFile.stderr]).toEqual([2, `berth: --status-file ${join(dir, 'nope.txt')}: no such file\n`]);
    const toRegistry = await berth(['copy', image, '127.0.0.1:1/x/y:v1', '--tag', 'a/b:c']);
    expect([toRegistry.code, toRegistry.stderr]).toEqual([2, 'berth: --tag names a local copy (image tarball or oci:DIR); for a registry, put the tag in the destination (127.0.0.1:1/x/y:v1)\n']);
  });

  test('berth index --tag and berth release --registry/--tag take status keys', async () => {
    const idx = join(dir, 'index.tar');
    const i = await berth(['index', '--image', image, '--output', idx, '--tag', '{STABLE_DOCKER_REGISTRY}/hello:{STABLE_DOCKER_TAG}', '--status-file', status]);
    expect(i.code).toBe(0);
    const index = JSON.parse(await run('tar', ['-xOf', idx, 'index.json']));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('ghcr.io/acme/hello:v1.2.3');

    const r = await berth(['release', '--component', `hello=${image}`, '--tag', '{STABLE_DOCKER_TAG}', '--to', `oci:${join(dir, 'layout')}`, '--status-file', status, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('release plan (oci, tags: v1.2.3)\n');
    const noStatus = await berth(['release', '--component', `hello=${image}`, '--registry', '{STABLE_DOCKER_PUSH_REGISTRY}', '--dry-run']);
    expect(noStatus.code).toBe(2);
    expect(noStatus.stderr).toContain('--registry "{STABLE_DOCKER_PUSH_REGISTRY}": {STABLE_DOCKER_PUSH_REGISTRY} is a workspace status key');
  });
});
