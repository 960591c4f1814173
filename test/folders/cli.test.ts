/**
 * `berth images` and `berth load` through the CLI, beside registry.test.ts: build_binaries
 * (when it runs, its environment and output, its failure), JSON logs, --jobs, --dry-run
 * against the real registry behind the fault proxy, a cycle, and `berth load` of a
 * multi-platform tarball into a file, a layout, podman and a Docker daemon the test starts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
let work: string;

const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH!, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000', COUNT_FILE: join(dir, 'runs'), ...extra });
const images = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => berthBin(['images', ...args], { cwd: work, env: env(extra) });
const writes = () => proxy.log.filter((e) => !['GET', 'HEAD'].includes(e.method));
const runs = async () => (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
const hashOf = async (name: string, platform = 'linux/amd64') => (JSON.parse((await images(['list', name, '--platform', platform, '--json'])).stdout) as { contentHash: string }[])[0]!.contentHash;

async function put(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(join(work, path, '..'), { recursive: true });
  await writeFile(join(work, path), text);
  await chmod(join(work, path), mode);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-images-cli-'));
  work = join(dir, 'repo');
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.host });
  // MicroShift-style: build_binaries writes out/<arch>/bin, the Dockerfile copies it.
  await put(
    'images/bin/build_binaries',
    '#!/bin/sh\nset -e\necho "$TARGETARCH $TARGETOS $TARGETPLATFORM $(pwd)" >> "$COUNT_FILE"\nmkdir -p "out/$TARGETARCH"\necho "binary for $TARGETARCH" > "out/$TARGETARCH/bin"\necho "built for $TARGETPLATFORM"\n',
    0o755,
  );
  await put('images/bin/Dockerfile', 'FROM scratch\nARG TARGETARCH\nCOPY out/$TARGETARCH/bin /bin/tool\n');
  await put('images/bin/build_binaries.outputs', 'out/\n');
  await put('images/bin/src.c', 'int main(void) { return 0; }\n');
  await put('images/plain/Dockerfile', 'FROM scratch\nCOPY hello /hello\n');
  await put('images/plain/hello', 'hello\n');
  await put('images/other/Dockerfile', 'FROM scratch\nCOPY other /other\n');
  await put('images/other/other', 'other\n');
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  await cleanup?.();
});

describe('build_binaries', () => {
  test('runs before the build with TARGETARCH/OS/PLATFORM, again only when an input changed or an output is missing; its outputs are not hashed', async () => {
    const hash0 = await hashOf('bin');
    const out = join(dir, 'bb-out');
    const first = await images(['build', 'bin', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', out]);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const folder = join(work, 'images', 'bin');
    expect((await runs()).sort()).toEqual([`amd64 linux linux/amd64 ${folder}`, `arm64 linux linux/arm64 ${folder}`]);
    expect(first.stderr).toContain('[bin] build_binaries: built for linux/amd64\n');
    expect(first.stderr).toContain('[bin] build_binaries: built for linux/arm64\n');
    expect(await readFile(join(folder, 'out', 'arm64', 'bin'), 'utf8')).toBe('binary for arm64\n');
    // The built image holds what the script wrote for its platform (built again: nothing runs).
    const arm = join(dir, 'bb-arm');
    expect((await images(['build', 'bin', '--platform', 'linux/arm64', '--output', arm])).code).toBe(0);
    await run('skopeo', ['copy', `docker-archive:${join(arm, 'bin.tar')}`, `oci:${join(dir, 'bin-oci')}:x`]);
    await run('umoci', ['unpack', '--image', `${join(dir, 'bin-oci')}:x`, join(dir, 'bin-root')]);
    expect(await readFile(join(dir, 'bin-root', 'rootfs', 'bin', 'tool'), 'utf8')).toBe('binary for arm64\n');

    // Its outputs do not change the content hash, for either platform.
    expect(await hashOf('bin')).toBe(hash0);
    expect(await hashOf('bin', 'linux/arm64')).toBe(hash0);

    // Nothing changed: it does not run.
    expect((await images(['build', 'bin', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', out])).code).toBe(0);
    expect(await runs()).toHaveLength(2);

    // Nothing changed, the images are in berth's cache: taken from there (the script does not run either).
    const reused = await images(['build', 'bin', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', out]);
    expect(reused.stderr).toContain('linux/amd64: built here before, linux/arm64: built here before');

    // An output missing, and a build needed (another cache of images): it runs again for that platform only.
    await rm(join(folder, 'out', 'arm64', 'bin'));
    await rm(join(dir, 'cache', 'berth', 'images'), { recursive: true });
    expect((await images(['build', 'bin', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', out])).code).toBe(0);
    expect((await runs()).slice(2)).toEqual([`arm64 linux linux/arm64 ${folder}`]);

    // An input changed: it runs again (and the hash changes with the input).
    await put('images/bin/src.c', 'int main(void) { return 1; }\n');
    expect(await hashOf('bin')).not.toBe(hash0);
    expect((await images(['build', 'bin', '--platform', 'linux/amd64', '--output', out])).code).toBe(0);
    expect((await runs()).slice(3)).toEqual([`amd64 linux linux/amd64 ${folder}`]);
  }, 120_000);

  test('a failing script is exit 1 naming it, its output shown before', async () => {
    await put('images/failing/build_binaries', '#!/bin/sh\necho "compiler says no"\nexit 3\n', 0o755);
    await put('images/failing/Dockerfile', 'FROM scratch\nCOPY build_binaries /x\n');
    try {
      const r = await images(['build', 'failing', '--platform', 'linux/amd64', '--output', join(dir, 'fail-out')]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual(['[failing] build_binaries: compiler says no', 'berth: failing/build_binaries (linux/amd64) exited 3; its output is above']);
    } finally {
      await rm(join(work, 'images', 'failing'), { recursive: true });
    }
  });
});

describe('berth images', () => {
  test('--log-format json: every stderr line of a build is one JSON object', async () => {
    const r = await images(['build', 'plain', 'other', '--platform', 'linux/amd64', '--output', join(dir, 'json-out'), '--log-format', 'json'], { SOURCE_DATE_EPOCH: '1700000001' });
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const objects = lines.map((l) => JSON.parse(l) as { level: string; message: string; image?: string });
    expect(objects.every((o) => o.level === 'info' && typeof o.message === 'string')).toBe(true);
    expect(objects.filter((o) => o.message.startsWith('built ')).map((o) => o.message.split(' ')[1]).sort()).toEqual(['other', 'plain']);

    const bad = await images(['build', 'nope', '--log-format', 'json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr.trim())).toMatchObject({ level: 'error', message: expect.stringContaining('no image "nope"') });
  });

  test('the default --jobs (2) builds two independent images at once, each with its own content; --jobs 1 gives the same bytes', async () => {
    const out = join(dir, 'jobs-out');
    const r = await images(['build', 'plain', 'other', '--platform', 'linux/amd64', '--output', out, '--json']);
    expect(r.code).toBe(0);
    const built = JSON.parse(r.stdout) as { name: string; digest: string }[];
    expect(built.map((b) => b.name).sort()).toEqual(['other', 'plain']);
    for (const name of ['plain', 'other']) {
      const inspected = JSON.parse(await run('skopeo', ['inspect', `docker-archive:${join(out, `${name}.tar`)}`])) as { Layers: string[] };
      expect(inspected.Layers).toHaveLength(1);
    }
    const one = await images(['build', 'plain', '--jobs', '1', '--platform', 'linux/amd64', '--output', join(dir, 'jobs-1'), '--json']);
    expect((JSON.parse(one.stdout) as { digest: string }[])[0]!.digest).toBe(built.find((b) => b.name === 'plain')!.digest);
  });

  test('--dry-run says what would be pushed and writes nothing (no report either)', async () => {
    proxy.log.length = 0;
    const report = join(dir, 'dry-report.json');
    const r = await images(['push', 'plain', 'other', '--registry', `${proxy.host}/dry`, '--platform', 'linux/amd64', '--dry-run', '--json', '--report', report]);
    expect(r.code).toBe(0);
    expect(writes()).toEqual([]);
    const outcomes = JSON.parse(r.stdout) as { name: string; status: string; added: string[]; tags: string[] }[];
    expect(outcomes.map((o) => [o.name, o.status, o.added])).toEqual([
      ['other', 'planned', ['linux/amd64']],
      ['plain', 'planned', ['linux/amd64']],
    ]);
    expect(r.stderr).toContain(`berth: plain: would build linux/amd64 and write ${proxy.host}/dry/plain:${outcomes[1]!.tags[0]} (dry run)`);
    await expect(readFile(report)).rejects.toThrow(/ENOENT/);
    await expect(run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/dry/plain:${outcomes[1]!.tags[0]}`])).rejects.toThrow();
  });

  test('--variant picks one variant; its tags, {{ .ContentHash }} ones too, end in -<variant>', async () => {
    await put('images/vary/Dockerfile', 'FROM scratch\nARG FLAVOR\nLABEL flavor=$FLAVOR\nCOPY Dockerfile /\n');
    await put('images/vary/variants.yaml', 'slim:\n  FLAVOR: slim\nfull:\n  FLAVOR: full\n');
    try {
      const r = await images(['push', 'vary', '--variant', 'slim', '--tag', 'c-{{ .ContentHash }}', '--tag', 'stable', '--registry', `${proxy.host}/var`, '--platform', 'linux/amd64', '--json']);
      expect(r.code).toBe(0);
      const [o] = JSON.parse(r.stdout) as { name: string; contentHash: string; tags: string[] }[];
      const short = o!.contentHash.slice(0, 16);
      expect(o!.name).toBe('vary-slim');
      expect(o!.tags).toEqual([`${short}-slim`, `c-${short}-slim`, 'stable-slim']);
      const config = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${registry.host}/var/vary:c-${short}-slim`])) as { config: { Labels: Record<string, string> } };
      expect(config.config.Labels).toEqual({ flavor: 'slim' });
      await expect(run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/var/vary:stable-full`])).rejects.toThrow();

      const none = await images(['list', 'plain', '--variant', 'slim']);
      expect(none.code).toBe(2);
      expect(none.stderr).toBe('berth: --variant slim: none of plain has a variants.yaml\n');
      const unknown = await images(['list', 'vary', '--variant', 'huge']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('no variant "huge"');
    } finally {
      await rm(join(work, 'images', 'vary'), { recursive: true });
    }
  });

  test('list and build need no registry where only job-type registries are configured and no CI job runs; push does', async () => {
    await put('berth.yaml', `images:\n  registries:\n    presubmit: [${proxy.host}/dev]\n    postsubmit: [${proxy.host}/prod]\n`);
    try {
      const listed = await images(['list', 'plain', '--json']);
      expect(listed.code).toBe(0);
      expect((JSON.parse(listed.stdout) as { name: string; present?: unknown }[])[0]).not.toHaveProperty('present');
      const pushed = await images(['push', 'plain']);
      expect(pushed.code).toBe(2);
      expect(pushed.stderr).toContain('not in CI');
      const listedPre = await images(['list', 'plain', '--json'], { JOB_TYPE: 'presubmit' });
      expect((JSON.parse(listedPre.stdout) as { repository: string }[])[0]!.repository).toBe(`${proxy.host}/dev/plain`);
    } finally {
      await rm(join(work, 'berth.yaml'));
    }
  });

  test('a notary signer whose token is not set: exit 2 before anything is pushed (a re-run would not sign)', async () => {
    await put('berth.yaml', `signing:\n  enabled-signers:\n    '*': [svc]\n  signers:\n    - name: svc\n      type: notary\n      endpoint: https://127.0.0.1:1/sign\n      token-env: SIGN_TOKEN\n`);
    try {
      proxy.log.length = 0;
      const r = await images(['push', 'plain', '--registry', `${proxy.host}/notary`, '--platform', 'linux/amd64'], { JOB_TYPE: 'postsubmit' });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('SIGN_TOKEN is not set');
      expect(writes()).toEqual([]);
    } finally {
      await rm(join(work, 'berth.yaml'));
    }
  });

  test('a dependency cycle is exit 2, one line, nothing pushed', async () => {
    await put('images/cyc-a/Dockerfile', 'FROM cyc-b\n');
    await put('images/cyc-b/Dockerfile', 'FROM cyc-a\n');
    try {
      proxy.log.length = 0;
      const r = await images(['push', 'cyc-a', '--registry', `${proxy.host}/cyc`]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^berth: images cyc-a -> cyc-b -> cyc-a are built FROM each other in a cycle/);
      expect(writes()).toEqual([]);
    } finally {
      await rm(join(work, 'images', 'cyc-a'), { recursive: true });
      await rm(join(work, 'images', 'cyc-b'), { recursive: true });
    }
  });
});

describe('berth load TARBALL', () => {
  let multi: string;
  beforeAll(async () => {
    multi = join(dir, 'multi.tar');
    for (const arch of ['amd64', 'arm64']) expect((await berthBin(['build', '--base', 'static', '--platform', `linux/${arch}`, '--output', join(dir, `${arch}.tar`)], { env: env() })).code).toBe(0);
    const r = await berthBin(['index', '--image', join(dir, 'amd64.tar'), '--image', join(dir, 'arm64.tar'), '--tag', 'example.test/multi:1', '--output', multi], { env: env() });
    expect(r.code).toBe(0);
  });

  test('--into FILE.tar and oci:DIR take the --platform asked for, under --name or the tarball\'s own name', async () => {
    const out = join(dir, 'arm.tar');
    const r = await berthBin(['load', multi, '--platform', 'linux/arm64', '--into', out, '--name', 'example.test/arm:2'], { cwd: dir, env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('berth: loaded example.test/arm:2 (sha256:');
    const inspected = JSON.parse(await run('skopeo', ['inspect', `docker-archive:${out}`])) as { Architecture: string };
    expect(inspected.Architecture).toBe('arm64');
    const manifest = JSON.parse(await run('tar', ['-xOf', out, 'manifest.json'])) as { RepoTags: string[] }[];
    expect(manifest.map((m) => m.RepoTags)).toEqual([['example.test/arm:2']]);

    const layout = join(dir, 'amd-layout');
    const l = await berthBin(['load', multi, '--platform', 'linux/amd64', '--into', `oci:${layout}`, '--json'], { cwd: dir, env: env() });
    expect(l.code).toBe(0);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]!.digest).toBe((JSON.parse(l.stdout) as { digest: string }).digest);
    const amd = JSON.parse(await run('skopeo', ['inspect', `oci:${layout}:${index.manifests[0]!.annotations['org.opencontainers.image.ref.name']}`])) as { Architecture: string };
    expect(amd.Architecture).toBe('amd64');

    const none = await berthBin(['load', multi, '--platform', 'linux/s390x', '--into', join(dir, 'x.tar')], { cwd: dir, env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('no --into, and neither a Docker daemon nor podman: exit 2 naming the choices', async () => {
    const { symlink } = await import('node:fs/promises');
    const bin = join(dir, 'only-node');
    await mkdir(bin, { recursive: true });
    await symlink(process.execPath, join(bin, 'node')).catch(() => {});
    const r = await berthBin(['load', multi], { cwd: dir, env: { ...env(), PATH: bin } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('berth: no Docker daemon answers and podman is not installed: start Docker, install podman, or give --into FILE.tar or --into oci:DIR\n');
  });

  test('--into podman: podman has it under its name, for the platform asked for', async () => {
    const pd = join(dir, 'podman');
    await mkdir(pd, { recursive: true });
    await writeFile(join(pd, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${pd}/run"\ngraphroot = "${pd}/root"\n`);
    await writeFile(join(pd, 'containers.conf'), '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n');
    const pe = { CONTAINERS_STORAGE_CONF: join(pd, 'storage.conf'), CONTAINERS_CONF: join(pd, 'containers.conf') };
    const r = await berthBin(['load', multi, '--platform', 'linux/arm64', '--into', 'podman'], { cwd: dir, env: env(pe) });
    expect(r.code).toBe(0);
    const arch = await run('podman', ['image', 'inspect', '--format', '{{.Architecture}}', 'example.test/multi:1'], { env: { ...process.env, ...pe } });
    expect(arch.trim()).toBe('arm64');
  });

  test('--into docker: a Docker daemon the test starts has it under its name', async () => {
    const { startDockerd } = await import('../helpers/dockerd.js');
    const dockerd = await startDockerd(dir);
    try {
      const r = await berthBin(['load', multi, '--platform', 'linux/amd64', '--name', 'example.test/dk:3'], { cwd: dir, env: { ...env(), ...dockerd.env } as Record<string, string> });
      expect(r.stderr).toContain('into docker');
      expect(r.code).toBe(0);
      const arch = await run('docker', ['image', 'inspect', '--format', '{{.Architecture}}', 'example.test/dk:3'], { env: dockerd.env });
      expect(arch.trim()).toBe('amd64');
    } finally {
      await dockerd.stop();
    }
  }, 120_000);
});

test('every flag README and docs/images.md name for berth images / berth load is in their --help', async () => {
  const { REPO_ROOT } = await import('../helpers/paths.js');
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### berth images, berth load'), readme.indexOf('### berth sign'));
  const doc = await readFile(join(REPO_ROOT, 'docs', 'images.md'), 'utf8');
  const usage = doc.slice(0, doc.indexOf('## The image folder'));
  const help = (await berthBin(['images', '--help'])).stdout + (await berthBin(['load', '--help'])).stdout;
  const named = new Set([...`${section}\n${usage}`.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]));
  expect(named.size).toBeGreaterThan(15);
  expect([...named].filter((f) => !new RegExp(`${f}\\b`).test(help))).toEqual([]);
});
