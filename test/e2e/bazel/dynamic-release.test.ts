/**
 * The dynamic base and the release target, with real Bazel and the real registry on
 * 127.0.0.1. The test makes a small glibc base from the host's own libc and loader, pushes
 * it with berth to the local registry as gcr.io's mirror would hold it, and pins
 * gcr.io/distroless/base-debian12 at its digest in the workspace's build/bases.bzl: berth_pull
 * reads it from the mirror ($BERTH_REGISTRY_MIRRORS), offline. A dynamically linked program (built here with the host's gcc) then
 * runs in a chroot of the image built with --define image_type=dynamic, and not in the one
 * built on the static base. `bazel run --stamp //build:release -- --dry-run` prints the plan
 * with the stamped registry and tag; without --dry-run it publishes every component's index.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_WORKSPACE_FILES, bazelWorkspace, type BazelResult, type BazelWorkspace } from '../../helpers/bazel.js';
import { berth } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { run } from '../../helpers/tools.js';

const HOST_PLATFORM = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
// In the canonical index order (by os, architecture, variant), which the indexes list them in.
const SUFFIXES = ['linux_amd64', 'linux_arm_v7', 'linux_arm64', 'linux_ppc64le', 'linux_s390x'];
const FLAGS = ['--color=no', '--curses=no', '--spawn_strategy=sandboxed', '--nosandbox_debug'];

let ws: BazelWorkspace;
let reg: TestRegistry;
let env: Record<string, string>;
let baseDigest: string;
let baseLayers: string[];

/** The shared libraries and the loader a program needs, as ldd lists them. */
async function sharedLibraries(program: string): Promise<string[]> {
  const out = await run('ldd', [program]);
  const paths = [...out.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]!);
  const loader = /^\s*(\/\S+)\s+\(0x/m.exec(out);
  if (loader) paths.push(loader[1]!);
  return paths;
}

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'lean', 'berth.cjs'))) throw new Error('dist/lean/berth.cjs is missing: run npm run build first');
  ws = await bazelWorkspace({ copy: BERTH_WORKSPACE_FILES });
  reg = await startRegistry();
  env = { XDG_CACHE_HOME: join(ws.tmp, 'cache') };

  // A dynamically linked program, and a glibc base holding just what it needs, from the host.
  await mkdir(join(ws.dir, 'dyntest'), { recursive: true });
  await ws.write('dyntest/hello.c', '#include <stdio.h>\nint main(void) { puts("hello from a dynamically linked program"); return 0; }\n');
  await run('gcc', ['-O2', '-o', join(ws.dir, 'dyntest/hello-dyn'), join(ws.dir, 'dyntest/hello.c')]);
  const libs = await sharedLibraries(join(ws.dir, 'dyntest/hello-dyn'));
  expect(libs.some((l) => /libc\.so/.test(l))).toBe(true);
  const baseTar = join(ws.tmp, 'glibc-base.tar');
  const built = await berth(['build', '--base', 'scratch', '--platform', HOST_PLATFORM, ...libs.flatMap((l) => ['--file', `${l}:${l}:0755`]), '--output', baseTar, '--json'], { env: { PATH: process.env.PATH, ...env } });
  expect(built.stderr).toBe(`berth: built ${HOST_PLATFORM} image ${JSON.parse(built.stdout || '{}').digest} -> ${baseTar}\n`);
  const pushed = await berth(['push', baseTar, `${reg.host}/distroless/base-debian12:v1`, '--quiet'], { env: { PATH: process.env.PATH, ...env } });
  expect(pushed.code).toBe(0);
  baseDigest = pushed.stdout.trim();
  baseLayers = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/distroless/base-debian12@${baseDigest}`])).layers.map((l: { digest: string }) => l.digest);
  // Every berth call of the build (berth_pull's among them) reads by digest from the mirror first.
  env.BERTH_REGISTRY_MIRRORS = `http://${reg.host}`;

  // The workspace pins that base, as a project pins distroless's.
  await ws.write(
    'build/bases.bzl',
    `load(":repositories.bzl", "berth_pull")

def berth_bases():
    berth_pull(
        name = "berth_dynamic_base",
        image = "gcr.io/distroless/base-debian12",
        digest = "${baseDigest}",
        platforms = ["${HOST_PLATFORM}"],
    )
`,
  );
  await ws.write(
    'dyntest/BUILD.bazel',
    `load("//build:defs.bzl", "berth_image")

berth_image(
    name = "hello",
    base = "//build:base",
    binary = "hello-dyn",
    platform = "${HOST_PLATFORM}",
    repository = "example.com/dyntest",
    tags = ["v1"],
)
`,
  );
});

afterAll(async () => {
  await ws?.close();
  await reg?.stop();
});

async function bazel(args: string[], more: Record<string, string> = {}): Promise<BazelResult> {
  const [command, ...rest] = args;
  return ws.run([command!, ...FLAGS, ...rest], { env: { ...env, ...more } });
}

/** As bazel(), failing with Bazel's last lines when the command fails. */
async function bazelOk(args: string[], more: Record<string, string> = {}): Promise<BazelResult> {
  const r = await bazel(args, more);
  if (r.code !== 0) throw new Error(`bazel ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-25).join('\n')}`);
  return r;
}

/** Unpacks an image tarball with skopeo and umoci; returns its root file system. */
async function unpack(tarball: string, name: string): Promise<string> {
  const layout = join(ws.tmp, `${name}-layout`);
  const bundle = join(ws.tmp, `${name}-bundle`);
  await run('skopeo', ['copy', '--quiet', `oci-archive:${tarball}`, `oci:${layout}:image`]);
  await run('umoci', ['unpack', '--image', `${layout}:image`, bundle]);
  return join(bundle, 'rootfs');
}

function chroot(root: string, program: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('chroot', [root, program], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

describe('image_type', () => {
  test('--define image_type=dynamic puts the pulled glibc base under the binary: it runs there, and not on the static base', async () => {
    await bazelOk(['build', '--define', 'image_type=dynamic', '//dyntest:hello']);
    const tarball = join(ws.dir, 'bazel-bin/dyntest/hello.tar');
    const manifest = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${tarball}`]));
    // The base's layers, as pulled by digest, then the binary's layer.
    expect(manifest.layers.map((l: { digest: string }) => l.digest).slice(0, -1)).toEqual(baseLayers);
    const dynRoot = await unpack(tarball, 'dynamic');
    const ran = await chroot(dynRoot, '/app/hello');
    expect(ran).toEqual({ code: 0, stdout: 'hello from a dynamically linked program\n', stderr: '' });

    await bazelOk(['build', '//dyntest:hello']);
    const staticRoot = await unpack(tarball, 'static');
    expect(existsSync(join(staticRoot, 'app/hello'))).toBe(true);
    expect(existsSync(join(staticRoot, 'etc/passwd'))).toBe(true);
    const failed = await chroot(staticRoot, '/app/hello');
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/\/app\/hello.*No such file or directory/); // no loader there
  });
});

describe('//build:release', () => {
  const stamped = () => ({ DOCKER_REGISTRY: `${reg.host}/ns`, DOCKER_TAG: 'v1.0.0' });

  test('bazel run --stamp //build:release -- --dry-run prints the plan with the stamped registry and tag', async () => {
    const r = await bazelOk(['run', '--stamp', '//build:release', '--', '--dry-run'], stamped());
    expect(r.stderr).toContain('release plan (oci, tags: v1.0.0)\n');
    for (const c of ['controller', 'webhook', 'cainjector']) {
      expect(r.stderr).toMatch(new RegExp(`^component ${c}: index sha256:[0-9a-f]{64}$`, 'm'));
      expect(r.stderr).toContain(`  -> ${reg.host}/ns/${c}: `);
    }
    expect(r.stderr).toMatch(/^ {2}linux\/arm\/v7 {2}sha256:[0-9a-f]{64} {2}from .*\/build\/controller\.linux_arm_v7\.unnamed\.tar$/m);
    // Nothing was pushed.
    const tags = await fetch(`http://${reg.host}/v2/ns/controller/tags/list`);
    expect(tags.status).toBe(404);
  });

  test('without --stamp the release refuses, saying to stamp', async () => {
    const r = await bazel(['run', '//build:release', '--', '--dry-run'], stamped());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('berth: --registry "{STABLE_DOCKER_PUSH_REGISTRY}": {STABLE_DOCKER_PUSH_REGISTRY} is a workspace status key and no --status-file gives its value (with Bazel, build with --stamp)');
  });

  test('bazel run --stamp //build:release publishes each component as an index of the images built', async () => {
    const r = await bazelOk(['run', '--stamp', '//build:release'], stamped());
    for (const c of ['controller', 'webhook', 'cainjector']) {
      expect(r.stderr).toMatch(new RegExp(`^berth: released ${c} sha256:[0-9a-f]{64} `, 'm'));
      const index = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/ns/${c}:v1.0.0`]));
      const built = await Promise.all(SUFFIXES.map(async (s) => (await ws.read(`bazel-bin/build/${c}.${s}.digest`)).trim()));
      expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual(built);
    }
  });
});
