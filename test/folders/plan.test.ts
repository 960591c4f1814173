import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePlatform } from '../../src/oci/platform.js';
import { readImagesRoot } from '../../src/folders/folder.js';
import { planImages, type ImagesPlanInput } from '../../src/folders/folder-plan.js';
import { berthBin } from '../helpers/cli.js';
import { run, tempDir } from '../helpers/tools.js';

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
