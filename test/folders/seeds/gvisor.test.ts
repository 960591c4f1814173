/**
 * gVisor's images/ as its CI and developers run it, with default flags, on a miniature of the
 * tree (test/fixtures/gvisor): nested image folders (basic/busybox, named basic_busybox by
 * make), a multi-arch image (Dockerfile + Dockerfile.aarch64), an image FROM another of the
 * folder, one with RUN (buildah), a helper folder that is no image. Against a real registry.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeBusyboxBase } from '../../helpers/busybox-base.js';
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
let remote: string;

const writes = () => proxy.log.filter((e) => !['GET', 'HEAD'].includes(e.method));
const list = async () => parsed<Listed>(await berth(['images', 'list', '--json']));

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-seed-gvisor-'));
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.host });
  const bb = await makeBusyboxBase(dir);
  expect((await berthBin(['push', bb, `${registry.host}/upstream/busybox:1.36`], { env: { PATH: process.env.PATH! } })).code).toBe(0);
  repo = await seedTree('gvisor', join(dir, 'gvisor'), { REGISTRY: registry.host });
  berth = berthIn(repo.dir, { XDG_CACHE_HOME: join(dir, 'cache'), BERTH_BUILDAH_STORAGE: join(dir, 'buildah') });
  // gVisor's REMOTE_IMAGE_PREFIX, through the proxy that counts writes.
  remote = `${proxy.host}/gvisor`;
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  await cleanup?.();
});

describe("gVisor's images/", () => {
  test('list: nested folders are images named by their path; a folder with none is named as skipped; the host platform only', async () => {
    const r = await berth(['images', 'list', '--json']);
    expect(r.code).toBe(0);
    const listed = parsed<Listed>(r);
    expect(listed.map((l) => l.name)).toEqual(['basic/alpine', 'basic/busybox', 'basic/shell', 'benchmarks/redis', 'default', 'runtimes/node', 'runtimes/python3']);
    expect(r.stderr).toContain('berth: skipped benchmarks/lib: no Dockerfile or ImageSource\n');
    // Dockerfile.aarch64 adds a way to build arm64; the default stays the host's platform.
    expect(listed.find((l) => l.name === 'default')!.platforms).toEqual(['linux/amd64']);
    expect(listed.find((l) => l.name === 'runtimes/python3')!.deps).toEqual(['basic/busybox']);
    // --dir below the image folder keeps the names (and the local bases) the folder gives.
    const basic = parsed<Listed>(await berth(['images', 'list', '--dir', 'images/basic', '--json']));
    expect(basic.map((l) => l.name)).toEqual(['basic/alpine', 'basic/busybox', 'basic/shell']);
    const runtimes = parsed<Listed>(await berth(['images', 'list', '--dir', 'images/runtimes', '--json']));
    expect(runtimes.map((l) => [l.name, l.deps])).toEqual([['runtimes/node', []], ['runtimes/python3', ['basic/busybox']]]);
    // make's spelling names the same image.
    const one = parsed<Listed>(await berth(['images', 'list', 'basic_busybox', '--json']));
    expect(one.map((l) => [l.name, l.tag])).toEqual([['basic/busybox', listed.find((l) => l.name === 'basic/busybox')!.tag]]);
  });

  test('build basic_busybox: an image tarball named gvisor.dev/images/basic/busybox; a RUN image built twice runs buildah once', async () => {
    const r = await berth(['images', 'build', 'basic_busybox']);
    expect(r.code).toBe(0);
    const tar = join(repo.dir, 'dist', 'images', 'basic_busybox.tar');
    const manifest = JSON.parse(await run('tar', ['-xOf', tar, 'manifest.json'])) as { RepoTags: string[] }[];
    expect(manifest[0]!.RepoTags).toEqual(['gvisor.dev/images/basic/busybox:latest']);

    const first = await berth(['images', 'build', 'basic/shell']);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('[basic/shell] buildah: ');
    const again = await berth(['images', 'build', 'basic/shell']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('buildah');
    expect(again.stderr).toContain('linux/amd64: built here before');
    const digest = (r2: CliResult) => /built basic\/shell (sha256:[0-9a-f]{64})/.exec(r2.stderr)![1];
    expect(digest(again)).toBe(digest(first));
  }, 180_000);

  test('push --all twice: everything published, then nothing written; load --all puts every name in one layout', async () => {
    const first = await berth(['images', 'push', '--all', '--registry', remote, '--json']);
    expect(first.code).toBe(0);
    const outcomes = parsed<Outcome>(first);
    expect(outcomes.map((o) => [o.name, o.status])).toEqual([
      ['basic/alpine', 'published'],
      ['basic/busybox', 'published'],
      ['basic/shell', 'published'],
      ['benchmarks/redis', 'published'],
      ['default', 'published'],
      ['runtimes/node', 'published'],
      ['runtimes/python3', 'published'],
    ]);
    expect(outcomes.find((o) => o.name === 'basic/busybox')!.repositories).toEqual([`${remote}/basic/busybox`]);
    // python3 is FROM basic/busybox: busybox's layer is under python3's.
    const tag = (n: string) => outcomes.find((o) => o.name === n)!.tags[0]!;
    const bbLayers = (await inspect(`${registry.host}/gvisor/basic/busybox:${tag('basic/busybox')}`)).Layers!;
    const pyLayers = (await inspect(`${registry.host}/gvisor/runtimes/python3:${tag('runtimes/python3')}`)).Layers!;
    expect(pyLayers.slice(0, bbLayers.length)).toEqual(bbLayers);

    proxy.log.length = 0;
    const second = await berth(['images', 'push', '--all', '--registry', remote, '--json']);
    expect(second.code).toBe(0);
    expect(parsed<Outcome>(second).every((o) => o.status === 'up-to-date')).toBe(true);
    expect(writes()).toEqual([]);

    // gVisor's load-all-images: from the registry by hash, on a machine that never built them.
    const layout = join(dir, 'all-images');
    const load = await berth(['images', 'load', '--all', '--registry', remote, '--into', `oci:${layout}`], { XDG_CACHE_HOME: join(dir, 'cache-other-machine') });
    expect(load.code).toBe(0);
    expect(load.stderr.match(/pulled by its content hash/g)).toHaveLength(7);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']).sort()).toEqual(
      ['basic/alpine', 'basic/busybox', 'basic/shell', 'benchmarks/redis', 'default', 'runtimes/node', 'runtimes/python3'].map((n) => `gvisor.dev/images/${n}:latest`),
    );
    // Several names, make's spelling.
    const two = await berth(['images', 'load', 'basic_busybox', 'runtimes_node', '--registry', remote, '--into', `oci:${join(dir, 'two')}`]);
    expect(two.code).toBe(0);
    expect(two.stderr.match(/^berth: loaded /gm)).toHaveLength(2);
  }, 240_000);

  test('ARCH=aarch64: --platform linux/arm64 builds Dockerfile.aarch64 into the same index; --arch-suffixed-repos adds NAME-ARCH repositories', async () => {
    const r = await berth(['images', 'push', 'default', '--registry', remote, '--platform', 'linux/arm64', '--json']);
    expect(r.code).toBe(0);
    const [o] = parsed<Outcome>(r);
    expect(o!.added).toEqual(['linux/arm64']);
    expect(o!.platforms.sort()).toEqual(['linux/amd64', 'linux/arm64']);
    const arm = join(dir, 'default-arm');
    expect((await berth(['images', 'load', 'default', '--platform', 'linux/arm64', '--registry', remote, '--into', `oci:${arm}`])).code).toBe(0);
    await run('umoci', ['unpack', '--image', `${arm}:gvisor.dev/images/default:latest`, join(dir, 'default-arm-root')]);
    expect(await readFile(join(dir, 'default-arm-root', 'rootfs', 'etc', 'arch'), 'utf8')).toBe('aarch64\n');

    const sfx = await berth(['images', 'push', 'default', '--registry', `${proxy.host}/gv-arch`, '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--arch-suffixed-repos', '--json']);
    expect(sfx.code).toBe(0);
    const [s] = parsed<Outcome>(sfx);
    expect((await inspect(`${registry.host}/gv-arch/default-arm64:${s!.tags[0]}`, true)).layers).toBeDefined();
    expect((await inspect(`${registry.host}/gv-arch/default-amd64:${s!.tags[0]}`, true)).layers).toBeDefined();

    // gVisor's own spelling, <name>_<uname arch>, through images.arch-suffix.
    const yaml = join(repo.dir, 'berth.yaml');
    const saved = await readFile(yaml, 'utf8');
    await writeFile(yaml, `${saved}  arch-suffix: _{{ .UnameArch }}\n`);
    try {
      const g = await berth(['images', 'push', 'basic/busybox', 'default', '--registry', `${proxy.host}/gv-uname`, '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--json']);
      expect(g.code).toBe(0);
      const [bb, def] = parsed<Outcome>(g);
      expect((await inspect(`${registry.host}/gv-uname/basic/busybox_x86_64:${bb!.tags[0]}`, true)).layers).toBeDefined();
      expect((await inspect(`${registry.host}/gv-uname/default_aarch64:${def!.tags[0]}`, true)).layers).toBeDefined();
    } finally {
      await writeFile(yaml, saved);
    }
  }, 120_000);

  test('--arch-suffixed-repos turned on for images already pushed: the dry run lists NAME-ARCH:TAG, the push writes them from the registry (nothing built), then no-ops', async () => {
    const at = `${proxy.host}/gv-late`;
    const both = ['--platform', 'linux/amd64', '--platform', 'linux/arm64'];
    const first = await berth(['images', 'push', 'default', 'basic/busybox', '--registry', at, ...both, '--json']);
    expect(first.code).toBe(0);
    const [bb, def] = parsed<Outcome>(first);
    expect((await inspect(`${registry.host}/gv-late/default-amd64:${def!.tags[0]}`, true).catch(() => undefined))).toBeUndefined();

    const mark = writes().length;
    const dry = await berth(['images', 'push', 'default', 'basic/busybox', '--registry', at, ...both, '--arch-suffixed-repos', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe(
      `berth: basic/busybox: would write ${at}/basic/busybox-amd64:${bb!.tags[0]}, ${at}/basic/busybox-arm64:${bb!.tags[0]} (dry run)\n` +
        `berth: default: would write ${at}/default-amd64:${def!.tags[0]}, ${at}/default-arm64:${def!.tags[0]} (dry run)\n`,
    );
    expect(writes().length).toBe(mark);

    const r = await berth(['images', 'push', 'default', 'basic/busybox', '--registry', at, ...both, '--arch-suffixed-repos', '--json']);
    expect(r.code).toBe(0);
    const out = parsed<Outcome>(r);
    expect(out.map((o) => [o.name, o.status, o.added, o.digest])).toEqual([
      ['basic/busybox', 'published', [], bb!.digest],
      ['default', 'published', [], def!.digest],
    ]);
    // Each per-arch repository names the platform's manifest of the index, as a fresh push would.
    const index = await inspect(`${registry.host}/gv-late/default:${def!.tags[0]}`, true);
    for (const arch of ['amd64', 'arm64']) {
      const child = index.manifests!.find((m) => m.platform.architecture === arch)!;
      const got = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/gv-late/default-${arch}:${def!.tags[0]}`])) as { Digest: string };
      expect(got.Digest).toBe(child.digest);
    }

    for (let i = 0; i < 2; i++) {
      const before = writes().length;
      const again = await berth(['images', 'push', 'default', 'basic/busybox', '--registry', at, ...both, '--arch-suffixed-repos', '--json']);
      expect(parsed<Outcome>(again).map((o) => o.status)).toEqual(['up-to-date', 'up-to-date']);
      expect(writes().length).toBe(before);
    }
  }, 120_000);

  test('one file changed: exactly the images that read it get new tags, and only they are pushed', async () => {
    const before = tagsOf(await list());
    await writeFile(join(repo.dir, 'images', 'basic', 'busybox', 'rootfs', 'etc', 'os-release'), 'NAME="busybox (edited)"\n');
    const after = tagsOf(await list());
    const changed = Object.keys(before).filter((k) => before[k] !== after[k]).sort();
    expect(changed).toEqual(['basic/busybox', 'runtimes/python3']);
    const r = await berth(['images', 'push', '--all', '--registry', remote, '--json']);
    expect(r.code).toBe(0);
    expect(parsed<Outcome>(r).filter((o) => o.status === 'published').map((o) => o.name)).toEqual(['basic/busybox', 'runtimes/python3']);
  }, 120_000);

  test('one image failing: the others are published and every image is in the report; exit 1', async () => {
    expect((await berth(['images', 'push', '--all', '--registry', remote])).code).toBe(0);
    const redis = join(repo.dir, 'images', 'benchmarks', 'redis', 'Dockerfile');
    const saved = await readFile(redis, 'utf8');
    await writeFile(redis, 'FROM scratch\nCOPY missing.conf /etc/redis/redis.conf\n');
    await writeFile(join(repo.dir, 'images', 'runtimes', 'node', 'node.txt'), '20.12.0\n');
    try {
      const report = join(dir, 'report.json');
      const r = await berth(['images', 'push', '--all', '--registry', remote, '--json', '--report', report]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines.at(-1)).toMatch(/^berth: 1 of 7 images not published \(benchmarks\/redis\); benchmarks\/redis: .*missing\.conf/);
      const entries = JSON.parse(await readFile(report, 'utf8')) as { image_name: string; status: string; pushed: boolean }[];
      expect(entries.map((e) => [e.image_name, e.status, e.pushed])).toEqual([
        ['basic/alpine', 'Succeeded', false],
        ['basic/busybox', 'Succeeded', false],
        ['basic/shell', 'Succeeded', false],
        ['benchmarks/redis', 'Failed', false],
        ['default', 'Succeeded', false],
        ['runtimes/node', 'Succeeded', true],
        ['runtimes/python3', 'Succeeded', false],
      ]);
    } finally {
      await writeFile(redis, saved);
    }
  }, 120_000);

  test('bad input before any request: two images one name after _ and /, an ambiguous folder', async () => {
    proxy.log.length = 0;
    await writeFile(join(repo.dir, 'images', 'basic', 'alpine', 'ImageSource'), 'docker.io/library/alpine:3.19\n');
    let r = await berth(['images', 'push', '--all', '--registry', remote]);
    expect([r.code, r.stderr]).toEqual([2, 'berth: basic/alpine: both Dockerfile and ImageSource apply to every platform; keep one\n']);
    await rm(join(repo.dir, 'images', 'basic', 'alpine', 'ImageSource'));
    await run('mkdir', ['-p', join(repo.dir, 'images', 'basic_busybox')]);
    await writeFile(join(repo.dir, 'images', 'basic_busybox', 'Dockerfile'), 'FROM scratch\n');
    r = await berth(['images', 'push', '--all', '--registry', remote]);
    expect([r.code, r.stderr]).toEqual([2, 'berth: images "basic/busybox" and "basic_busybox" are both named basic_busybox (make\'s spelling); rename one\n']);
    await rm(join(repo.dir, 'images', 'basic_busybox'), { recursive: true });
    expect(proxy.log).toEqual([]);
  });
});
