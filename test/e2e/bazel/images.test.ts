/**
 * berth's Bazel rules with real Bazel (Debian's bazel-bootstrap), in a temporary copy of this
 * workspace that is a git repository tagged v1.2.3: `bazel build --stamp //build:server-images`
 * gives one image tarball per component and platform, with the right platform and the stamped
 * name; a new DOCKER_TAG re-bundles them under the new name and runs no image action; an
 * unstamped build carries no status value; after `bazel clean` the disk cache gives back
 * byte-identical outputs with no action run; berth itself is an input; bad input fails with a
 * clear message. The per-platform tarballs are the output group `images`; the default output
 * is each component's index. The server images build //demo/hello (a select() on the cpu)
 * once per platform through the transition; a berth_image without `platform` follows
 * --platforms. Every build runs with the sandbox on (linux-sandbox here).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_WORKSPACE_FILES, bazelWorkspace, parseExecLog, type BazelWorkspace, type Spawn } from '../../helpers/bazel.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { run } from '../../helpers/tools.js';
import { TestRepo } from '../../status/git-repo.js';

const COMPONENTS = ['controller', 'webhook', 'cainjector'];
const PLATFORMS = [
  { name: 'linux/amd64', suffix: 'linux_amd64', os: 'linux', architecture: 'amd64' },
  { name: 'linux/arm/v7', suffix: 'linux_arm_v7', os: 'linux', architecture: 'arm', variant: 'v7' },
  { name: 'linux/arm64', suffix: 'linux_arm64', os: 'linux', architecture: 'arm64' },
  { name: 'linux/ppc64le', suffix: 'linux_ppc64le', os: 'linux', architecture: 'ppc64le' },
  { name: 'linux/s390x', suffix: 'linux_s390x', os: 'linux', architecture: 's390x' },
];
const IMAGES = COMPONENTS.flatMap((c) => PLATFORMS.map((p) => ({ component: c, platform: p, file: `bazel-bin/build/${c}.${p.suffix}.tar` })));

const BAD_PACKAGES: Record<string, string> = {
  'bad/platform/BUILD.bazel': `load("//build:defs.bzl", "berth_image")
berth_image(name = "image", binary = "//demo/hello:bin/hello-amd64", platform = "linux/sparc64")
`,
  'bad/missing/BUILD.bazel': `load("//build:defs.bzl", "multi_arch_image")
multi_arch_image(
    name = "image",
    binaries = {"linux/amd64": "//demo/hello:bin/hello-amd64"},
    platforms = ["linux/amd64", "linux/s390x"],
)
`,
  'bad/binary/BUILD.bazel': `load("//build:defs.bzl", "multi_arch_image")
multi_arch_image(
    name = "image",
    binaries = {"linux/amd64": "//demo/hello:bin/hello-amd64", "linux/s390x": "//demo/hello:bin/hello-sparc"},
)
`,
  'bad/key/BUILD.bazel': `load("//build:defs.bzl", "berth_image")
berth_image(name = "image", binary = "//demo/hello:bin/hello-amd64", repository = "{STABLE_DOCKER_REGISTRY}/x", tags = ["{STABLE_NO_SUCH_KEY}"])
`,
  'bad/foreign/BUILD.bazel': `load("//build:defs.bzl", "berth_image")
berth_image(name = "image", binary = "//demo/hello:bin/hello-amd64", platform = "linux/arm64")
`,
  'plat/BUILD.bazel': `load("//build:defs.bzl", "berth_image")
berth_image(name = "image", binary = "//demo/hello", build_for_platform = True, repository = "example.com/plat", tags = ["v1"])
`,
};

let ws: BazelWorkspace;
let repo: TestRepo;
let commit: string;
let flags: string[];
let logs = 0;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'lean', 'berth.cjs'))) throw new Error('dist/lean/berth.cjs is missing: run npm run build first');
  ws = await bazelWorkspace({
    copy: BERTH_WORKSPACE_FILES,
    files: { '.gitignore': '/bazel-*\n/out/\n', 'berth.yaml': 'registry: ghcr.io/acme\n', ...BAD_PACKAGES },
  });
  repo = await TestRepo.init(ws.dir);
  commit = await repo.commit();
  await repo.tag('v1.2.3', { annotated: true });
  // The sandbox on (linux-sandbox where it works, else the process-wrapper one), and a disk
  // cache from the first build on.
  flags = ['--spawn_strategy=sandboxed', '--nosandbox_debug', '--jobs=2', `--disk_cache=${join(ws.tmp, 'disk-cache')}`, '--output_groups=default,images'];
});

afterAll(async () => {
  await ws?.close();
});

/** `bazel build` with the file's flags and an execution log; the spawns Bazel ran or fetched from a cache. */
async function build(targets: string[], more: string[] = [], env?: Record<string, string>): Promise<{ stderr: string; spawns: Spawn[] }> {
  const log = join(ws.tmp, `exec-${++logs}.json`);
  const r = await ws.build(targets, { flags: [...flags, `--execution_log_json_file=${log}`, ...more], ...(env ? { env } : {}) });
  return { stderr: r.stderr, spawns: parseExecLog(await readFile(log, 'utf8')) };
}

/** `bazel build` expected to fail: its output. */
async function buildFails(targets: string[], more: string[] = []): Promise<string> {
  const r = await ws.run(['build', '--color=no', '--curses=no', ...flags, ...more, ...targets]);
  expect(r.code).not.toBe(0);
  return r.stderr;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const entry = (tarball: string, name: string) => run('tar', ['-xOf', join(ws.dir, tarball), name]);
const repoTags = async (tarball: string) => (JSON.parse(await entry(tarball, 'manifest.json')) as { RepoTags: string[] }[]).map((m) => m.RepoTags);
/** The manifest digest of an image tarball, as skopeo reads it from the OCI side. */
const manifestDigest = async (tarball: string) => JSON.parse(await run('skopeo', ['inspect', `oci-archive:${join(ws.dir, tarball)}`])).Digest as string;
const mnemonics = (spawns: Spawn[]) => [...new Set(spawns.map((s) => s.mnemonic))].sort();

describe('//build:server-images', () => {
  const firstDigests = new Map<string, string>();
  const firstBytes = new Map<string, string>();

  test('bazel build --stamp: one tarball per component and platform, each that platform, named from the status', async () => {
    const { stderr, spawns } = await build(['//build:server-images'], ['--stamp']);
    // The sandbox was on for every action that ran.
    expect(stderr).toMatch(/\d+ processes: .*\d+ (linux-sandbox|processwrapper-sandbox)/);
    expect(spawns.every((s) => /sandbox/.test(s.runner))).toBe(true);
    // One layer action per image, one naming action per image, an index per component, and the static base.
    const count = (m: string) => spawns.filter((s) => s.mnemonic === m).length;
    // ... and a small action per stamped target extracting the status keys it names.
    expect([count('BerthImage'), count('BerthStamp'), count('BerthIndex'), count('BerthBase'), count('BerthStatusKeys')]).toEqual([15, 15, 3, 1, 18]);
    expect(spawns.length).toBe(52);
    expect(await ws.read('bazel-bin/build/controller.status.txt')).toBe('STABLE_DOCKER_REGISTRY ghcr.io/acme\nSTABLE_DOCKER_TAG v1.2.3\n');

    for (const { component, platform, file } of IMAGES) {
      const name = `ghcr.io/acme/${component}:v1.2.3`;
      expect(await repoTags(file)).toEqual([[name]]);
      // skopeo finds the image by that name, and it is the platform it should be.
      const config = JSON.parse(await run('skopeo', ['inspect', '--config', `docker-archive:${join(ws.dir, file)}:${name}`]));
      expect({ os: config.os, architecture: config.architecture, variant: config.variant }).toEqual({ os: platform.os, architecture: platform.architecture, variant: platform.variant });
      const digest = await manifestDigest(file);
      expect((await ws.read(file.replace(/\.tar$/, '.digest'))).trim()).toBe(digest);
      firstDigests.set(file, digest);
    }
    // Each component's index lists its five images in the canonical order (by platform), under the stamped name.
    for (const c of COMPONENTS) {
      const index = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${join(ws.dir, `bazel-bin/build/${c}.tar`)}:ghcr.io/acme/${c}:v1.2.3`]));
      expect(index.manifests.map((m: { platform: { architecture: string; variant?: string } }) => m.platform.architecture + (m.platform.variant ? `/${m.platform.variant}` : ''))).toEqual(['amd64', 'arm/v7', 'arm64', 'ppc64le', 's390x']);
      expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual(PLATFORMS.map((p) => firstDigests.get(`bazel-bin/build/${c}.${p.suffix}.tar`)));
    }
    // The binary is the entrypoint, in the static base's user.
    const config = JSON.parse(await run('skopeo', ['inspect', '--config', `oci-archive:${join(ws.dir, 'bazel-bin/build/webhook.linux_arm_v7.tar')}`]));
    expect(config.config).toMatchObject({ Entrypoint: ['/app/webhook'], User: '65532:65532', Labels: { 'org.opencontainers.image.title': 'webhook' } });
    for (const f of [...IMAGES.map((i) => i.file), ...COMPONENTS.map((c) => `bazel-bin/build/${c}.tar`)]) firstBytes.set(f, sha256(await readFile(join(ws.dir, f))));
  });

  test('bazel run --stamp lists every tarball with its stamped name, and -- --output copies them out', async () => {
    // (out/ is in the workspace's .gitignore: a folder git saw would make the status dirty.)
    const runFlags = flags.filter((f) => !f.startsWith('--output_groups'));
    const r = await ws.run(['run', '--color=no', '--curses=no', ...runFlags, '--stamp', '//build:server-images', '--', '--output', 'out/images']);
    if (r.code !== 0) throw new Error(`bazel run failed (${r.code}): ${r.stderr.split('\n').slice(-20).join('\n')}`);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PLATFORM +NAMES +FILE$/);
    const rows = lines.slice(1).map((l) => l.split(/ +/));
    // The default outputs: each component's index (every platform's layers, once).
    const want = COMPONENTS.map((c) => ['index', `ghcr.io/acme/${c}:v1.2.3`, `${c}.tar`]);
    expect(rows.map(([p, n, f]) => [p, n, f!.replace(`${join(ws.dir, 'out/images')}/`, '')]).sort()).toEqual(want.sort());
    for (const [, , f] of want) expect(sha256(await readFile(join(ws.dir, 'out/images', f!)))).toBe(firstBytes.get(`bazel-bin/build/${f}`));
    const bad = await ws.run(['run', '--color=no', '--curses=no', ...flags, '--stamp', '//build:server-images', '--', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('//build:server-images: unknown argument "--bogus" (it takes --output DIR)');
  });

  test('a new DOCKER_TAG re-bundles every tarball under the new name; no image action runs and no digest changes', async () => {
    const { spawns } = await build(['//build:server-images'], ['--stamp'], { DOCKER_TAG: 'v2.0.0-rc.1' });
    expect(mnemonics(spawns)).toEqual(['BerthIndex', 'BerthStamp', 'BerthStatusKeys']);
    expect(spawns.filter((s) => s.mnemonic === 'BerthStamp')).toHaveLength(15);
    for (const { component, file } of IMAGES) {
      expect(await repoTags(file)).toEqual([[`ghcr.io/acme/${component}:v2.0.0-rc.1`]]);
      expect(await manifestDigest(file)).toBe(firstDigests.get(file));
    }
    const index = JSON.parse(await entry('bazel-bin/build/controller.tar', 'index.json'));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('ghcr.io/acme/controller:v2.0.0-rc.1');
  });

  test('an unstamped build names every image bazel.local/<component>:latest and holds no status value', async () => {
    const { spawns } = await build(['//build:server-images']);
    expect(spawns.some((s) => s.mnemonic === 'BerthImage')).toBe(false);
    // No naming action read the status.
    expect(spawns.filter((s) => s.commandArgs.some((a) => a.includes('status'))).map((s) => s.commandArgs.join(' '))).toEqual([]);
    for (const { component, file } of [...IMAGES, ...COMPONENTS.map((c) => ({ component: c, file: `bazel-bin/build/${c}.tar` }))]) {
      const name = JSON.parse(await entry(file, 'index.json')).manifests[0].annotations['org.opencontainers.image.ref.name'];
      expect(name).toBe(`bazel.local/${component}:latest`);
      if (!file.endsWith(`/${component}.tar`)) expect(await repoTags(file)).toEqual([[name]]);
      const bytes = (await readFile(join(ws.dir, file))).toString('latin1');
      for (const value of ['v1.2.3', 'v2.0.0', commit, commit.slice(0, 14), 'ghcr.io', 'STABLE_']) expect(bytes).not.toContain(value);
    }
    for (const { file } of IMAGES) expect(await manifestDigest(file)).toBe(firstDigests.get(file));
  });

  test('after bazel clean, the disk cache gives every output back byte for byte, with no action run', async () => {
    const clean = await ws.run(['clean']);
    expect(clean.code).toBe(0);
    const { stderr, spawns } = await build(['//build:server-images'], ['--stamp']);
    expect(spawns.length).toBe(52);
    expect(spawns.filter((s) => !s.remoteCacheHit).map((s) => s.mnemonic)).toEqual([]);
    expect(stderr).toMatch(/52 remote cache hit/);
    expect(stderr).not.toMatch(/\d+ (linux-sandbox|processwrapper-sandbox|local)\b/);
    for (const [f, hash] of firstBytes) expect([f, sha256(await readFile(join(ws.dir, f)))]).toEqual([f, hash]);
  });

  test('bad input fails with a message saying what to fix', async () => {
    expect(await buildFails(['//build:server-images'], ['--define', 'image_type=distroless'])).toContain(
      '--define image_type=distroless is not an image type berth knows; use static (the default: no libc) or dynamic (glibc)',
    );
    expect(await buildFails(['//bad/platform:image'])).toContain(`berth_image //bad/platform:image: platform "linux/sparc64" is not one berth's rules know; use one of linux/amd64, linux/arm64,`);
    expect(await buildFails(['//bad/missing:image'])).toContain('multi_arch_image image: no binary for linux/s390x in binaries (it has linux/amd64)');
    expect(await buildFails(['//bad/binary:image'])).toMatch(/no such target '\/\/demo\/hello:bin\/hello-sparc'/);
    expect(await buildFails(['//bad/key:image'], ['--stamp'])).toContain('berth_image //bad/key:image: no status file gives STABLE_NO_SUCH_KEY (read stable-status.txt); the workspace status command prints the keys (docs/status.md)');
    expect(await buildFails(['//bad/foreign:image'])).toMatch(/berth: --file (\S+\/)?demo\/hello\/bin\/hello-amd64 \(\/app\/image\) is ELF 64-bit LSB x86-64 \(linux\/amd64\), but the image is linux\/arm64; build it for linux\/arm64, or pass --allow-foreign-binaries/);
  });

  test('a berth_image without platform follows --platforms, and builds its binary for it', async () => {
    for (const [platform, arch, program] of [
      ['linux_arm64', 'arm64', 'hello-arm64'],
      ['linux_s390x', 's390x', 'hello-s390x'],
    ] as const) {
      await build(['//plat:image'], [`--platforms=//build/platforms:${platform}`]);
      const config = JSON.parse(await run('skopeo', ['inspect', '--config', `oci-archive:${join(ws.dir, 'bazel-bin/plat/image.tar')}`]));
      expect([config.os, config.architecture]).toEqual(['linux', arch]);
      const manifest = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${join(ws.dir, 'bazel-bin/plat/image.tar')}`]));
      const layer = manifest.layers.at(-1).digest.replace('sha256:', '');
      const inLayer = await run('bash', ['-c', `tar -xOf "$1" blobs/sha256/${layer} | tar -xzO app/image | sha256sum`, '_', join(ws.dir, 'bazel-bin/plat/image.tar')]);
      expect(inLayer.split(' ')[0]).toBe(sha256(await readFile(join(ws.dir, 'demo/hello/bin', program))));
    }
  });

  test('no action reads the PATH: after bazel clean, a build with PATH=/nonexistent for actions hits the cache of the others', async () => {
    expect((await ws.run(['clean'])).code).toBe(0);
    const { spawns } = await build(['//build:server-images'], ['--stamp', '--action_env=PATH=/nonexistent']);
    expect(spawns.length).toBe(52);
    expect(spawns.filter((s) => !s.remoteCacheHit).map((s) => s.mnemonic)).toEqual([]);
  });

  test('berth is a declared input: a changed bundle re-runs the image actions', async () => {
    await appendFile(join(ws.dir, 'dist/lean/berth.cjs'), '\n// a new berth\n');
    const { spawns } = await build(['//build:controller.linux_amd64']);
    expect(mnemonics(spawns)).toEqual(['BerthBase', 'BerthImage', 'BerthStamp']);
    expect(spawns.every((s) => !s.remoteCacheHit)).toBe(true);
  });
});
