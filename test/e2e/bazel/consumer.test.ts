/**
 * Another workspace loads berth's rules with local_repository, as a project using berth
 * would: a multi_arch_image on @berth//build:base, a berth_image on the default static base,
 * and an image_release, built and run with real Bazel. The rules find berth's bundle by
 * label in @berth, node through berth's toolchain (the host's, registered by
 * berth_register_toolchains), the status command is berth's script named by its path under
 * the external repository (as docs/bazel.md says), and the workspace is no git checkout (the
 * status comes from the environment). After `bazel clean`, a build with another PATH gets
 * every action from the disk cache.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_WORKSPACE_FILES, bazelWorkspace, copyFromRepo, parseExecLog, type BazelWorkspace } from '../../helpers/bazel.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { run } from '../../helpers/tools.js';

let FLAGS: string[];
const ENV = { DOCKER_REGISTRY: 'registry.example.com/acme', DOCKER_TAG: 'v3.1.0' };

let ws: BazelWorkspace;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'lean', 'berth.cjs'))) throw new Error('dist/lean/berth.cjs is missing: run npm run build first');
  ws = await bazelWorkspace({ copy: [] });
  FLAGS = ['--color=no', '--curses=no', '--spawn_strategy=sandboxed', '--nosandbox_debug', '--jobs=2', `--disk_cache=${join(ws.tmp, 'disk-cache')}`];
  const berthDir = join(ws.tmp, 'berth');
  await copyFromRepo(berthDir, BERTH_WORKSPACE_FILES);
  await ws.write(
    'WORKSPACE',
    `workspace(name = "acme")

local_repository(
    name = "berth",
    path = "${berthDir}",
)

load("@berth//build:repositories.bzl", "berth_register_toolchains")

berth_register_toolchains(offline = True)

load("@berth//build:bases.bzl", "berth_bases")

berth_bases()
`,
  );
  // The status command as docs/bazel.md names it for berth as an external repository.
  await ws.write('.bazelrc', `build --workspace_status_command='o=$(readlink bazel-out); exec "\${o%/execroot/*}/external/berth/hack/build/print-workspace-status.sh"'\n`);
  for (const arch of ['amd64', 'arm64']) await copyFile(join(REPO_ROOT, 'demo/hello/bin', `hello-${arch}`), join(ws.dir, `server-${arch}`));
  await ws.write(
    'BUILD.bazel',
    `load("@berth//build:defs.bzl", "berth_image", "image_release", "multi_arch_image")

multi_arch_image(
    name = "server",
    base = "@berth//build:base",
    binaries = {
        "linux/amd64": "server-amd64",
        "linux/arm64": "server-arm64",
    },
    env = {"GREETING": "hello"},
)

berth_image(
    name = "tool",
    binary = "server-amd64",
    repository = "example.com/acme/tool",
    tags = ["v1", "latest"],
)

image_release(
    name = "release",
    images = [":server"],
)
`,
  );
});

afterAll(async () => {
  await ws?.close();
});

test('a workspace loading the rules with local_repository builds, stamps and releases', async () => {
  const built = await ws.run(['build', ...FLAGS, '--stamp', '//...'], { env: ENV });
  if (built.code !== 0) throw new Error(built.stderr.split('\n').slice(-25).join('\n'));
  for (const [arch, file] of [['amd64', 'server.linux_amd64.tar'], ['arm64', 'server.linux_arm64.tar']] as const) {
    const config = JSON.parse(await run('skopeo', ['inspect', '--config', `docker-archive:${join(ws.dir, 'bazel-bin', file)}:registry.example.com/acme/server:v3.1.0`]));
    expect(config).toMatchObject({ os: 'linux', architecture: arch, config: { Entrypoint: ['/app/server'], User: '65532:65532' } });
    expect(config.config.Env).toContain('GREETING=hello');
  }
  const tool = JSON.parse(await run('tar', ['-xOf', join(ws.dir, 'bazel-bin/tool.tar'), 'manifest.json']));
  expect(tool[0].RepoTags).toEqual(['example.com/acme/tool:v1', 'example.com/acme/tool:latest']);

  const layout = join(ws.tmp, 'published');
  const released = await ws.run(['run', ...FLAGS, '--stamp', '//:release', '--', '--to', `oci:${layout}`], { env: ENV });
  expect(released.stderr).toMatch(/^berth: released server sha256:[0-9a-f]{64} /m);
  expect(released.code).toBe(0);
  const index = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci:${layout}:server:v3.1.0`]));
  expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm64']);

  // Another PATH for the client and PATH=/nonexistent for actions: every action from the cache.
  expect((await ws.run(['clean'])).code).toBe(0);
  const log = join(ws.tmp, 'exec.json');
  const again = await ws.run(['build', ...FLAGS, '--stamp', '--action_env=PATH=/nonexistent', `--execution_log_json_file=${log}`, '//...'], { env: { ...ENV, PATH: `${join(ws.tmp, 'other-bin')}:${process.env.PATH}` } });
  if (again.code !== 0) throw new Error(again.stderr.split('\n').slice(-25).join('\n'));
  const spawns = parseExecLog(await readFile(log, 'utf8'));
  expect(spawns.length).toBeGreaterThan(5);
  expect(spawns.filter((s) => !s.remoteCacheHit).map((s) => s.mnemonic)).toEqual([]);
});
