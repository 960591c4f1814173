import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, tempDir } from '../helpers/tools.js';
import { appImage, staticBase, testEnv } from './fixtures.js';
import { runLeanPush } from '../../src/cli/lean-push.js';

const skopeoInspect = async (ref: string, raw = false) => {
  const out = await run('skopeo', ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${ref}`]);
  return raw ? out : JSON.parse(out);
};
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: string;
let cleanup: () => Promise<void>;
let reg: TestRegistry;
let proxy: FaultProxy;
let env: NodeJS.ProcessEnv;
let single: string;
let singleDigest: string;
let multi: string;
let multiDigest: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-push-'));
  reg = await startRegistry();
  // A proxy with no faults: it only counts what berth asks of the registry.
  proxy = await startFaultProxy({ target: reg.host });
  env = testEnv(dir);
  single = join(dir, 'single.tar');
  singleDigest = await staticBase(single);
  multi = join(dir, 'multi.tar');
  multiDigest = await staticBase(multi, ['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
});
afterAll(async () => {
  await proxy?.close();
  await reg.stop();
  await cleanup();
});

/**
 * Puts `src` at `ref` as the arrangement of a test, so that no test depends on what an earlier
 * one pushed: each runs alone (`-t`) or in any order (`--randomize`).
 */
async function given(src: string, ref: string): Promise<void> {
  const r = await berth(['push', src, ref], { env });
  expect(r.stderr).toContain('berth: pushed');
}

describe('berth push', () => {
  test('an image tarball: prints the digest; skopeo sees it under the tag and copies it, checking every digest', async () => {
    // A repository no other test uses and a cache of its own: nothing to mount, all uploaded.
    const r = await berth(['push', single, `${reg.host}/fresh/single:v1`], { env: testEnv(join(dir, 'fresh')) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${singleDigest}\n`);
    expect(r.stderr).toContain(`berth: pushed ${singleDigest} -> ${reg.host}/fresh/single:v1 (2 uploaded, 0 mounted, 0 existing)`);
    const info = await skopeoInspect(`${reg.host}/fresh/single:v1`);
    expect(info.Digest).toBe(singleDigest);
    expect(info.Architecture).toBe('amd64');
    const dest = join(dir, 'skopeo-single');
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/fresh/single:v1`, `dir:${dest}`]);
    expect(sha256(await readFile(join(dest, 'manifest.json')))).toBe(singleDigest);
  });

  test('an index: the exact index bytes under the tag, every platform\'s image by digest', async () => {
    const r = await berth(['push', multi, `${reg.host}/index/multi:v1`, '--json'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ digest: multiDigest, destination: `${reg.host}/index/multi:v1`, push: { upToDate: false, tags: [`${reg.host}/index/multi:v1`] } });
    const raw = await skopeoInspect(`${reg.host}/index/multi:v1`, true);
    expect(sha256(raw)).toBe(multiDigest);
    const index = JSON.parse(raw);
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm', 'arm64']);
    for (const m of index.manifests) {
      const dest = join(dir, `skopeo-multi-${m.platform.architecture}`);
      await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/index/multi@${m.digest}`, `dir:${dest}`]);
      expect(sha256(await readFile(join(dest, 'manifest.json')))).toBe(m.digest);
    }
  });

  test('a warm push (everything there) asks only the API check and the tag, and uploads nothing', async () => {
    await given(multi, `${reg.host}/warm/multi:v1`);
    proxy.log.length = 0;
    const r = await berth(['push', multi, `${proxy.host}/warm/multi:v1`], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('(already there)');
    expect(proxy.log.map((l) => `${l.method} ${l.path}`)).toEqual(['GET /v2/', 'HEAD /v2/warm/multi/manifests/v1']);
  });

  test('a new tag for an image the repository has: one HEAD by digest and the tag PUT, no blobs', async () => {
    await given(multi, `${reg.host}/retag/multi:v1`);
    proxy.log.length = 0;
    const r = await berth(['push', multi, `${proxy.host}/retag/multi:v2`], { env });
    expect(r.code).toBe(0);
    expect(proxy.log.map((l) => `${l.method} ${l.path}`)).toEqual(['GET /v2/', 'HEAD /v2/retag/multi/manifests/v2', `HEAD /v2/retag/multi/manifests/${multiDigest}`, 'PUT /v2/retag/multi/manifests/v2']);
    expect(sha256(await skopeoInspect(`${reg.host}/retag/multi:v2`, true))).toBe(multiDigest);
  });

  test('a push to a second repository of the same registry mounts every blob (remembered from the first push)', async () => {
    // 3 configs and the one layer the platforms share; the first push went to this host, so
    // berth knows where they are.
    await given(multi, `${reg.host}/mount-from/multi:v1`);
    const r = await berth(['push', multi, `${reg.host}/other/multi:v1`, '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).push).toMatchObject({ blobs: { uploaded: 0, mounted: 4, existing: 0, skipped: 0 }, uploadedBytes: 0 });
    expect(sha256(await skopeoInspect(`${reg.host}/other/multi:v1`, true))).toBe(multiDigest);
  });

  test('the lean push entry (no yargs) pushes the same way and reports errors the same way', async () => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env, cwd: dir };
    expect(await runLeanPush(['push', single, `${reg.host}/demo/lean:v1`], io)).toBe(0);
    expect(stdout).toBe(`${singleDigest}\n`);
    expect(stderr).toContain(`berth: pushed ${singleDigest} -> ${reg.host}/demo/lean:v1`);
    stdout = '';
    stderr = '';
    const full = await berth(['push', single, '127.0.0.1:1/demo/x:v1', '--json'], { env });
    expect(await runLeanPush(['push', single, '127.0.0.1:1/demo/x:v1', '--json'], io)).toBe(full.code);
    expect(stdout).toBe(full.stdout);
    expect(stderr).toBe(full.stderr);
  });

  test('oci:DIR[:NAME] is a source too', async () => {
    const layout = join(dir, 'layout');
    expect((await berth(['copy', single, `oci:${layout}:app`], { env })).code).toBe(0);
    const r = await berth(['push', `oci:${layout}:app`, `${reg.host}/demo/fromlayout:v1`], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(singleDigest);
  });

  test('pushing by digest: a matching digest stores it without a tag; another digest is refused, exit 2', async () => {
    const ok = await berth(['push', single, `${reg.host}/demo/bydigest@${singleDigest}`], { env });
    expect(ok.code).toBe(0);
    expect(sha256(await skopeoInspect(`${reg.host}/demo/bydigest@${singleDigest}`, true))).toBe(singleDigest);
    const bad = await berth(['push', single, `${reg.host}/demo/bydigest@${multiDigest}`], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`berth: ${reg.host}/demo/bydigest@${multiDigest}: names ${multiDigest}, but the image to push is ${singleDigest}\n`);
  });
});

describe('berth pull, copy and inspect', () => {
  test('berth pulls what skopeo pushed, with the same digest, into a tarball skopeo reads', async () => {
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${single}`, `docker://${reg.host}/byskopeo/img:v1`]);
    const skopeoDigest = (await skopeoInspect(`${reg.host}/byskopeo/img:v1`)).Digest;
    const out = join(dir, 'pulled.tar');
    const r = await berth(['pull', `${reg.host}/byskopeo/img:v1`, '--output', out], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(skopeoDigest);
    const info = JSON.parse(await run('skopeo', ['inspect', `oci-archive:${out}`]));
    expect(info.Digest).toBe(skopeoDigest);
    expect(JSON.parse(await run('skopeo', ['inspect', `docker-archive:${out}`])).Digest).toMatch(/^sha256:/);
    const manifestJson = JSON.parse(await run('tar', ['-xOf', out, 'manifest.json']));
    expect(manifestJson[0].RepoTags).toEqual([`${reg.host}/byskopeo/img:v1`]);
  });

  test('pull of an index with --platform writes that image; without it, the whole index into a layout', async () => {
    await given(multi, `${reg.host}/demo/multi:v1`);
    const one = join(dir, 'arm64.tar');
    const r = await berth(['pull', `${reg.host}/demo/multi:v1`, '--platform', 'linux/arm64', '--output', one, '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ platform: 'linux/arm64' });
    expect(JSON.parse(await run('skopeo', ['inspect', `oci-archive:${one}`])).Architecture).toBe('arm64');

    const layout = join(dir, 'pulled-layout');
    const all = await berth(['pull', `${reg.host}/demo/multi:v1`, '--output', `oci:${layout}`], { env });
    expect(all.code).toBe(0);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].digest).toBe(multiDigest);
    expect((await readdir(join(layout, 'blobs', 'sha256'))).length).toBeGreaterThanOrEqual(7);
    await run('skopeo', ['copy', '--quiet', `oci:${layout}:${reg.host}/demo/multi:v1`, `dir:${join(dir, 'layout-check')}`, '--override-arch', 'arm', '--override-variant', 'v7']);
  });

  test('copy registry → registry of an index keeps its digest', async () => {
    await given(multi, `${reg.host}/demo/multi:v1`);
    const r = await berth(['copy', `docker://${reg.host}/demo/multi:v1`, `${reg.host}/copied/multi:v9`], { env });
    expect(r.code).toBe(0);
    expect(sha256(await skopeoInspect(`${reg.host}/copied/multi:v9`, true))).toBe(multiDigest);
  });

  test('inspect of a registry reference shows the reference to pin it by, and checks every layer', async () => {
    await given(single, `${reg.host}/demo/single:v1`);
    const r = await berth(['inspect', `${reg.host}/demo/single:v1`], { env });
    expect(r.code).toBe(0);
    // The reference given is the name; then what it points at.
    expect(r.stdout.startsWith(`reference  ${reg.host}/demo/single@${singleDigest}\nnames\n  ${reg.host}/demo/single:v1  -> image ${singleDigest} (linux/amd64)\n\nimage      ${singleDigest}\n`)).toBe(true);
  });

  test('an image pushed, pulled and built on (from the registry) keeps every digest', async () => {
    await given(single, `${reg.host}/demo/single:v1`);
    const fromTar = await appImage(single, join(dir, 'app-local.tar'), env);
    expect(fromTar.code).toBe(0);
    const fromRegistry = await appImage(`${proxy.host}/demo/single@${singleDigest}`, join(dir, 'app-remote.tar'), env);
    expect(fromRegistry.stderr).toContain('built linux/amd64 image');
    expect(fromRegistry.digest).toBe(fromTar.digest);
    // The base is now in berth's cache: a second build fetches nothing, even with the registry gone.
    proxy.setFaults([], 0);
    proxy.log.length = 0;
    try {
      const again = await appImage(`${proxy.host}/demo/single@${singleDigest}`, join(dir, 'app-again.tar'), env);
      expect(again.code).toBe(0);
      expect(again.digest).toBe(fromTar.digest);
      expect(proxy.log).toEqual([]);
    } finally {
      proxy.setFaults([]);
    }
    // And the result pushes and reads back the same.
    const p = await berth(['push', join(dir, 'app-again.tar'), `${reg.host}/demo/app:v1`], { env });
    expect(p.stdout.trim()).toBe(fromTar.digest);
    expect((await skopeoInspect(`${reg.host}/demo/app:v1`)).Digest).toBe(fromTar.digest);
  });
});

describe('bad input', () => {
  test('a malformed reference is exit 2 before anything is read', async () => {
    const r = await berth(['push', single, `${reg.host}/Bad_Repo//x:v1`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^berth: target: ".*" is not a valid image reference: /);
    const t = await berth(['push', single, `${reg.host}/demo/x:-bad`, '--json'], { env });
    expect(t.code).toBe(2);
    expect(JSON.parse(t.stdout).error.code).toBe('BAD_REFERENCE');
  });

  test('a registry nobody listens on: exit 1, "refused", without retrying', async () => {
    const r = await berth(['push', single, '127.0.0.1:1/demo/x:v1'], { env });
    expect(r.code).toBe(1);
    // One line and no "retrying" line before it.
    expect(r.stderr).toBe('berth: GET http://127.0.0.1:1/v2/: connection to 127.0.0.1:1 refused; is the registry running there?\n');
  });

  test('a tag that does not exist: exit 1, NOT_FOUND, naming the manifest', async () => {
    const r = await berth(['pull', `${reg.host}/demo/single:nope`, '--output', join(dir, 'x.tar'), '--json'], { env });
    expect(r.code).toBe(1);
    const e = JSON.parse(r.stdout).error;
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`${reg.host}/demo/single: manifest nope not found (MANIFEST_UNKNOWN: manifest unknown)`);
  });
});
