/**
 * MicroShift's side-images as build.sh runs them (ARCHITECTURES, DEST_REGISTRY, COMPONENTS),
 * with berth's default flags, on a miniature of packaging/images/components
 * (test/fixtures/microshift): four architectures from images.platforms, Dockerfile.<arch>
 * and ImageSource.<arch>, a base-image the others name through `ARG BASE_IMAGE_URL` /
 * `FROM ${BASE_IMAGE_URL}:${BASE_IMAGE_TAG}`, and a build_binaries writing bin/.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { run, tempDir } from '../../helpers/tools.js';
import type { TestRepo } from '../../status/git-repo.js';
import { berthIn, inspect, parsed, seedTree, tagsOf, type Listed, type Outcome } from './trees.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
let repo: TestRepo;
let berth: (args: string[], extra?: Record<string, string>) => Promise<CliResult>;

const ALL = ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le'];
const writes = () => proxy.log.filter((e) => !['GET', 'HEAD'].includes(e.method));
const list = async () => parsed<Listed>(await berth(['images', 'list', '--json']));

/** An upstream multi-arch image (berth's static base), as quay.io serves kubevirt's. */
async function upstream(ref: string, platforms: string[]): Promise<void> {
  const out = join(dir, `${ref.replaceAll(/[/:]/g, '_')}.tar`);
  const built = await berthBin(['base', 'static', ...platforms.flatMap((p) => ['-p', p]), '-o', out], { env: { PATH: process.env.PATH!, SOURCE_DATE_EPOCH: '1600000000' } });
  expect(built.code).toBe(0);
  expect((await berthBin(['push', out, `${registry.host}/${ref}`], { env: { PATH: process.env.PATH! } })).code).toBe(0);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-seed-microshift-'));
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.host });
  await upstream('upstream/coredns:v1.11', ['linux/amd64', 'linux/arm64', 'linux/ppc64le']);
  await upstream('upstream/pause:3.9', ALL);
  // DEST_REGISTRY: through the proxy that counts writes.
  repo = await seedTree('microshift', join(dir, 'microshift'), { REGISTRY: proxy.host });
  berth = berthIn(repo.dir, { XDG_CACHE_HOME: join(dir, 'cache') });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  await cleanup?.();
});

describe("MicroShift's side-images", () => {
  test('list: images.platforms for every component, each built by its most specific file; those it cannot build left out with a note', async () => {
    const r = await berth(['images', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = parsed<Listed>(r);
    const platforms = Object.fromEntries(listed.map((l) => [l.name, [...l.platforms].sort()]));
    expect(platforms).toEqual({
      'base-image': ALL,
      cli: ALL,
      coredns: ['linux/amd64', 'linux/arm64', 'linux/ppc64le'],
      'haproxy-router': ['linux/amd64', 'linux/arm64'],
      pause: ALL,
    });
    // The base named through ARG BASE_IMAGE_URL is the folder's base-image.
    expect(listed.find((l) => l.name === 'cli')!.deps).toEqual(['base-image']);
    expect(listed.find((l) => l.name === 'haproxy-router')!.deps).toEqual(['base-image']);
    expect(r.stderr).toContain('berth: coredns: linux/arm/v7 left out: no file of coredns builds it (Dockerfile.amd64, ImageSource.arm64, ImageSource.ppc64le)\n');
  });

  test('push --all: build_binaries writes bin/ before the build, bin/ is not hashed; cli is FROM base-image for each platform; the second push writes nothing', async () => {
    const hashes = tagsOf(await list());
    const r = await berth(['images', 'push', '--all', '--json']);
    expect(r.code).toBe(0);
    const outcomes = parsed<Outcome>(r);
    expect(outcomes.map((o) => [o.name, o.status])).toEqual([
      ['base-image', 'published'],
      ['cli', 'published'],
      ['coredns', 'published'],
      ['haproxy-router', 'published'],
      ['pause', 'published'],
    ]);
    expect((await readdir(join(repo.dir, 'components', 'cli', 'bin'))).sort()).toEqual(['oc-amd64', 'oc-arm', 'oc-arm64', 'oc-ppc64le']);
    expect(r.stderr).toContain('[cli] build_binaries: built bin/oc-ppc64le\n');
    expect(tagsOf(await list())).toEqual(hashes);
    // For every platform, cli's layers start with base-image's for that platform.
    const tag = (n: string) => outcomes.find((o) => o.name === n)!.tags[0]!;
    for (const p of ALL) {
      const [os, arch, variant] = p.split('/');
      const pick = async (name: string) => {
        const index = await inspect(`${registry.host}/microshift/${name}:${tag(name)}`, true);
        const m = index.manifests!.find((x) => x.platform.architecture === arch && (x.platform.variant ?? '') === (variant ?? ''))!;
        return (await inspect(`${registry.host}/microshift/${name}@${m.digest}`, true)).layers!.map((l) => l.digest);
      };
      void os;
      const base = await pick('base-image');
      expect((await pick('cli')).slice(0, base.length)).toEqual(base);
    }
    // coredns: amd64 built, arm64 and ppc64le taken from upstream by digest.
    const coredns = await inspect(`${registry.host}/microshift/coredns:${tag('coredns')}`, true);
    const up = await inspect(`${registry.host}/upstream/coredns:v1.11`, true);
    for (const arch of ['arm64', 'ppc64le']) expect(coredns.manifests!.find((m) => m.platform.architecture === arch)!.digest).toBe(up.manifests!.find((m) => m.platform.architecture === arch)!.digest);

    proxy.log.length = 0;
    const again = await berth(['images', 'push', '--all', '--json']);
    expect(again.code).toBe(0);
    expect(parsed<Outcome>(again).every((o) => o.status === 'up-to-date')).toBe(true);
    expect(again.stderr).not.toContain('build_binaries');
    expect(writes()).toEqual([]);
  }, 240_000);

  test('another runner: cli changed, base-image is pulled by its hash (never built) and cli is built FROM it', async () => {
    expect((await berth(['images', 'push', 'base-image'])).code).toBe(0);
    await writeFile(join(repo.dir, 'components', 'cli', 'src', 'main.go'), 'package main\n\nfunc main() { println("v2") }\n');
    const r = await berth(['images', 'build', 'cli', '--json'], { XDG_CACHE_HOME: join(dir, 'cache-runner-2') });
    expect(r.code).toBe(0);
    const [built] = parsed<{ name: string; origins: Record<string, string>; bases: Record<string, Record<string, string>> }>(r);
    expect(built!.origins).toEqual(Object.fromEntries(ALL.map((p) => [p, 'built'])));
    expect(built!.bases).toEqual({ 'base-image': Object.fromEntries(ALL.map((p) => [p, 'registry'])) });
    // Built again on that runner: taken from its cache, build_binaries does not run.
    const again = await berth(['images', 'build', 'cli', '--json'], { XDG_CACHE_HOME: join(dir, 'cache-runner-2') });
    expect(parsed<{ origins: Record<string, string> }>(again)[0]!.origins).toEqual(Object.fromEntries(ALL.map((p) => [p, 'cache'])));
    expect(again.stderr).not.toContain('build_binaries');
  }, 120_000);

  test("one file of base-image changed: base-image and the components FROM it get new tags, the others keep theirs", async () => {
    const before = tagsOf(await list());
    await writeFile(join(repo.dir, 'components', 'base-image', 'rootfs', 'etc', 'os-release'), 'NAME="base-image 2"\n');
    const after = tagsOf(await list());
    expect(Object.keys(before).filter((k) => before[k] !== after[k]).sort()).toEqual(['base-image', 'cli', 'haproxy-router']);
    // Loaded for arm64 (MicroShift's ARCH), built here with its base.
    const out = join(dir, 'cli-arm64');
    const load = await berth(['images', 'load', 'cli', '--platform', 'linux/arm64', '--into', `oci:${out}`]);
    expect(load.code).toBe(0);
    const names = (JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] }).manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']);
    expect(names).toEqual(['docker.io/library/cli:latest']);
    await run('umoci', ['unpack', '--image', `${out}:${names[0]}`, join(dir, 'cli-root')]);
    expect(await readFile(join(dir, 'cli-root', 'rootfs', 'usr', 'bin', 'oc'), 'utf8')).toContain('oc for arm64');
    expect(await readFile(join(dir, 'cli-root', 'rootfs', 'etc', 'os-release'), 'utf8')).toBe('NAME="base-image 2"\n');
  }, 120_000);

  test('a build_binaries that changes a file it does not declare is exit 2 naming the file; what ran before never changes a hash', async () => {
    const hash0 = tagsOf(await list()).cli;
    const script = join(repo.dir, 'components', 'cli', 'build_binaries');
    const saved = await readFile(script, 'utf8');
    await writeFile(script, `${saved}echo "// generated" >> src/main.go\n`);
    await chmod(script, 0o755);
    try {
      const hash1 = tagsOf(await list()).cli;
      expect(hash1).not.toBe(hash0);
      const r = await berth(['images', 'build', 'cli', '--platform', 'linux/amd64'], { XDG_CACHE_HOME: join(dir, 'cache-bb') });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').at(-1)).toBe('berth: cli/build_binaries (linux/amd64) changed src/main.go, which build_binaries.outputs does not declare (default: bin/); declare its outputs there');
    } finally {
      await writeFile(script, saved);
      await run('git', ['-C', repo.dir, 'checkout', '--', 'components/cli/src/main.go']).catch(() => '');
    }
    // bin/ written by something else (a `make build`): the hash stays.
    const before = tagsOf(await list()).cli;
    await writeFile(join(repo.dir, 'components', 'cli', 'bin', 'oc-amd64'), 'built by make\n');
    expect(tagsOf(await list()).cli).toBe(before);
  }, 120_000);
});

describe('a failing base', () => {
  test('push --all with base-image failing: the components FROM it are skipped, the others published, every one reported; exit 1', async () => {
    const df = join(repo.dir, 'components', 'base-image', 'Dockerfile');
    const saved = await readFile(df, 'utf8');
    await writeFile(df, 'FROM scratch\nCOPY missing/ /\n');
    await writeFile(join(repo.dir, 'components', 'coredns', 'coredns.amd64'), 'coredns 1.11.2 for amd64\n');
    try {
      const report = join(dir, 'ms-report.json');
      const r = await berth(['images', 'push', '--all', '--json', '--report', report]);
      expect(r.code).toBe(1);
      // --json on a failure: every image, and the error.
      const { images: outcomes, error } = JSON.parse(r.stdout) as { images: Outcome[]; error: { code: string } };
      expect(error.code).toBe('REGISTRY');
      expect(outcomes.map((o) => [o.name, o.status])).toEqual([
        ['base-image', 'failed'],
        ['cli', 'skipped'],
        ['coredns', 'published'],
        ['haproxy-router', 'skipped'],
        ['pause', expect.stringMatching(/^(up-to-date|published)$/)],
      ]);
      expect(outcomes.find((o) => o.name === 'cli')!.error).toBe('not built: its base base-image failed');
      const entries = JSON.parse(await readFile(report, 'utf8')) as { image_name: string; status: string }[];
      expect(entries.map((e) => [e.image_name, e.status])).toEqual([['base-image', 'Failed'], ['cli', 'Skipped'], ['coredns', 'Succeeded'], ['haproxy-router', 'Skipped'], ['pause', 'Succeeded']]);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^berth: 3 of 5 images not published \(base-image, cli, haproxy-router\); base-image: /);
    } finally {
      await writeFile(df, saved);
    }
  }, 120_000);
});

describe('the base named by argument, through buildah', () => {
  test('cli FROM ${BASE_IMAGE_URL}:${BASE_IMAGE_TAG} builds with --engine buildah on a runner with an empty cache, base-image under cli', async () => {
    const r = await berth(['images', 'build', 'cli', '--engine', 'buildah', '--platform', 'linux/amd64', '--json'], { XDG_CACHE_HOME: join(dir, 'cache-buildah'), BERTH_BUILDAH_STORAGE: join(dir, 'buildah') });
    // buildah's engine runs a Dockerfile step by step under berth (src/builder/steps/): cli has no
    // RUN, so buildah itself is not called; the base named by ARG is resolved the same way.
    expect(r.code).toBe(0);
    const tar = parsed<{ output: string }>(r)[0]!.output;
    const oci = join(dir, 'cli-buildah');
    await run('skopeo', ['copy', `docker-archive:${tar}`, `oci:${oci}:x`]);
    await run('umoci', ['unpack', '--image', `${oci}:x`, join(dir, 'cli-buildah-root')]);
    expect(await readFile(join(dir, 'cli-buildah-root', 'rootfs', 'usr', 'bin', 'oc'), 'utf8')).toContain('oc for amd64');
    expect(await readFile(join(dir, 'cli-buildah-root', 'rootfs', 'etc', 'os-release'), 'utf8')).toBe(await readFile(join(repo.dir, 'components', 'base-image', 'rootfs', 'etc', 'os-release'), 'utf8'));
  }, 180_000);

  test('and through Docker (a daemon the test starts): the same base under the same reference', async () => {
    const { startDockerd } = await import('../../helpers/dockerd.js');
    const dockerd = await startDockerd(dir);
    try {
      const r = await berth(['images', 'build', 'cli', '--engine', 'docker', '--platform', 'linux/amd64', '--json'], { XDG_CACHE_HOME: join(dir, 'cache-docker'), ...(dockerd.env as Record<string, string>) });
      expect(r.stderr).toContain('[cli] docker linux/amd64: ');
      expect(r.code).toBe(0);
      const tar = parsed<{ output: string }>(r)[0]!.output;
      const oci = join(dir, 'cli-docker');
      await run('skopeo', ['copy', `docker-archive:${tar}`, `oci:${oci}:x`]);
      await run('umoci', ['unpack', '--image', `${oci}:x`, join(dir, 'cli-docker-root')]);
      expect(await readFile(join(dir, 'cli-docker-root', 'rootfs', 'usr', 'bin', 'oc'), 'utf8')).toContain('oc for amd64');
      expect(await readFile(join(dir, 'cli-docker-root', 'rootfs', 'etc', 'os-release'), 'utf8')).toBe(await readFile(join(repo.dir, 'components', 'base-image', 'rootfs', 'etc', 'os-release'), 'utf8'));
    } finally {
      await dockerd.stop();
    }
  }, 180_000);
});
