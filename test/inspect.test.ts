/**
 * berth inspect: names and what they point at, platforms, what size counts, and the stored
 * bytes with --raw and --config (compared with skopeo's).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { berth, berthBin } from './helpers/cli.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { run, tempDir } from './helpers/tools.js';

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
