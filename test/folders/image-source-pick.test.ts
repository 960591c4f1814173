/**
 * The per-platform pick from a multi-arch ImageSource (MicroShift's side-images), in process:
 * planImages reads the index the ImageSource names at the real registry and takes, for each
 * platform, that platform's manifest; an `ImageSource.<arch>` beside a general one wins for its
 * architecture. The builder hands exactly that image on.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import { Registries } from '../../src/registry/pool.js';
import { readImagesRoot } from '../../src/folders/folder.js';
import { planImages } from '../../src/folders/folder-plan.js';
import { imagesBuilder } from '../../src/folders/build-folder.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { memImage, publishIndex } from './mem-image.js';

let registry: TestRegistry;
let registries: Registries;
let root: string;
let cleanup: () => Promise<void>;
let multi: string;
let other: string;
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/ppc64le'];

async function put(path: string, text: string): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), text);
  await chmod(join(root, path), 0o644);
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-imagesource-'));
  registry = await startRegistry();
  registries = new Registries({});
  multi = await publishIndex(registries, registry.host, 'up/multi', 'v1', PLATFORMS.map((p) => memImage(p, 'multi')));
  other = await publishIndex(registries, registry.host, 'up/other', 'v2', [memImage('linux/arm64', 'other'), memImage('linux/amd64', 'other')]);
  // By tag, with a comment, as MicroShift writes them.
  await put('images/side/ImageSource', `# upstream side image\n${registry.host}/up/multi:v1\n`);
  await put('images/mixed/ImageSource', `${registry.host}/up/multi@${multi}\n`);
  await put('images/mixed/ImageSource.aarch64', `${registry.host}/up/other:v2\n`);
});
afterAll(async () => {
  registries?.close();
  await registry?.stop();
  await cleanup?.();
});

const plan = async (platforms: string[]) =>
  planImages({ all: await readImagesRoot(join(root, 'images')), names: [], platforms: platforms.map((p) => parsePlatform(p)), buildArgs: {}, hostPlatform: parsePlatform('linux/amd64'), registries });

describe('a multi-arch ImageSource', () => {
  test("each platform takes that platform's manifest of the index, by digest, in any order asked", async () => {
    for (const asked of [PLATFORMS, [...PLATFORMS].reverse(), ['linux/arm/v7']]) {
      const side = (await plan(asked)).images.find((i) => i.name === 'side')!;
      expect(side.platforms.map((p) => formatPlatform(p.platform))).toEqual(asked);
      for (const p of side.platforms) {
        expect(p.taken!.image.digest).toBe(memImage(formatPlatform(p.platform), 'multi').digest);
        expect(formatPlatform({ os: p.taken!.image.config.os, architecture: p.taken!.image.config.architecture, ...(p.taken!.image.config.variant ? { variant: p.taken!.image.config.variant } : {}) })).toBe(formatPlatform(p.platform));
        expect(p.taken!.ref.digest).toBe(multi);
      }
      expect(side.resolved).toEqual([`ImageSource: ${registry.host}/up/multi:v1@${multi}`]);
    }
  });

  test('an ImageSource.<arch> wins for its architecture; the general one serves the rest', async () => {
    const mixed = (await plan(['linux/amd64', 'linux/arm64', 'linux/ppc64le'])).images.find((i) => i.name === 'mixed')!;
    const picked = Object.fromEntries(mixed.platforms.map((p) => [formatPlatform(p.platform), [p.source.file, p.taken!.image.digest]]));
    expect(picked).toEqual({
      'linux/amd64': ['ImageSource', memImage('linux/amd64', 'multi').digest],
      'linux/arm64': ['ImageSource.aarch64', memImage('linux/arm64', 'other').digest],
      'linux/ppc64le': ['ImageSource', memImage('linux/ppc64le', 'multi').digest],
    });
    expect(mixed.platforms.find((p) => p.platform.architecture === 'arm64')!.taken!.ref.digest).toBe(other);
  });

  test('a platform the index lacks is refused, naming what it has', async () => {
    await expect(plan(['linux/s390x'])).rejects.toThrow(/has no image for linux\/s390x \(it has: .*linux\/amd64/);
  });

  test('the builder hands on the picked image for each platform, building nothing', async () => {
    const p = await plan(PLATFORMS);
    const side = p.images.find((i) => i.name === 'side')!;
    const { build, origins } = imagesBuilder(p, { jobs: 1, cacheDir: join(root, 'cache'), log: () => {} } as unknown as Parameters<typeof imagesBuilder>[1]);
    const images = await build(side, [...side.platforms].reverse());
    expect(images.map((i) => i.digest)).toEqual([...PLATFORMS].reverse().map((q) => memImage(q, 'multi').digest));
    expect([...origins.values()]).toEqual(['taken', 'taken', 'taken', 'taken']);
  });
});
