import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readdir, readFile, stat, utimes, writeFile, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { berth, berthBin, REPO_ROOT } from '../helpers/cli.js';
import { run, tempDir } from '../helpers/tools.js';
import { indexTar } from '../../src/transport/tar-index.js';

const HELLO = join(REPO_ROOT, 'demo', 'hello', 'bin');
const sha256File = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => cleanup());

function controllerArgs(out: string, extra: string[] = []): string[] {
  return [
    'build',
    '--base', 'static',
    '--platform', 'linux/amd64',
    '--file', `${join(HELLO, 'hello-amd64')}:/app/controller:0755`,
    '--entrypoint', '/app/controller',
    '--env', 'B=2', '--env', 'A=1',
    '--label', 'org.example.team=platform',
    '--annotation', 'org.example.note=built-by-test',
    '--tag', 'quay.io/jetstack/cert-manager-controller:v1.2.3',
    '--output', out,
    ...extra,
  ];
}

describe('berth build from static, read by skopeo and umoci', () => {
  let tarball: string;
  let digest: string;
  beforeAll(async () => {
    tarball = join(dir, 'controller-amd64.tar');
    const r = await berth(controllerArgs(tarball, ['--json']));
    expect(r.stderr).toContain('built linux/amd64 image');
    expect(r.code).toBe(0);
    digest = JSON.parse(r.stdout).digest;
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  test('skopeo inspect oci-archive: shows the platform, the digest berth printed, two layers', async () => {
    const info = JSON.parse(await run('skopeo', ['inspect', `oci-archive:${tarball}`]));
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.Digest).toBe(digest);
    expect(info.Layers).toHaveLength(2);
    expect(info.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=2']);
    expect(info.Labels).toEqual({ 'org.example.team': 'platform' });
  });

  test('skopeo copy oci-archive: to dir: (which checks every digest) succeeds', async () => {
    const dest = join(dir, 'copied');
    await run('skopeo', ['copy', '--quiet', `oci-archive:${tarball}`, `dir:${dest}`]);
    const manifest = JSON.parse(await readFile(join(dest, 'manifest.json'), 'utf8'));
    expect(manifest.layers).toHaveLength(2);
    expect(manifest.annotations).toEqual({ 'org.example.note': 'built-by-test' });
  });

  test('skopeo reads it as docker-archive: with the stamped RepoTags', async () => {
    const info = JSON.parse(await run('skopeo', ['inspect', `docker-archive:${tarball}`]));
    expect(info.Architecture).toBe('amd64');
    expect(info.Layers).toHaveLength(2);
    const manifestJson = JSON.parse(await run('tar', ['-xOf', tarball, 'manifest.json']));
    expect(manifestJson).toHaveLength(1);
    expect(manifestJson[0].RepoTags).toEqual(['quay.io/jetstack/cert-manager-controller:v1.2.3']);
    const index = JSON.parse(await run('tar', ['-xOf', tarball, 'index.json']));
    expect(index.manifests[0].digest).toBe(digest);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('quay.io/jetstack/cert-manager-controller:v1.2.3');
  });

  test('umoci unpacks it and the entrypoint runs in a chroot as the static base user', async () => {
    const layout = join(dir, 'layout');
    await mkdir(layout);
    await run('tar', ['-xf', tarball, '-C', layout]);
    const bundle = join(dir, 'bundle');
    await run('umoci', ['unpack', '--image', `${layout}:quay.io/jetstack/cert-manager-controller:v1.2.3`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
    expect(config.process.args).toEqual(['/app/controller']);
    expect(config.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    const out = await run('chroot', ['--userspec=65532:65532', rootfs, ...config.process.args]);
    expect(out).toBe('hello from berth on linux/amd64\n');
    expect((await stat(join(rootfs, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(join(rootfs, 'home', 'nonroot'))).uid).toBe(65532);
    expect(await readFile(join(rootfs, 'etc', 'passwd'), 'utf8')).toMatch(/^nonroot:x:65532:65532:/m);
    expect((await stat(join(rootfs, 'app', 'controller'))).mode & 0o777).toBe(0o755);
  });

  test('berth inspect --json agrees with the build and checks blobs', async () => {
    const r = await berth(['inspect', tarball, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ kind: 'image', digest, platform: 'linux/amd64', mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(s.config.entrypoint).toEqual(['/app/controller']);
    expect(s.config.user).toBe('65532:65532');
    expect(s.created).toBe('1970-01-01T00:00:00Z');
    const human = await berth(['inspect', tarball]);
    expect(human.stdout).toContain(`image      ${digest}`);
    expect(human.stdout).toContain('platform   linux/amd64');
  });
});

describe('reproducibility', () => {
  test('copies with other mtimes, another umask and flags in another order give identical bytes', async () => {
    const a = join(dir, 'repro-a');
    const b = join(dir, 'repro-b');
    for (const [d, t, mode] of [[a, 1_000_000, 0o644], [b, 2_000_000, 0o600]] as const) {
      await mkdir(join(d, 'tree', 'sub'), { recursive: true });
      await copyFile(join(HELLO, 'hello-amd64'), join(d, 'bin'));
      await writeFile(join(d, 'tree', 'z.txt'), 'z');
      await writeFile(join(d, 'tree', 'sub', 'a.txt'), 'a');
      await chmod(join(d, 'tree', 'z.txt'), mode);
      for (const f of ['bin', 'tree/z.txt', 'tree/sub/a.txt', 'tree/sub', 'tree']) await utimes(join(d, f), t, t);
    }
    const flags = (d: string) => ({
      base: ['--base', 'static', '--platform', 'linux/amd64'],
      files: ['--file', `${join(d, 'bin')}:/app/controller:0755`, '--file', `${join(d, 'tree')}:/data:0644`],
      env: ['--env', 'B=2', '--env', 'A=1'],
      labels: ['--label', 'x=1', '--label', 'y=2'],
      rest: ['--entrypoint', '/app/controller', '--user', '1:1', '--tag', 'quay.io/acme/app:v1'],
      out: ['--output', join(d, 'out.tar')],
    });
    const fa = flags(a);
    const fb = flags(b);
    const oldUmask = process.umask(0o077);
    try {
      const ra = await berth(['build', ...fa.base, ...fa.files, ...fa.env, ...fa.labels, ...fa.rest, ...fa.out]);
      expect(ra.code).toBe(0);
      process.umask(0o002);
      const reversed = (pairs: string[]) => pairs.flatMap((_, i) => (i % 2 ? [] : [pairs[pairs.length - 2 - i]!, pairs[pairs.length - 1 - i]!]));
      const rb = await berth(['build', ...fb.out, ...fb.rest, ...reversed(fb.labels), ...reversed(fb.env), ...reversed(fb.files), ...fb.base]);
      expect(rb.code).toBe(0);
    } finally {
      process.umask(oldUmask);
    }
    expect(await sha256File(join(b, 'out.tar'))).toBe(await sha256File(join(a, 'out.tar')));
    const listing = await run('tar', ['-tvf', join(a, 'out.tar')]);
    expect(listing).toMatch(/^-rw-r--r-- 0\/0 /m);
  });

  test('SOURCE_DATE_EPOCH sets created and changes the digest', async () => {
    const out1 = join(dir, 'epoch1.tar');
    const out2 = join(dir, 'epoch2.tar');
    const r1 = await berth(controllerArgs(out1, ['--json']), { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    const r2 = await berth(controllerArgs(out2, ['--json']));
    expect(r1.code).toBe(0);
    expect(JSON.parse(r1.stdout).digest).not.toBe(JSON.parse(r2.stdout).digest);
    const s = JSON.parse((await berth(['inspect', out1, '--json'])).stdout);
    expect(s.created).toBe('2023-11-14T22:13:20Z');
  });

  test('the tag changes names in the tarball, not the image digest', async () => {
    const r1 = await berth(controllerArgs(join(dir, 't1.tar'), ['--json']));
    const args = controllerArgs(join(dir, 't2.tar'), ['--json']);
    args[args.indexOf('--tag') + 1] = 'ghcr.io/acme/controller:v9';
    const r2 = await berth(args);
    expect(JSON.parse(r2.stdout).digest).toBe(JSON.parse(r1.stdout).digest);
    expect(await sha256File(join(dir, 't1.tar'))).not.toBe(await sha256File(join(dir, 't2.tar')));
  });
});

describe('--labels-from-status', () => {
  test('a Bazel status file gives the OCI labels; an explicit --label wins', async () => {
    const status = join(dir, 'stable-status.txt');
    const commit = 'c0ffee'.padEnd(40, '0');
    await writeFile(status, `STABLE_RELEASE_VERSION v1.2.3-4+abcdef\nSTABLE_BUILD_GIT_COMMIT ${commit}\nSTABLE_BUILD_SCM_TIMESTAMP 1700000000\nSTABLE_BUILD_SCM_SOURCE https://github.com/acme/app\n`);
    const out = join(dir, 'labelled.tar');
    const r = await berth(['build', '--base', 'scratch', '--labels-from-status', status, '--label', 'org.opencontainers.image.source=https://example.com/override', '--output', out]);
    expect(r.code).toBe(0);
    const info = JSON.parse(await run('skopeo', ['inspect', `oci-archive:${out}`]));
    expect(info.Labels).toEqual({
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
      'org.opencontainers.image.revision': commit,
      'org.opencontainers.image.source': 'https://example.com/override',
      'org.opencontainers.image.version': 'v1.2.3-4+abcdef',
    });
    const missing = await berth(['build', '--base', 'scratch', '--labels-from-status', join(dir, 'nope.txt'), '--output', join(dir, 'x.tar')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`berth: --labels-from-status ${join(dir, 'nope.txt')}: no such file\n`);
  });
});

describe('multi-platform layouts and bases', () => {
  const layout = () => join(dir, 'multi');
  beforeAll(async () => {
    const builds = [
      ['linux/amd64', 'hello-amd64'],
      ['linux/arm64', 'hello-arm64'],
      ['linux/arm/v7', 'hello-arm-v7'],
    ].map(([platform, bin]) =>
      berth(['build', '--base', 'static', '--platform', platform!, '--file', `${join(HELLO, bin!)}:/hello`, '--entrypoint', '/hello', '--tag', 'example.com/demo/hello:v1', '--output', `oci:${layout()}`]),
    );
    const results = await Promise.all(builds);
    for (const r of results) expect(r.stderr).not.toContain('error');
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
  });

  test('several builds write into one layout, one entry per platform', async () => {
    const index = JSON.parse(await readFile(join(layout(), 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm', 'arm64']);
    const s = JSON.parse((await berth(['inspect', `oci:${layout()}:example.com/demo/hello:v1`, '--json'])).stdout);
    expect(s.kind).toBe('index');
    expect(s.manifests.map((m: { platform: string }) => m.platform).sort()).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64']);
  });

  test('--platform picks a base from an index; arm64 matches arm64/v8', async () => {
    const out = join(dir, 'from-layout.tar');
    const r = await berth(['build', '--base', `oci:${layout()}:v1`, '--platform', 'linux/arm64/v8', '--env', 'X=1', '--output', out, '--json']);
    expect(r.stderr).toContain('linux/arm64/v8');
    expect(r.code).toBe(0);
    const info = JSON.parse(await run('skopeo', ['inspect', `oci-archive:${out}`]));
    expect(info.Architecture).toBe('arm64');
    expect(info.Layers).toHaveLength(2);
  });

  test('a base without that platform: exit 2, the platforms it has, no output', async () => {
    const out = join(dir, 'nope.tar');
    const r = await berth(['build', '--base', `oci:${layout()}`, '--platform', 'linux/s390x', '--output', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^berth: --base oci:.*multi: has no image for linux\/s390x \(it has: linux\/amd64, linux\/arm\/v7, linux\/arm64\)\n$/);
    await expect(stat(out)).rejects.toThrow();
  });

  test('--format docker writes Docker media types that skopeo reads', async () => {
    const out = join(dir, 'docker.tar');
    const r = await berth(['build', '--base', 'static', '--platform', 'linux/arm/v7', '--file', `${join(HELLO, 'hello-arm-v7')}:/hello`, '--format', 'docker', '--output', out]);
    expect(r.code).toBe(0);
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${out}`]));
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true);
    const cfg = JSON.parse(await run('skopeo', ['inspect', '--config', `oci-archive:${out}`]));
    expect(cfg).toMatchObject({ architecture: 'arm', variant: 'v7', os: 'linux' });
  });

  test('berth base static with several platforms writes an index that skopeo copies whole', async () => {
    const out = join(dir, 'static-base.tar');
    const r = await berth(['base', 'static', '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--output', out, '--json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.images).toHaveLength(2);
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${out}`]));
    expect(raw.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(raw.manifests.map((m: { digest: string }) => m.digest)).toEqual(res.images.map((i: { digest: string }) => i.digest));
    // Identical layer for every architecture: only the config differs.
    const layers = await Promise.all(res.images.map(async (i: { digest: string }) => JSON.parse(await run('tar', ['-xOf', out, `blobs/sha256/${i.digest.slice(7)}`])).layers));
    expect(layers[0]).toEqual(layers[1]);
    await run('skopeo', ['copy', '--quiet', '--all', `oci-archive:${out}`, `dir:${join(dir, 'static-copy')}`]);
  });
});

describe('bad input: one line, exit 2, nothing written', () => {
  async function expectRejected(args: string[], out: string, message: RegExp) {
    const r = await berth(args);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
    await expect(stat(out)).rejects.toThrow();
    const leftovers = (await readdir(dir)).filter((f) => f.startsWith('.berth-work-') || f.includes('.tmp-'));
    expect(leftovers).toEqual([]);
  }
  const base = (out: string) => ['build', '--base', 'static', '--platform', 'linux/amd64', '--output', out];

  test('a missing --file', async () => {
    const out = join(dir, 'bad1.tar');
    await expectRejected([...base(out), '--file', `${join(dir, 'nope')}:/x`], out, /--file .*nope.*no such file/);
  });

  test('an unreadable --file', async () => {
    const out = join(dir, 'bad1b.tar');
    // Root reads anything, so a directory that cannot be listed is made by a FIFO-free trick: a
    // dangling symlink given as the source.
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir, 'missing-target'), join(dir, 'dangling'));
    await expectRejected([...base(out), '--file', `${join(dir, 'dangling')}:/x`], out, /--file .*dangling/);
  });

  test('an ELF --file for another platform: exit 2 naming the file, what it is and what the image is', async () => {
    const out = join(dir, 'bad-foreign.tar');
    const arm64 = join(HELLO, 'hello-arm64');
    await expectRejected(
      [...base(out), '--file', `${arm64}:/app/server:0755`],
      out,
      new RegExp(`^berth: --file ${arm64.replace(/[.*+?^$()|[\]\\]/g, '\\$&')} \\(/app/server\\) is ELF 64-bit LSB ARM aarch64 \\(linux/arm64\\), but the image is linux/amd64; build it for linux/amd64, or pass --allow-foreign-binaries to add it anyway\n$`),
    );
    // Inside a directory too; arm 32-bit is not arm64.
    await mkdir(join(dir, 'foreign-dir/bin'), { recursive: true });
    await copyFile(join(HELLO, 'hello-arm-v7'), join(dir, 'foreign-dir/bin/tool'));
    await writeFile(join(dir, 'foreign-dir/README'), 'not a program\n');
    const out2 = join(dir, 'bad-foreign2.tar');
    await expectRejected(['build', '--base', 'static', '--platform', 'linux/arm64', '--file', `${join(dir, 'foreign-dir')}:/opt/`, '--output', out2], out2, /\(\/opt\/bin\/tool\) is ELF 32-bit LSB ARM \(linux\/arm\), but the image is linux\/arm64;/);
    // The same program for its own platform, and a foreign one when allowed.
    expect((await berth(['build', '--base', 'static', '--platform', 'linux/arm/v7', '--file', `${join(dir, 'foreign-dir')}:/opt/`, '--output', out2])).code).toBe(0);
    const allowed = await berth([...base(out), '--file', `${arm64}:/app/server:0755`, '--allow-foreign-binaries']);
    expect(allowed.code).toBe(0);
    expect((await stat(out)).size).toBeGreaterThan(0);
  });

  test('an unknown platform', async () => {
    const out = join(dir, 'bad2.tar');
    await expectRejected(['build', '--base', 'static', '--platform', 'linux/amd46', '--output', out], out, /--platform: unknown architecture "amd46"/);
  });

  test('an invalid tag', async () => {
    const out = join(dir, 'bad3.tar');
    await expectRejected([...base(out), '--tag', 'quay.io/acme/app:v1+build'], out, /--tag: "quay.io\/acme\/app:v1\+build" is not a valid image reference/);
  });

  test.each([
    [['--user', 'root:wheel:x'], /^berth: --user: "root:wheel:x" is not USER\[:GROUP\]/],
    [['--user', 'a b'], /^berth: --user: "a b" is not USER\[:GROUP\]/],
    [['--expose', '99999'], /^berth: --expose: "99999" is not PORT\[\/PROTO\] \(a port from 1 to 65535; tcp, udp or sctp\)$/m],
    [['--expose', '0'], /--expose: "0"/],
    [['--expose', '80/http'], /--expose: "80\/http"/],
    [['-t', 'UPPER/repo:v1'], /^berth: --tag: "UPPER\/repo:v1" is not a valid image reference: "UPPER" must be lowercase/],
  ])('values that cannot be right: %j', async (flags, message) => {
    const out = join(dir, `bad-value-${String(flags[1]).replace(/\W/g, '_')}.tar`);
    await expectRejected([...base(out), ...flags], out, message);
  });

  test('a static base for another system than linux', async () => {
    const out = join(dir, 'bad-windows.tar');
    await expectRejected(['build', '--base', 'static', '-p', 'windows/amd64', '-o', out], out, /^berth: --platform: "windows\/amd64": the static base is for linux only$/m);
    await expectRejected(['base', 'static', '-p', 'windows/amd64', '-o', out], out, /^berth: --platform: "windows\/amd64": the static base is for linux only$/m);
  });

  test('good values pass: --user names or numbers, --expose with a protocol', async () => {
    const out = join(dir, 'good-values.tar');
    const r = await berth([...base(out), '--user', 'nonroot:65532', '--expose', '8080/udp', '--expose', '443', '-t', 'localhost/app:v1', '--json']);
    expect(r.code).toBe(0);
  });

  test('a base tarball whose blob does not match its digest', async () => {
    const good = join(dir, 'good-base.tar');
    expect((await berth([...base(good), '--file', `${join(HELLO, 'hello-amd64')}:/hello`])).code).toBe(0);
    const bad = join(dir, 'tampered-base.tar');
    await copyFile(good, bad);
    const manifest = JSON.parse(await run('tar', ['-xOf', bad, 'manifest.json']))[0];
    const member = (await indexTar(bad)).get(manifest.Layers[1])!;
    const fh = await openFile(bad, 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, member.offset + 100);
    byte[0] = byte[0]! ^ 0xff;
    await fh.write(byte, 0, 1, member.offset + 100);
    await fh.close();
    const out = join(dir, 'bad4.tar');
    await expectRejected(['build', '--base', bad, '--env', 'A=1', '--output', out], out, /tampered-base.tar: blob sha256:[a-f0-9]{64} does not match its digest/);
    const r = await berth(['inspect', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not match its digest/);
  });

  async function craftLayer(name: string, entries: { name: string; type?: 'symlink' | 'file' | 'directory' | 'link'; linkname?: string; content?: string }[]) {
    const pack = tarStream.pack();
    const path = join(dir, name);
    const done = pipeline(pack, createWriteStream(path));
    for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644, mtime: new Date(0) }, e.content ?? '');
    pack.finalize();
    await done;
    return path;
  }

  test('a --layer with ../ escaping the root', async () => {
    const layer = await craftLayer('dotdot.tar', [{ name: 'a/../../etc/evil', content: 'x' }]);
    const out = join(dir, 'bad5.tar');
    await expectRejected([...base(out), '--layer', layer], out, /dotdot.tar.*a\/\.\.\/\.\.\/etc\/evil/);
  });

  test('a --layer with an absolute path', async () => {
    const layer = await craftLayer('absolute.tar', [{ name: '/etc/evil', content: 'x' }]);
    const out = join(dir, 'bad6.tar');
    await expectRejected([...base(out), '--layer', layer], out, /absolute.tar.*\/etc\/evil/);
  });

  test('a --layer with a symlink pointing out, then written through', async () => {
    const layer = await craftLayer('through.tar', [
      { name: 'escape', type: 'symlink', linkname: '../../../../tmp' },
      { name: 'escape/owned', content: 'x' },
    ]);
    const out = join(dir, 'bad7.tar');
    await expectRejected([...base(out), '--layer', layer], out, /through.tar.*escape\/owned/);
  });

  test('an absolute symlink inside the image is fine', async () => {
    const layer = await craftLayer('tz.tar', [{ name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' }]);
    const out = join(dir, 'tz-ok.tar');
    const r = await berth([...base(out), '--layer', layer]);
    expect(r.code).toBe(0);
  });
});

describe('the berth executable', () => {
  test('exits 2 with one line on bad input, 0 on success', async () => {
    const bad = await berthBin(['build', '--base', 'static', '--platform', 'linux/amd46', '--output', join(dir, 'bin-bad.tar')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('berth: --platform: unknown architecture "amd46" in "linux/amd46" (known: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm)\n');
    const good = await berthBin(['build', '--base', 'scratch', '--platform', 'linux/amd64', '--file', `${join(HELLO, 'hello-amd64')}:/hello`, '--output', join(dir, 'bin-good.tar')]);
    expect(good.stderr).toContain('built linux/amd64 image');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
  });

  test('a copy of a layout in another folder gives the same digest', async () => {
    // A layout of its own (not one another test or describe made).
    const a = join(dir, 'to-copy');
    const b = join(dir, 'to-copy-copy');
    const made = await berth(['build', '--base', 'static', '--platform', 'linux/amd64', '--file', `${join(HELLO, 'hello-amd64')}:/hello`, '--tag', 'example.com/demo/hello:v1', '--output', `oci:${a}`]);
    expect(made.code).toBe(0);
    await cp(a, b, { recursive: true });
    const ra = await berth(['build', '--base', `oci:${a}:v1`, '--platform', 'linux/amd64', '--output', join(dir, 'ca.tar'), '--json']);
    const rb = await berth(['build', '--base', `oci:${b}:v1`, '--platform', 'linux/amd64', '--output', join(dir, 'cb.tar'), '--json']);
    expect(JSON.parse(ra.stdout).digest).toBe(JSON.parse(rb.stdout).digest);
  });
});
