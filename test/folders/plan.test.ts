import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import { UsageError } from '../../src/errors.js';
import { applyBuilds, discoverImages, flatName, pickImages, readImageFolder, readImagesRoot } from '../../src/folders/folder.js';
import { planImages, type ImagesPlanInput } from '../../src/folders/folder-plan.js';
import { berthBin } from '../helpers/cli.js';
import { run, tempDir } from '../helpers/tools.js';
import { startRegistry } from '../helpers/registry.js';
import { Registries } from '../../src/registry/pool.js';
import { memImage, publishIndex } from './mem-image.js';

let root: string;
let cleanup: () => Promise<void>;
const amd64 = parsePlatform('linux/amd64');

async function put(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), text);
  await chmod(join(root, path), mode);
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-images-plan-'));
  // gVisor-style: base, app FROM base, tool FROM app (COPY --from base too)
  await put('base/Dockerfile', 'FROM scratch\nCOPY etc /etc\n');
  await put('base/etc/motd', 'hello\n');
  await put('app/Dockerfile', 'ARG FLAVOR=plain\nFROM base\nCOPY app.sh /app.sh\n');
  await put('app/app.sh', '#!/bin/sh\necho app\n', 0o755);
  await put('app/.dockerignore', '*.log\n!keep.log\n');
  await put('app/debug.log', 'noise');
  await put('app/keep.log', 'kept');
  await put('tool/Dockerfile', 'FROM app AS run\nCOPY --from=base /etc/motd /motd\n');
  await put('tool/variants.yaml', 'slim:\n  FLAVOR: slim\nfull:\n  FLAVOR: full\n');
  await mkdir(join(root, 'docs'));
  await put('docs/README.md', 'not an image');
  await put('side/Dockerfile.amd64', 'FROM scratch\n');
  await put('side/Dockerfile.aarch64', 'FROM scratch\n');
  await symlink('app.sh', join(root, 'app', 'link'));
});
afterAll(() => cleanup());

const input = async (over: Partial<ImagesPlanInput> = {}): Promise<ImagesPlanInput> => ({
  all: await readImagesRoot(root),
  names: [],
  platforms: [],
  buildArgs: {},
  hostPlatform: amd64,
  ...over,
});

describe('planning an image folder', () => {
  test('images are the folders with a Dockerfile or ImageSource, ordered by their FROMs', async () => {
    const plan = await planImages(await input());
    expect(plan.images.map((i) => `${i.name}${i.variant ? `-${i.variant.name}` : ''}${i.wanted ? '' : ' (base)'}`)).toEqual(['base', 'app', 'side', 'tool-full', 'tool-slim']);
    expect(plan.images.find((i) => i.name === 'tool')!.deps).toEqual(['app', 'base']);
    // The host's platform by default; images.platforms widens it, each file serving its own.
    expect(plan.images.find((i) => i.name === 'side')!.platforms.map((p) => `${p.platform.architecture}:${p.source.file}`)).toEqual(['amd64:Dockerfile.amd64']);
    const wide = await planImages(await input({ defaultPlatforms: [amd64, parsePlatform('linux/arm64'), parsePlatform('linux/ppc64le')] }));
    const side = wide.images.find((i) => i.name === 'side')!;
    expect(side.platforms.map((p) => `${p.platform.architecture}:${p.source.file}`)).toEqual(['amd64:Dockerfile.amd64', 'arm64:Dockerfile.aarch64']);
    expect(side.notes).toEqual(['linux/ppc64le left out: no file of side builds it (Dockerfile.aarch64, Dockerfile.amd64)']);
  });

  test('a base not asked for is planned too, as a base', async () => {
    const plan = await planImages(await input({ names: ['tool'], variant: 'slim' }));
    expect(plan.images.map((i) => `${i.name}${i.wanted ? '' : ' (base)'}`)).toEqual(['base (base)', 'app (base)', 'tool']);
    expect(plan.images[2]!.tag).toMatch(/^[0-9a-f]{16}-slim$/);
    expect(plan.images[2]!.buildArgs).toEqual({ FLAVOR: 'slim' });
  });

  test('a change changes exactly the hashes that depend on it; ignored files change none', async () => {
    const before = new Map((await planImages(await input())).images.map((i) => [i.tag, i.name]));
    const hashes = async () => Object.fromEntries((await planImages(await input())).images.map((i) => [`${i.name}${i.variant ? `-${i.variant.name}` : ''}`, i.hash]));
    const h0 = await hashes();
    await put('app/debug.log', 'other noise');
    expect(await hashes()).toEqual(h0);
    await put('app/keep.log', 'kept, changed');
    const h1 = await hashes();
    expect(Object.keys(h1).filter((k) => h1[k] !== h0[k]).sort()).toEqual(['app', 'tool-full', 'tool-slim']);
    await put('base/etc/motd', 'changed\n');
    const h2 = await hashes();
    expect(Object.keys(h2).filter((k) => h2[k] !== h1[k]).sort()).toEqual(['app', 'base', 'tool-full', 'tool-slim']);
    await chmod(join(root, 'side/Dockerfile.amd64'), 0o600);
    const h3 = await hashes();
    expect(Object.keys(h3).filter((k) => h3[k] !== h2[k])).toEqual(['side']);
    expect(before.size).toBe(5);
  });

  test('the hash does not depend on the platforms asked for', async () => {
    const a = await planImages(await input({ names: ['app'] }));
    const b = await planImages(await input({ names: ['app'], platforms: [amd64, parsePlatform('linux/arm64')] }));
    expect(b.images.at(-1)!.hash).toBe(a.images.at(-1)!.hash);
    expect(b.images.at(-1)!.platforms).toHaveLength(2);
  });

  test.each([
    [{ names: ['nope'] }, 'no image "nope" in the image folder (it has: app, base, side, tool)'],
    [{ names: ['side'], platforms: [parsePlatform('linux/s390x')] }, 'side: nothing builds linux/s390x: add Dockerfile.s390x or ImageSource.s390x'],
    [{ names: ['tool'], variant: 'huge' }, 'tool: no variant "huge" in variants.yaml (it has: full, slim)'],
  ])('bad input %j: %s', async (over, msg) => {
    await expect(planImages(await input(over))).rejects.toThrow(msg);
  });

  test('a cycle of FROMs is refused', async () => {
    await put('base/Dockerfile', 'FROM tool\n');
    try {
      await expect(planImages(await input())).rejects.toThrow('images app -> base -> tool -> app are built FROM each other in a cycle; break it');
    } finally {
      await put('base/Dockerfile', 'FROM scratch\nCOPY etc /etc\n');
    }
  });

  test('a malformed variants.yaml names its line', async () => {
    await put('tool/variants.yaml', 'slim: [1]\n');
    try {
      await expect(readImagesRoot(root)).rejects.toThrow(/tool\/variants\.yaml:1: slim: want a mapping/);
    } finally {
      await put('tool/variants.yaml', 'slim:\n  FLAVOR: slim\nfull:\n  FLAVOR: full\n');
    }
  });

  test('a non-executable build_binaries is refused', async () => {
    await put('side/build_binaries', '#!/bin/sh\n', 0o644);
    try {
      await expect(readImagesRoot(root)).rejects.toThrow(/side\/build_binaries: not an executable file; chmod \+x it/);
    } finally {
      await rm(join(root, 'side/build_binaries'));
    }
  });
});

describe('the hash reads what the build reads', () => {
  test('a file re-included with ! inside an ignored folder counts, the rest of the folder not; <Dockerfile>.dockerignore wins; the build copies the same files', async () => {
    const { dir, cleanup: done } = await tempDir('berth-images-reinclude-');
    const at = async (path: string, text: string) => {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    };
    try {
      await at('img/Dockerfile', 'FROM scratch\nCOPY . /ctx/\n');
      await at('img/.dockerignore', 'vendor\n!vendor/keep.txt\n');
      await at('img/vendor/keep.txt', 'kept\n');
      await at('img/vendor/drop.txt', 'dropped\n');
      const hash = async () => (await planImages({ all: await readImagesRoot(dir), names: [], platforms: [], buildArgs: {}, hostPlatform: amd64 })).images[0]!.hash;
      const h0 = await hash();
      await at('img/vendor/drop.txt', 'dropped, changed\n');
      expect(await hash()).toBe(h0);
      await at('img/vendor/keep.txt', 'kept, changed\n');
      const h1 = await hash();
      expect(h1).not.toBe(h0);
      // The Dockerfile's own ignore file is the one the build uses.
      await at('img/Dockerfile.dockerignore', 'vendor\n');
      const h2 = await hash();
      expect(h2).not.toBe(h1);
      await at('img/vendor/keep.txt', 'kept, changed again\n');
      expect(await hash()).toBe(h2);

      // The builder agrees: what it copies is what the hash read.
      await rm(join(dir, 'img', 'Dockerfile.dockerignore'));
      const out = join(dir, 'out');
      const r = await berthBin(['build', '--dockerfile', join(dir, 'img', 'Dockerfile'), '--output', `oci:${out}:x`], { env: { PATH: process.env.PATH! } });
      expect(r.code).toBe(0);
      await run('umoci', ['unpack', '--image', `${out}:x`, join(dir, 'root')]);
      expect((await readdir(join(dir, 'root', 'rootfs', 'ctx', 'vendor'))).sort()).toEqual(['keep.txt']);
    } finally {
      await done();
    }
  });
});

describe('what a folder tree yields', () => {
  let tree: string;
  let done: () => Promise<void>;
  const arm64 = parsePlatform('linux/arm64');
  const sha = (t: string) => createHash('sha256').update(t).digest('hex');
  const at = async (path: string, text: string, mode = 0o644) => {
    await mkdir(join(tree, path, '..'), { recursive: true });
    await writeFile(join(tree, path), text);
    await chmod(join(tree, path), mode);
  };
  /** The content hash berth documents: sha256 of one canonical JSON text of the inputs. */
  const hashOf = (files: [string, string][], dockerfiles: Record<string, string>, args: [string, string][], variant = '', bases: [string, string][] = [], sources: [string, string][] = []) =>
    sha(JSON.stringify(['berth-images/2', files.map(([path, text]) => [path, 'file', 0o644, sha(text)]), Object.entries(dockerfiles).map(([f, t]) => [f, sha(t)]), args, variant, bases, sources]));
  const BUSYBOX = 'FROM scratch\nARG GREETING\nARG BUILD_COMMIT_SHA\nCOPY hello /hello\n';
  const VV = 'ARG FLAVOR\nFROM scratch\nCOPY hello /hello\n';
  const plan = async (over: Partial<ImagesPlanInput> = {}) => planImages({ all: await readImagesRoot(tree), names: [], platforms: [], buildArgs: {}, hostPlatform: amd64, ...over });
  const usage = async (p: Promise<unknown>): Promise<{ code: string; exitCode: number; message: string }> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const u = err as UsageError;
    return { code: u.code, exitCode: u.exitCode, message: u.message };
  };

  beforeAll(async () => {
    ({ dir: tree, cleanup: done } = await tempDir('berth-images-tree-'));
    await at('Dockerfile', 'FROM scratch\n'); // the image folder itself is no image
    await at('basic/busybox/Dockerfile', BUSYBOX);
    await at('basic/busybox/hello', 'hi\n');
    await at('basic/notes/README.md', 'no image here');
    await at('basic-x/Dockerfile.amd64', 'FROM scratch\n');
    await at('basic-x/Dockerfile.amd64.dockerignore', 'junk\n');
    await at('basic-x/junk', 'j');
    await at('duo/Dockerfile.amd64', 'FROM scratch\n');
    await at('duo/Dockerfile.amd64.dockerignore', 'junk\n');
    await at('duo/Dockerfile.arm64', 'FROM scratch\nCOPY junk /junk\n');
    await at('duo/junk', 'j');
    await at('.hidden/Dockerfile', 'FROM scratch\n');
    await mkdir(join(tree, 'empty'));
    await at('onlyhidden/.cache/x', 'x');
    await at('group/deep/none/file.txt', 'x');
    await at('zz/notes.txt', 'x');
    await at('base/Dockerfile', 'FROM scratch\n');
    await at('zbase/Dockerfile', 'FROM scratch\n');
    // Built FROM its own previous release (not a dependency), an upstream image, and two local images by their published names.
    await at('app/Dockerfile', 'FROM reg.example/team/app:previous AS prev\nFROM docker.io/library/alpine:3.19\nCOPY --from=prev /x /x\nCOPY --from=reg.example/team/zbase:v1 / /\nRUN --mount=type=bind,from=base,target=/b true\n');
    await at('vv/Dockerfile', VV);
    await at('vv/hello', 'hi\n');
    await at('vv/variants.yaml', 'slim:\n  FLAVOR: slim\nfull:\n  FLAVOR: full\n');
    await at('onvv/Dockerfile', 'FROM vv\n');
    await at('amd64-base/Dockerfile', 'FROM scratch\n');
    await at('arm64-base/Dockerfile', 'FROM scratch\n');
    await at('multi/Dockerfile', 'ARG TARGETARCH\nFROM ${TARGETARCH}-base\n');
    await at('bb/Dockerfile', 'FROM scratch\nCOPY bin/tool /tool\n');
    await at('bb/build_binaries', '#!/bin/sh\n', 0o755);
    await at('bb/bin/tool', 'v1');
    await at('bb/main.go', 'package main\n');
    await at('up/ImageSource', 'quay.io/org/img:1.0\n');
  });
  afterAll(() => done());

  test('nested folders are images by path; folders with none are skipped with why, hidden ones not looked at', async () => {
    const found = await discoverImages(tree);
    expect(found.images.map((i) => i.name)).toEqual(['amd64-base', 'app', 'arm64-base', 'base', 'basic-x', 'basic/busybox', 'bb', 'duo', 'multi', 'onvv', 'up', 'vv', 'zbase']);
    expect(found.skipped).toEqual(['basic/notes', 'empty', 'group/deep/none', 'onlyhidden', 'zz'].map((path) => ({ path, why: 'no Dockerfile or ImageSource' })));
    expect(found.images.find((i) => i.name === 'bb')!.buildBinaries).toBe(join(tree, 'bb', 'build_binaries'));
  });

  test('an image is asked for by its path or make\'s spelling; an unknown one is a usage error', async () => {
    const all = await readImagesRoot(tree);
    expect(pickImages(all, ['basic/busybox', 'basic_busybox', 'basic-x']).map((f) => f.name)).toEqual(['basic/busybox', 'basic/busybox', 'basic-x']);
    expect(flatName('basic/busybox')).toBe('basic_busybox');
    const e = await usage(Promise.resolve().then(() => pickImages(all.slice(0, 2), ['basic'])));
    expect(e).toEqual({ code: 'NOT_FOUND', exitCode: 2, message: 'no image "basic" in the image folder (it has: amd64-base, app)' });
  });

  test('the hash covers the files, the Dockerfile and only the build args it declares, BUILD_COMMIT_SHA among them', async () => {
    const files: [string, string][] = [['Dockerfile', BUSYBOX], ['hello', 'hi\n']];
    const one = async (over: Partial<ImagesPlanInput>) => (await plan({ names: ['basic_busybox'], buildArgs: { GREETING: 'hi', UNUSED: 'x' }, ...over })).images;
    const [withSha] = await one({ commitSha: 'c0ffee' });
    expect(withSha).toMatchObject({ name: 'basic/busybox', wanted: true, commitSha: 'c0ffee', buildArgs: { GREETING: 'hi', UNUSED: 'x' }, deps: [] });
    expect(withSha!.hash).toBe(hashOf(files, { Dockerfile: BUSYBOX }, [['BUILD_COMMIT_SHA', 'c0ffee'], ['GREETING', 'hi']]));
    expect(withSha!.tag).toBe(withSha!.hash.slice(0, 16));
    const [noSha] = await one({});
    expect(noSha!.commitSha).toBeUndefined();
    expect(noSha!.hash).toBe(hashOf(files, { Dockerfile: BUSYBOX }, [['GREETING', 'hi']]));
    // A --build-arg BUILD_COMMIT_SHA wins over the commit.
    const [mine] = await one({ commitSha: 'c0ffee', buildArgs: { BUILD_COMMIT_SHA: 'mine' } });
    expect(mine!.hash).toBe(hashOf(files, { Dockerfile: BUSYBOX }, [['BUILD_COMMIT_SHA', 'mine']]));
    // An image that does not declare it gets no commit, and the same hash.
    const a = (await plan({ names: ['basic-x'], commitSha: 'c0ffee' })).images[0]!;
    expect('commitSha' in a).toBe(false);
    expect(a.hash).toBe((await plan({ names: ['basic-x'] })).images[0]!.hash);
  });

  test('a Dockerfile.<arch> uses its own <Dockerfile>.dockerignore; two ignore files hash the context once per file, labelled', async () => {
    const df = 'FROM scratch\n';
    const solo = (await plan({ names: ['basic-x'] })).images[0]!;
    expect(solo.hash).toBe(hashOf([['Dockerfile.amd64', df], ['Dockerfile.amd64.dockerignore', 'junk\n']], { 'Dockerfile.amd64': df }, []));
    const duo = (await plan({ names: ['duo'], defaultPlatforms: [amd64, arm64] })).images[0]!;
    expect(duo.platforms.map((p) => `${formatPlatform(p.platform)}:${p.source.file}`)).toEqual(['linux/amd64:Dockerfile.amd64', 'linux/arm64:Dockerfile.arm64']);
    const arm = 'FROM scratch\nCOPY junk /junk\n';
    const ctx: [string, string][] = [['Dockerfile.amd64', df], ['Dockerfile.amd64.dockerignore', 'junk\n'], ['Dockerfile.arm64', arm]];
    expect(duo.hash).toBe(hashOf([...ctx.map(([p, t]): [string, string] => [`.dockerignore//${p}`, t]), ['.dockerignore//junk', 'j'], ...ctx.map(([p, t]): [string, string] => [`Dockerfile.amd64.dockerignore//${p}`, t])], { 'Dockerfile.amd64': df, 'Dockerfile.arm64': arm }, []));
  });

  test('local images by name or by their name at a target registry are dependencies (FROM, COPY --from, RUN --mount from), the image\'s own release is not', async () => {
    const withTargets = await plan({ names: ['app'], targets: ['reg.example/team/'] });
    expect(withTargets.images.map((i) => `${i.name}${i.wanted ? '' : ' (base)'}`)).toEqual(['base (base)', 'zbase (base)', 'app']);
    const app = withTargets.images[2]!;
    expect(app.deps).toEqual(['base', 'zbase']);
    expect(app.aliases).toEqual({ base: 'base', 'reg.example/team/zbase:v1': 'zbase' });
    const without = await plan({ names: ['app'] });
    expect(without.images.map((i) => i.name)).toEqual(['base', 'app']);
    expect(without.images[1]!.aliases).toEqual({ base: 'base' });
  });

  test('a FROM through TARGETARCH depends on the base for the platform built', async () => {
    const p = await plan({ names: ['multi'], platforms: [arm64] });
    expect(p.images.map((i) => i.name)).toEqual(['arm64-base', 'multi']);
    expect(p.images[1]!.deps).toEqual(['arm64-base']);
    expect(p.images[1]!.notes).toEqual([]);
  });

  test('variants: one image per variant, tag suffixed; variants.yaml is outside each hash; a variant image that is a base is built plain too', async () => {
    const p = await plan({ names: ['onvv', 'vv'] });
    expect(p.images.map((i) => `${i.name}${i.variant ? `-${i.variant.name}` : ''}${i.wanted ? '' : ' (base)'}`)).toEqual(['vv (base)', 'vv-full', 'vv-slim', 'onvv']);
    const files: [string, string][] = [['Dockerfile', VV], ['hello', 'hi\n']];
    const [plain, full, slim, onvv] = p.images;
    expect(plain!.hash).toBe(hashOf(files, { Dockerfile: VV }, []));
    expect(slim!.hash).toBe(hashOf(files, { Dockerfile: VV }, [['FLAVOR', 'slim']], 'slim'));
    expect(slim!.tag).toBe(`${slim!.hash.slice(0, 16)}-slim`);
    expect(full!.buildArgs).toEqual({ FLAVOR: 'full' });
    expect(onvv!.hash).toBe(hashOf([['Dockerfile', 'FROM vv\n']], { Dockerfile: 'FROM vv\n' }, [], '', [['vv', plain!.hash]]));
    // Without a dependant, only the variants.
    expect((await plan({ names: ['vv'] })).images.map((i) => i.variant?.name)).toEqual(['full', 'slim']);
    // --variant picks one among the images asked for that have variants.
    expect((await plan({ names: ['base', 'vv'], variant: 'slim' })).images.map((i) => `${i.name}${i.variant ? `-${i.variant.name}` : ''}`)).toEqual(['base', 'vv-slim']);
    expect(await usage(plan({ names: ['base'], variant: 'slim' }))).toEqual({ code: 'NOT_FOUND', exitCode: 2, message: '--variant slim: none of base has a variants.yaml' });
    expect(await usage(plan({ names: ['vv'], variant: 'huge' }))).toEqual({ code: 'NOT_FOUND', exitCode: 2, message: 'vv: no variant "huge" in variants.yaml (it has: full, slim)' });
  });

  test('what build_binaries writes (bin/) is outside the hash; its sources are not', async () => {
    const hash = async () => (await plan({ names: ['bb'] })).images[0]!.hash;
    const h0 = await hash();
    await at('bb/bin/tool', 'v2');
    expect(await hash()).toBe(h0);
    await at('bb/main.go', 'package main // changed\n');
    expect(await hash()).not.toBe(h0);
  });

  test('berth.yaml\'s images.builds: its platforms and build args (under --build-arg) apply', async () => {
    const all = await applyBuilds(await readImagesRoot(tree), [{ name: 'base', platforms: ['linux/arm64'] }, { name: 'basic/busybox', buildArgs: { GREETING: 'hola', OTHER: 'o' } }], tree);
    const p = await planImages({ all, names: ['base', 'basic/busybox'], platforms: [], defaultPlatforms: [amd64], buildArgs: { GREETING: 'hi' }, hostPlatform: amd64 });
    expect(p.images.map((i) => `${i.name}: ${i.platforms.map((x) => formatPlatform(x.platform)).join(' ')}`)).toEqual(['base: linux/arm64', 'basic/busybox: linux/amd64']);
    expect(p.images[1]!.buildArgs).toEqual({ GREETING: 'hi', OTHER: 'o' });
    expect(p.images[1]!.hash).toBe(hashOf([['Dockerfile', BUSYBOX], ['hello', 'hi\n']], { Dockerfile: BUSYBOX }, [['GREETING', 'hi']]));
    // --platform: each image must build it, and nothing is left out.
    const q = await plan({ names: ['base'], platforms: [arm64], defaultPlatforms: [amd64] });
    expect(q.images[0]!.platforms.map((x) => formatPlatform(x.platform))).toEqual(['linux/arm64']);
    expect(q.images[0]!.notes).toEqual([]);
  });

  test('kyma: an images.builds Dockerfile under cmd/ built from the repository root; its variants.yaml is outside each variant\'s hash', async () => {
    const { dir: repo, cleanup } = await tempDir('berth-images-kyma-');
    try {
      await mkdir(join(repo, 'cmd', 'x'), { recursive: true });
      await writeFile(join(repo, 'cmd', 'x', 'Dockerfile'), 'ARG FLAVOR\nFROM scratch\nCOPY main.go /main.go\n');
      await writeFile(join(repo, 'main.go'), 'package main\n');
      const yaml = (full: string) => writeFile(join(repo, 'cmd', 'x', 'variants.yaml'), `slim:\n  FLAVOR: slim\nfull:\n  FLAVOR: ${full}\n`);
      await yaml('full');
      const slim = async () => {
        const all = await applyBuilds([], [{ name: 'x', dockerfile: 'cmd/x/Dockerfile', context: '.' }], repo);
        const p = await planImages({ all, names: [], platforms: [], buildArgs: {}, hostPlatform: amd64 });
        expect(p.images.map((i) => `${i.name}-${i.variant?.name}`)).toEqual(['x-full', 'x-slim']);
        return p.images[1]!.hash;
      };
      const h0 = await slim();
      await yaml('fuller');
      expect(await slim()).toBe(h0);
      await writeFile(join(repo, 'main.go'), 'package main // changed\n');
      expect(await slim()).not.toBe(h0);
    } finally {
      await cleanup();
    }
  });

  test('upstream images: an ImageSource is taken by digest, and the digest is in the hash with the folder\'s files', async () => {
    const registry = await startRegistry();
    const registries = new Registries({});
    try {
      const digest = await publishIndex(registries, registry.host, 'up/multi', 'v1', [memImage('linux/amd64', 'multi'), memImage('linux/arm64', 'multi')]);
      const src = `${registry.host}/up/multi:v1\n`;
      await at('src-only/ImageSource', src);
      await at('src-only/.dockerignore', 'notes\n');
      await at('src-only/notes', 'n');
      await at('src-only/README', 'r');
      await at('mixed/Dockerfile', 'FROM scratch\n');
      await at('mixed/Dockerfile.dockerignore', 'junk\n');
      await at('mixed/junk', 'j');
      await at('mixed/ImageSource.arm64', src);
      const p = await plan({ names: ['src-only', 'mixed'], defaultPlatforms: [amd64, arm64], registries });
      const [mixed, only] = p.images;
      expect(only!.platforms.map((x) => `${formatPlatform(x.platform)} ${x.taken!.image.digest}`)).toEqual([`linux/amd64 ${memImage('linux/amd64', 'multi').digest}`, `linux/arm64 ${memImage('linux/arm64', 'multi').digest}`]);
      expect(only!.resolved).toEqual([`ImageSource: ${registry.host}/up/multi:v1@${digest}`]);
      expect(only!.hash).toBe(hashOf([['.dockerignore', 'notes\n'], ['ImageSource', src], ['README', 'r']], {}, [], '', [], [['ImageSource', digest]]));
      expect(mixed!.platforms.map((x) => `${formatPlatform(x.platform)}:${x.source.file}`)).toEqual(['linux/amd64:Dockerfile', 'linux/arm64:ImageSource.arm64']);
      expect(mixed!.hash).toBe(hashOf([['Dockerfile', 'FROM scratch\n'], ['Dockerfile.dockerignore', 'junk\n'], ['ImageSource.arm64', src]], { Dockerfile: 'FROM scratch\n' }, [], '', [], [['ImageSource.arm64', digest]]));
      const err = await plan({ names: ['src-only'], platforms: [parsePlatform('linux/s390x')], registries }).then(() => undefined, (e: unknown) => e);
      expect(String(err)).toContain(`src-only/ImageSource (${registry.host}/up/multi:v1)`);
    } finally {
      registries.close();
      await registry.stop();
      await rm(join(tree, 'src-only'), { recursive: true });
      await rm(join(tree, 'mixed'), { recursive: true });
    }
  });

  test('bad folders are usage errors (exit 2) naming the file', async () => {
    expect(await usage(plan({ names: ['up'] }))).toEqual({ code: 'BAD_FLAG', exitCode: 2, message: 'up/ImageSource: an ImageSource needs registry access' });
    const { dir: bad, cleanup } = await tempDir('berth-images-bad-');
    try {
      await mkdir(join(bad, 'x', 'build_binaries'), { recursive: true });
      await writeFile(join(bad, 'x', 'Dockerfile'), 'FROM scratch\n');
      expect(await usage(readImageFolder(bad, 'x'))).toEqual({ code: 'BAD_IMAGE_FOLDER', exitCode: 2, message: `${join(bad, 'x', 'build_binaries')}: not an executable file; chmod +x it` });
      await mkdir(join(bad, 'Up', 'low'), { recursive: true });
      await writeFile(join(bad, 'Up', 'low', 'Dockerfile'), 'FROM scratch\n');
      expect(await usage(readImageFolder(bad, 'Up/low'))).toEqual({ code: 'BAD_IMAGE_FOLDER', exitCode: 2, message: `${join(bad, 'Up', 'low')}: "Up/low" cannot name an image (lower-case letters, digits, '.', '_', '-' per path segment)` });
      await mkdir(join(bad, 'y'));
      await writeFile(join(bad, 'y', 'Dockerfile'), 'FROM scratch\nFROMM x\n');
      const err = await plan({ all: [(await readImageFolder(bad, 'y'))!] }).then(() => undefined, (e: unknown) => e);
      expect(String(err)).toContain('y/Dockerfile:2');
      // A folder with no image at all.
      await rm(bad, { recursive: true, force: true });
      await mkdir(bad);
      expect(await usage(planImages({ all: await readImagesRoot(bad), names: [], platforms: [], buildArgs: {}, hostPlatform: amd64 }))).toEqual({ code: 'NOT_FOUND', exitCode: 2, message: 'the image folder holds no image (a folder with a Dockerfile or an ImageSource)' });
    } finally {
      await cleanup();
    }
  });
});
