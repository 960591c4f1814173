/**
 * berth inspect: names and what they point at, platforms, what size counts, and the stored
 * bytes with --raw and --config (compared with skopeo's).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { berth, berthBin } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let registry: TestRegistry;
let indexDigest: string;
const sha256 = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-inspect-'));
  registry = await startRegistry();
  const base = await berth(['base', 'static', '-p', 'linux/amd64', '-p', 'linux/arm64', '-o', 'multi.tar'], { cwd: dir });
  indexDigest = base.stdout.trim();
  // One index under two tags in one layout.
  for (const tag of ['v1', 'latest']) expect((await berth(['copy', 'multi.tar', `oci:layout:quay.io/x/app:${tag}`], { cwd: dir })).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

test('two tags on one index: each name, what it points at and its platforms; the index shown once', async () => {
  const r = await berth(['inspect', 'oci:layout'], { cwd: dir });
  expect(r.code).toBe(0);
  const lines = r.stdout.split('\n');
  // In the layout's order (index.json's).
  expect(lines[0]).toBe('names');
  expect(lines.slice(1, 3).sort()).toEqual([
    `  quay.io/x/app:latest  -> index ${indexDigest} (linux/amd64, linux/arm64)`,
    `  quay.io/x/app:v1      -> index ${indexDigest} (linux/amd64, linux/arm64)`,
  ]);
  expect(lines.filter((l) => l.startsWith('index '))).toEqual([`index      ${indexDigest}`]);
  expect(r.stdout).toContain('platforms  linux/amd64, linux/arm64\n');
  expect(r.stdout).toContain('images     2\n');
  expect(r.stdout).toMatch(/size {7}\d+ B \(\d+ bytes: the index document alone\)/);
  expect(r.stdout).toMatch(/size {7}[\d.]+ KiB \(\d+ bytes: manifest, config and compressed layers, as a pull moves them\)/);
});

test('--json has the names', async () => {
  const r = await berth(['inspect', '--json', 'oci:layout'], { cwd: dir });
  const out = JSON.parse(r.stdout);
  expect(out.names.map((n: { name: string; digest: string }) => [n.name, n.digest]).sort()).toEqual([
    ['quay.io/x/app:latest', indexDigest],
    ['quay.io/x/app:v1', indexDigest],
  ]);
  expect(out.kind).toBe('index');
  expect(out.platforms).toEqual(['linux/amd64', 'linux/arm64']);
});

test('--raw prints the stored bytes exactly (its sha256 is the digest), as skopeo inspect --raw', async () => {
  const r = await berthBin(['inspect', '--raw', 'oci:layout:quay.io/x/app:v1'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(sha256(r.stdout)).toBe(indexDigest);
  expect(r.stdout).toBe(await run('skopeo', ['inspect', '--raw', `oci:${join(dir, 'layout')}:quay.io/x/app:v1`]));
  const one = await berthBin(['inspect', '--raw', '-p', 'linux/arm64', 'multi.tar'], { cwd: dir });
  expect(JSON.parse(one.stdout).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
});

test('--config prints the config bytes (one image: --platform out of an index)', async () => {
  const r = await berthBin(['inspect', '--config', '-p', 'linux/arm64', 'multi.tar'], { cwd: dir });
  expect(r.code).toBe(0);
  const manifest = JSON.parse((await berthBin(['inspect', '--raw', '-p', 'linux/arm64', 'multi.tar'], { cwd: dir })).stdout);
  expect(sha256(r.stdout)).toBe(manifest.config.digest);
  expect(JSON.parse(r.stdout).architecture).toBe('arm64');
  const ambiguous = await berth(['inspect', '--config', 'multi.tar'], { cwd: dir });
  expect(ambiguous.code).toBe(2);
  expect(ambiguous.stderr).toMatch(/^berth: --config: .*multi\.tar: holds images for linux\/amd64, linux\/arm64; choose one with --platform\n$/);
});

test('a registry image: --raw as skopeo gives it, and the reference as its name', async () => {
  const ref = `${registry.host}/inspect/app:v1`;
  expect((await berth(['push', 'multi.tar', ref], { cwd: dir })).code).toBe(0);
  const raw = await berthBin(['inspect', '--raw', ref], { cwd: dir });
  expect(raw.stdout).toBe(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
  const r = await berth(['inspect', ref], { cwd: dir });
  expect(r.stdout).toContain(`names\n  ${ref}  -> index ${indexDigest} (linux/amd64, linux/arm64)\n`);
});

test('a multi-platform tarball: a note that docker load tags nothing, and the per-platform way, which does', async () => {
  const r = await berth(['index', '--image', 'multi.tar', '-o', 'again.tar', '-t', 'localhost/x:v1'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    `berth: note: docker load of this multi-platform tarball tags nothing (RepoTags is empty); to load one platform under its name: berth copy ${join(dir, 'again.tar')} one.tar --platform linux/amd64 --tag NAME, then docker load -i one.tar\n`,
  );
  expect(JSON.parse(await run('tar', ['xOf', join(dir, 'again.tar'), 'manifest.json'])).map((m: { RepoTags: string[] }) => m.RepoTags)).toEqual([[], []]);
  const one = await berth(['copy', 'again.tar', 'one.tar', '--platform', 'linux/amd64', '--tag', 'localhost/x:v1'], { cwd: dir });
  expect(one.stderr).not.toContain('note:');
  expect(JSON.parse(await run('tar', ['xOf', join(dir, 'one.tar'), 'manifest.json']))[0].RepoTags).toEqual(['localhost/x:v1']);
  expect((await berth(['index', '--image', 'multi.tar', '-o', 'oci:idx'], { cwd: dir })).stderr).not.toContain('note:');
});

/**
 * A named multi-platform tarball, as `base static -t -p A -p B`, `berth index -t` and `images
 * build` write it: one index.json entry (ref.name and io.containerd.image.name both naming it).
 * The name once, every platform's image, --platform picks one, --raw the index as skopeo.
 */
test.each([
  ['base static -t', ['base', 'static', '-t', 'quay.io/x/app:v1', '-p', 'linux/amd64', '-p', 'linux/arm64', '-o', 'named-base.tar'], 'named-base.tar'],
  ['index -t', ['index', '--image', 'amd64.tar', '--image', 'arm64.tar', '-t', 'quay.io/x/app:v1', '-o', 'named-index.tar'], 'named-index.tar'],
])('a named multi-platform tarball (%s): named once, every image, --platform, --raw the index', async (_what, argv, out) => {
  for (const arch of ['amd64', 'arm64']) if (argv.includes(`${arch}.tar`)) expect((await berth(['base', 'static', '-p', `linux/${arch}`, '-o', `${arch}.tar`], { cwd: dir })).code).toBe(0);
  expect((await berth(argv, { cwd: dir })).code).toBe(0);
  const r = await berth(['inspect', out], { cwd: dir });
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').slice(0, 3)).toEqual(['names', `  quay.io/x/app:v1  -> index ${indexDigest} (linux/amd64, linux/arm64)`, '']);
  expect(r.stdout.match(/^ {2}platform {3}.*$/gm)).toEqual(['  platform   linux/amd64', '  platform   linux/arm64']);
  const raw = await berthBin(['inspect', '--raw', out], { cwd: dir });
  expect(raw.stdout).toBe(await run('skopeo', ['inspect', '--raw', `oci-archive:${join(dir, out)}`]));
  expect(sha256(raw.stdout)).toBe(indexDigest);
  const arm = await berth(['inspect', '--platform', 'linux/arm64', out], { cwd: dir });
  expect(arm.stdout.match(/^platform {3}.*$/gm)).toEqual(['platform   linux/arm64']);
  // README's own example.
  const config = await berthBin(['inspect', '--config', '--platform', 'linux/arm64', out], { cwd: dir });
  expect({ code: config.code, arch: JSON.parse(config.stdout).architecture }).toEqual({ code: 0, arch: 'arm64' });
  expect(config.stdout).toBe(await run('skopeo', ['inspect', '--config', '--raw', '--override-arch', 'arm64', `oci-archive:${join(dir, out)}`]));
});

test('push of a layout with several names and no :NAME: exit 2 naming them, nothing pushed; with :NAME it pushes that one', async () => {
  for (const [arch, name] of [['amd64', 'x/a:1'], ['arm64', 'x/b:1']]) {
    expect((await berth(['base', 'static', '-p', `linux/${arch}`, '-o', `one-${arch}.tar`], { cwd: dir })).code).toBe(0);
    expect((await berth(['copy', `one-${arch}.tar`, `oci:two-names:${name}`], { cwd: dir })).code).toBe(0);
  }
  for (const source of ['two-names', 'oci:two-names']) {
    const r = await berth(['push', source, `${registry.host}/two-names/app:v1`], { cwd: dir });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `berth: ${source === 'two-names' ? '' : 'oci:'}${join(dir, 'two-names')} holds 2 names (x/a:1, x/b:1): push one of them, as oci:${join(dir, 'two-names')}:NAME\n` });
  }
  expect((await fetch(`http://${registry.host}/v2/two-names/app/tags/list`)).status).toBe(404);
  const one = await berth(['push', 'oci:two-names:x/b:1', `${registry.host}/two-names/app:v1`], { cwd: dir });
  expect(one.code).toBe(0);
  expect(JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/two-names/app:v1`])).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
});
