/**
 * `berth images` end to end: image folders in gVisor's, MicroShift's and kyma's shapes, the
 * real registry (behind the fault proxy, which logs every request), skopeo to read what was
 * pushed, buildah for a RUN image and podman for `load`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berthBin, type CliResult } from '../helpers/cli.js';
import { startNotary } from '../helpers/notary.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBusyboxBase } from '../helpers/busybox-base.js';
import { run, tempDir } from '../helpers/tools.js';
import { cleanEnv, TestRepo } from '../status/git-repo.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let dir: string;
let cleanup: () => Promise<void>;
let repo: TestRepo;
let reg: string;

const env = (extra: Record<string, string> = {}) => cleanEnv({ XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: '1700000000', BERTH_BUILDAH_STORAGE: join(dir, 'buildah'), ...extra });
const images = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => berthBin(['images', ...args], { cwd: repo.dir, env: env(extra) });
const skopeoInspect = async (ref: string, raw = false) => JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${ref}`]));
const writes = () => proxy.log.filter((e) => !['GET', 'HEAD'].includes(e.method));

async function put(path: string, text: string | Buffer, mode = 0o644): Promise<void> {
  await mkdir(join(repo.dir, path, '..'), { recursive: true });
  await writeFile(join(repo.dir, path), text);
  await chmod(join(repo.dir, path), mode);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-images-'));
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.host });
  reg = proxy.host;
  repo = await TestRepo.init(join(dir, 'repo'));
  // gVisor-style: base <- app <- tool (tool also has variants)
  await put('images/base/Dockerfile', 'FROM scratch\nCOPY etc /etc\n');
  await put('images/base/etc/motd', 'hello from base\n');
  await put('images/app/Dockerfile', 'FROM base\nARG FLAVOR=plain\nCOPY app.sh /app.sh\nLABEL flavor=$FLAVOR\nCMD ["/app.sh"]\n');
  await put('images/app/app.sh', '#!/bin/sh\necho app\n', 0o755);
  await put('images/tool/Dockerfile', 'FROM app\nARG FLAVOR=plain\nCOPY --from=base /etc/motd /motd\nLABEL flavor=$FLAVOR\n');
  await put('images/tool/variants.yaml', 'slim:\n  FLAVOR: slim\nfull:\n  FLAVOR: full\n');
  await put('berth.yaml', `images:\n  dir: images\n  local-name: test.local/images/{{ .Name }}:latest\n`);
  await repo.commit({}, 'images');
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await registry?.stop();
  await cleanup?.();
});

describe('berth images push', () => {
  test('pushes every image under its content-hash tag; a second run writes nothing and asks one HEAD per image', async () => {
    const first = await images(['push', '--all', '--registry', `${reg}/gv`]);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const listed = JSON.parse((await images(['list', '--registry', `${reg}/gv`, '--json'])).stdout) as { name: string; variant?: string; tag: string; present: Record<string, boolean> }[];
    expect(listed.map((i) => `${i.name}${i.variant ? `-${i.variant}` : ''}`)).toEqual(['base', 'app', 'tool-full', 'tool-slim']);
    expect(listed.every((i) => Object.values(i.present).every(Boolean))).toBe(true);
    const tags = Object.fromEntries(listed.map((i) => [`${i.name}${i.variant ? `-${i.variant}` : ''}`, i.tag]));
    expect(tags['tool-slim']).toMatch(/^[0-9a-f]{16}-slim$/);

    // app is FROM base: its first layer is base's.
    const base = await skopeoInspect(`${registry.host}/gv/base:${tags.base}`);
    const app = await skopeoInspect(`${registry.host}/gv/app:${tags.app}`);
    expect(app.Layers[0]).toBe(base.Layers[0]);
    expect(app.Layers).toHaveLength(2);
    const slim = await skopeoInspect(`${registry.host}/gv/tool:${tags['tool-slim']}`);
    expect(slim.Labels).toEqual({ flavor: 'slim' });
    expect(slim.Layers.slice(0, 2)).toEqual(app.Layers);

    proxy.log.length = 0;
    const again = await images(['push', '--all', '--registry', `${reg}/gv`]);
    expect(again.code).toBe(0);
    expect(writes()).toEqual([]);
    expect(proxy.log.filter((e) => e.method === 'HEAD' && e.path.includes('/manifests/')).length).toBe(4);
    expect(again.stderr).toContain('nothing to push');
  });

  test('a changed file changes exactly the hashes that depend on it', async () => {
    expect((await images(['push', 'app', '--registry', `${reg}/changed`])).code).toBe(0);
    const before = JSON.parse((await images(['list', '--json'])).stdout) as { name: string; variant?: string; contentHash: string }[];
    await put('images/app/app.sh', `#!/bin/sh\necho app ${Date.now()}\n`, 0o755);
    const after = JSON.parse((await images(['list', '--json'])).stdout) as typeof before;
    const changed = after.filter((a, i) => a.contentHash !== before[i]!.contentHash).map((a) => `${a.name}${a.variant ? `-${a.variant}` : ''}`);
    expect(changed).toEqual(['app', 'tool-full', 'tool-slim']);
    proxy.log.length = 0;
    const r = await images(['push', 'app', '--registry', `${reg}/changed`]);
    expect(r.code).toBe(0);
    // Only app's own new layer, config and manifest (and the index) were written; base's layer was there.
    // Counted by digest, not by request: the two blobs go up at once into one repository, where
    // distribution 2.8 may answer a PUT 500 (docs/testing.md), which berth tries again.
    const blobPuts = writes().filter((e) => e.method === 'PUT' && e.path.includes('/blobs/'));
    expect(new Set(blobPuts.map((e) => new URL(e.path, 'http://registry').searchParams.get('digest'))).size).toBe(2);
  });

  test('a MicroShift-style component: Dockerfile.amd64 built, ImageSource.arm64 taken by digest, one index', async () => {
    const up = join(dir, 'upstream.tar');
    expect((await berthBin(['build', '--base', 'static', '--platform', 'linux/arm64', '--output', up], { env: env() })).code).toBe(0);
    const pushed = await berthBin(['push', up, `${registry.host}/upstream/side:v1`], { env: env() });
    expect(pushed.code).toBe(0);
    const upstreamDigest = pushed.stdout.trim();
    await put('images/side/Dockerfile.amd64', 'FROM scratch\nCOPY side.txt /side.txt\n');
    await put('images/side/side.txt', 'amd64 side\n');
    await put('images/side/ImageSource.aarch64', `# upstream arm64 build\n${registry.host}/upstream/side:v1\n`);
    // The host's platform by default: a .<arch> file adds a platform, it does not narrow the default.
    const host = await images(['list', 'side', '--json']);
    expect((JSON.parse(host.stdout) as { platforms: string[] }[])[0]!.platforms).toEqual(['linux/amd64']);
    const r = await images(['push', 'side', '--registry', `${reg}/ms`, '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--json']);
    expect(r.code).toBe(0);
    const [outcome] = JSON.parse(r.stdout) as { tags: string[]; digest: string; platforms: string[] }[];
    expect(outcome!.platforms.sort()).toEqual(['linux/amd64', 'linux/arm64']);
    const index = await skopeoInspect(`${registry.host}/ms/side:${outcome!.tags[0]}`, true);
    const arm = index.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'arm64');
    expect(arm.digest).toBe(upstreamDigest);
  });

  test('presubmit and postsubmit registries from berth.yaml, with the job default tag added', async () => {
    await put('berth.yaml', `images:\n  registries:\n    presubmit: [${reg}/dev]\n    postsubmit: [${reg}/prod]\n`);
    try {
      const pre = await images(['push', 'base', '--json'], { JOB_TYPE: 'presubmit', PULL_NUMBER: '42' });
      expect(pre.code).toBe(0);
      const [p] = JSON.parse(pre.stdout) as { repositories: string[]; tags: string[] }[];
      expect(p!.repositories).toEqual([`${reg}/dev/base`]);
      expect(p!.tags).toContain('pr-42');
      await skopeoInspect(`${registry.host}/dev/base:pr-42`);

      const head = await repo.head();
      const post = await images(['push', 'base', '--json'], { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: head });
      expect(post.code).toBe(0);
      const [q] = JSON.parse(post.stdout) as { repositories: string[]; tags: string[] }[];
      expect(q!.repositories).toEqual([`${reg}/prod/base`]);
      const dated = q!.tags.find((t) => t.startsWith('v2024'))!;
      expect(dated).toBe(`v20240305-${head.slice(0, 8)}`);
      await skopeoInspect(`${registry.host}/prod/base:${dated}`);
    } finally {
      await put('berth.yaml', `images:\n  dir: images\n  local-name: test.local/images/{{ .Name }}:latest\n`);
    }
  });

  test('--report writes kyma\'s build report; GITHUB_OUTPUT gets images, architectures, digest', async () => {
    const out = join(dir, 'gh-output');
    const summary = join(dir, 'gh-summary');
    const r = await images(['push', 'base', '--registry', `${reg}/rep`, '--tag', 'stable', '--report', join(dir, 'report.json')], { GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ status: 'Succeeded', pushed: true, signed: false, image_name: 'base', repository_path: `${reg}/rep`, architectures: ['linux/amd64'] });
    expect(report.images_list).toEqual([`${reg}/rep/base:${report.tags[0]}`, `${reg}/rep/base:stable`]);
    const digest = (await skopeoInspect(`${registry.host}/rep/base:stable`, false)).Digest;
    expect(report.digest).toBe(digest);
    const lines = await readFile(out, 'utf8');
    expect(lines).toContain(`digest=${digest}\n`);
    expect(lines).toContain('architectures=["linux/amd64"]\n');
    expect(await readFile(summary, 'utf8')).toContain(`| base | ${reg}/rep/base:${report.tags[0]}<br>${reg}/rep/base:stable | linux/amd64 | published |`);
  });

  test('postsubmit builds are signed by the signing: signers (cosign key and a notary service); presubmit builds are not', async () => {
    await mkdir(join(repo.dir, 'keys'), { recursive: true });
    const keygen = await berthBin(['keygen', '--format', 'pkcs8', '--output-key-prefix', join(repo.dir, 'keys', 'cosign')], { cwd: repo.dir, env: env({ COSIGN_PASSWORD: '' }) });
    expect(keygen.code).toBe(0);
    const svc = await startNotary(repo.dir);
    const bodies = svc.seen;
    await put(
      'berth.yaml',
      `images:\n  registry: ${reg}/signed\nsigning:\n  enabled-signers:\n    '*': [key, svc]\n  signers:\n    - name: key\n      type: cosign-key\n      key: keys/cosign.key\n    - name: svc\n      type: notary\n      endpoint: ${svc.url}\n      ca: ${svc.ca}\n      token-env: SIGN_TOKEN\n`,
    );
    try {
      const pre = await images(['push', 'base', '--json'], { JOB_TYPE: 'presubmit', PULL_NUMBER: '7', SIGN_TOKEN: 's3cret-token', COSIGN_PASSWORD: '' });
      expect(pre.code).toBe(0);
      expect(JSON.parse(pre.stdout)[0].signed).toBe(false);
      expect(bodies).toEqual([]);
      await put('images/base/etc/motd', 'signed edition\n');
      const post = await images(['push', 'base', '--json'], { JOB_TYPE: 'postsubmit', PULL_BASE_SHA: await repo.head(), SIGN_TOKEN: 's3cret-token', COSIGN_PASSWORD: '' });
      expect(post.stderr).not.toContain('s3cret-token');
      expect(post.code).toBe(0);
      const [o] = JSON.parse(post.stdout) as { signed: boolean; digest: string; tags: string[]; size: number }[];
      expect(o!.signed).toBe(true);
      expect(bodies).toHaveLength(1);
      expect(bodies[0]!.auth).toBe('Bearer s3cret-token');
      expect(JSON.parse(bodies[0]!.body)).toEqual({ trustedCollections: [{ gun: `${reg}/signed/base`, targets: o!.tags.map((name) => ({ name, byteSize: o!.size, digest: o!.digest.slice(7) })) }] });
      const pub = join(repo.dir, 'keys', 'cosign.pub');
      const verified = await berthBin(['verify', '--key', pub, `${reg}/signed/base@${o!.digest}`], { cwd: repo.dir, env: env() });
      expect(verified.code).toBe(0);
      // images.provenance: true attaches signed SLSA provenance; the notary service signs its .att tag too.
      await put('berth.yaml', `images:\n  registry: ${reg}/signed\n  provenance: true\nsigning:\n  enabled-signers:\n    '*': [key, svc]\n  signers:\n    - name: key\n      type: cosign-key\n      key: keys/cosign.key\n    - name: svc\n      type: notary\n      endpoint: ${svc.url}\n      ca: ${svc.ca}\n      token-env: SIGN_TOKEN\n`);
      await put('images/base/etc/motd', 'attested edition\n');
      const summary = join(dir, 'gh-summary-att');
      const att = await images(['push', 'base', '--json'], { JOB_TYPE: 'postsubmit', PULL_BASE_SHA: await repo.head(), SIGN_TOKEN: 's3cret-token', COSIGN_PASSWORD: '', GITHUB_STEP_SUMMARY: summary });
      expect(att.code).toBe(0);
      const [a] = JSON.parse(att.stdout) as { digest: string; signatures: string[] }[];
      expect(a!.signatures).toEqual(['signed by key (cosign-key), svc (notary)', `SLSA provenance signed by key, svc -> ${reg}/signed/base:sha256-${a!.digest.slice(7)}.att`]);
      // The image's signature and its attestation are signed at once (different tags), so the
      // notary service may see either request first.
      const signedNames = bodies.slice(1).map((b) => (JSON.parse(b.body) as { trustedCollections: { targets: { name: string }[] }[] }).trustedCollections[0]!.targets.map((t) => t.name));
      expect(signedNames).toHaveLength(2);
      expect(signedNames).toContainEqual([`sha256-${a!.digest.slice(7)}.att`]);
      expect(await readFile(summary, 'utf8')).toContain('signed by key (cosign-key), svc (notary)<br>SLSA provenance signed by key, svc');
      const va = await berthBin(['verify', '--attestation', 'slsaprovenance', '--key', pub, `${reg}/signed/base@${a!.digest}`, '--require', 'dockerfile=images/base/Dockerfile', '--json'], { cwd: repo.dir, env: env() });
      expect(va.stderr).toContain('1 attestation verified');
      expect(va.code).toBe(0);
    } finally {
      await svc.close();
      await put('berth.yaml', `images:\n  dir: images\n  local-name: test.local/images/{{ .Name }}:latest\n`);
    }
  });

  test('bad input is one line, exit 2, and nothing is pushed', async () => {
    await put('images/broken/Dockerfile.arm64', 'FROM scratch\n');
    await put('images/badsrc/ImageSource', 'not a reference at all\n');
    try {
      proxy.log.length = 0;
      for (const [args, msg] of [
        [['push', 'broken', '--platform', 'linux/amd64'], 'broken: nothing builds linux/amd64'],
        [['push', 'nope'], 'no image "nope" in the image folder'],
        [['push', 'badsrc'], 'badsrc/ImageSource:1: '],
      ] as const) {
        const r = await images([...args, '--registry', `${reg}/bad`]);
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(msg);
      }
      expect(writes()).toEqual([]);
    } finally {
      await rm(join(repo.dir, 'images/broken'), { recursive: true });
      await rm(join(repo.dir, 'images/badsrc'), { recursive: true });
    }
  });
});

describe('berth images load and build', () => {
  const podmanEnv = async () => {
    const pd = join(dir, 'podman');
    await mkdir(pd, { recursive: true });
    await writeFile(join(pd, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${pd}/run"\ngraphroot = "${pd}/root"\n`);
    await writeFile(join(pd, 'containers.conf'), '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n');
    return { CONTAINERS_STORAGE_CONF: join(pd, 'storage.conf'), CONTAINERS_CONF: join(pd, 'containers.conf') };
  };

  test('load pulls by the content hash when the registry has it, else builds; podman has it under the local name', async () => {
    const pe = await podmanEnv();
    expect((await images(['push', 'base', '--registry', `${reg}/gv`])).code).toBe(0);
    // A fresh cache folder (another machine): only the registry has it.
    const fromRegistry = await images(['load', 'base', '--registry', `${reg}/gv`, '--into', 'podman'], { ...pe, XDG_CACHE_HOME: join(dir, 'cache-load-fresh') });
    expect(fromRegistry.code).toBe(0);
    expect(fromRegistry.stderr).toContain('pulled by its content hash');
    await put('images/fresh/Dockerfile', 'FROM base\nCOPY x /x\n');
    await put('images/fresh/x', 'x\n');
    const built = await images(['load', 'fresh', '--registry', `${reg}/gv`, '--into', 'podman'], pe);
    expect(built.code).toBe(0);
    expect(built.stderr).toContain('built here');
    const listed = await run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { env: { ...process.env, ...pe } });
    expect(listed.split('\n').sort()).toEqual(expect.arrayContaining(['test.local/images/base:latest', 'test.local/images/fresh:latest']));
    await rm(join(repo.dir, 'images/fresh'), { recursive: true });
  });

  test('a RUN image FROM an ImageSource base builds through buildah, the same digest twice', async () => {
    const bb = await makeBusyboxBase(dir);
    const pushed = await berthBin(['push', bb, `${registry.host}/upstream/busybox:1`], { env: env() });
    expect(pushed.code).toBe(0);
    await put('images/shell/ImageSource', `${registry.host}/upstream/busybox@${pushed.stdout.trim()}\n`);
    await put('images/runner/Dockerfile', 'FROM shell\nRUN echo ran > /ran && mkdir -p /d && echo f > /d/f\n');
    try {
      const out1 = join(dir, 'out1');
      const out2 = join(dir, 'out2');
      const a = await images(['build', 'runner', '--output', out1, '--json']);
      expect(a.stderr).toContain('[runner]');
      expect(a.code).toBe(0);
      const b = await images(['build', 'runner', '--output', out2, '--json']);
      expect(b.code).toBe(0);
      expect(JSON.parse(b.stdout)[0].digest).toBe(JSON.parse(a.stdout)[0].digest);
      expect(await readFile(join(out2, 'runner.tar'))).toEqual(await readFile(join(out1, 'runner.tar')));
      await run('skopeo', ['copy', `docker-archive:${join(out1, 'runner.tar')}`, `oci:${join(dir, 'runner-oci')}:x`]);
      await run('umoci', ['unpack', '--image', `${join(dir, 'runner-oci')}:x`, join(dir, 'runner-root')]);
      expect(await readFile(join(dir, 'runner-root', 'rootfs', 'ran'), 'utf8')).toBe('ran\n');
      expect(await readFile(join(dir, 'runner-root', 'rootfs', 'd', 'f'), 'utf8')).toBe('f\n');
    } finally {
      await rm(join(repo.dir, 'images/shell'), { recursive: true });
      await rm(join(repo.dir, 'images/runner'), { recursive: true });
    }
  }, 300_000);
});
