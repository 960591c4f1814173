/**
 * src/folders/publish.ts in process, against the real registry: what a push adds to an image
 * the registry already holds part of, and the per-arch repositories of an up-to-date image.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import { Registries } from '../../src/registry/pool.js';
import { publishImages, type PublishOptions } from '../../src/folders/publish.js';
import { presence } from '../../src/folders/presence.js';
import { parseReference } from '../../src/oci/reference.js';
import type { ImagesPlan, PlannedImage, PlannedPlatform } from '../../src/folders/folder-plan.js';
import type { ImageFolder } from '../../src/folders/folder.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tools.js';
import { memImage } from './mem-image.js';
import type { ImageSigner } from '../../src/sign/signer.js';

let registry: TestRegistry;
let dir: string;
let cleanup: () => Promise<void>;
let registries: Registries;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-publish-unit-'));
  registry = await startRegistry();
  // With a cache folder: presence() answers from berth's manifest cache (the memoized path).
  registries = new Registries({ cacheDir: join(dir, 'cache') });
});
afterAll(async () => {
  registries?.close();
  await registry?.stop();
  await cleanup?.();
});

const folder = (name: string): ImageFolder => ({ name, dir, context: dir, sources: [{ kind: 'dockerfile', file: 'Dockerfile' }], variants: [] });

function planned(name: string, tag: string, platforms: string[]): ImagesPlan {
  const image: PlannedImage = {
    name,
    wanted: true,
    folder: folder(name),
    hash: tag.padEnd(64, '0'),
    tag,
    buildArgs: {},
    deps: [],
    aliases: {},
    platforms: platforms.map((p) => ({ platform: parsePlatform(p), source: { kind: 'dockerfile', file: 'Dockerfile' } })),
    notes: [],
    resolved: [],
  };
  return { images: [image], wanted: [name] };
}

/** Options whose build makes in-memory images and records which platforms it was asked for. */
function options(asked: string[][], over: Partial<PublishOptions> = {}): PublishOptions {
  return {
    registries,
    targets: [`${registry.host}/unit`],
    tags: () => ['latest'],
    format: 'oci',
    build: async (image: PlannedImage, ps: readonly PlannedPlatform[]) => {
      asked.push(ps.map((p) => formatPlatform(p.platform)));
      return ps.map((p) => memImage(formatPlatform(p.platform), image.name));
    },
    ...over,
  };
}

/** The platform → manifest digest of what `ref` names at the registry. */
async function platformsAt(ref: string): Promise<Record<string, string>> {
  const have = await presence(new Registries({}), parseReference(ref));
  if (have.artifact?.kind !== 'index') return have.digest ? { [formatPlatform(have.platforms[0]!)]: have.digest } : {};
  return Object.fromEntries(have.artifact.index.manifests.map((d) => [formatPlatform(d.platform!), d.digest]));
}

const headDigest = async (repo: string, tag: string) => (await registries.client(registry.host).headManifest(repo, tag))?.digest;

describe('a push of an image the registry holds part of', () => {
  test('adds only the platform the registry lacks, keeps the others byte for byte, then is a no-op', async () => {
    const asked: string[][] = [];
    const [first] = await publishImages(planned('grow', 'h1', ['linux/amd64']), options(asked));
    expect(first).toMatchObject({ status: 'published', added: ['linux/amd64'], platforms: ['linux/amd64'] });
    const before = await platformsAt(`${registry.host}/unit/grow:h1`);
    expect(Object.keys(before)).toEqual(['linux/amd64']);

    // Same content hash, one platform more: the index the tag names is in the manifest cache.
    const [second] = await publishImages(planned('grow', 'h1', ['linux/amd64', 'linux/arm64']), options(asked));
    expect(asked).toEqual([['linux/amd64'], ['linux/arm64']]);
    expect(second).toMatchObject({ status: 'published', added: ['linux/arm64'] });
    const after = await platformsAt(`${registry.host}/unit/grow:h1`);
    expect(Object.keys(after).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(after['linux/amd64']).toBe(before['linux/amd64']);
    expect(after['linux/arm64']).toBe(memImage('linux/arm64', 'grow').digest);
    expect(second!.digest).toBe(await headDigest('unit/grow', 'h1'));
    expect(await headDigest('unit/grow', 'latest')).toBe(second!.digest);

    const [third] = await publishImages(planned('grow', 'h1', ['linux/amd64', 'linux/arm64']), options(asked));
    expect(asked).toHaveLength(2);
    expect(third).toMatchObject({ status: 'up-to-date', digest: second!.digest, added: [] });
  });

  test('the dry run of that push names the platform it would add and writes nothing', async () => {
    const asked: string[][] = [];
    await publishImages(planned('dry', 'h2', ['linux/amd64']), options(asked));
    const digest = await headDigest('unit/dry', 'h2');
    const [o] = await publishImages(planned('dry', 'h2', ['linux/amd64', 'linux/arm64']), options(asked, { dryRun: true }));
    expect(asked).toEqual([['linux/amd64']]);
    expect(o).toMatchObject({ status: 'planned', added: ['linux/arm64'] });
    expect(o!.platforms.sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(await headDigest('unit/dry', 'h2')).toBe(digest);
  });
});

describe('per-arch repositories (--arch-suffixed-repos, images.arch-suffix) for an image already pushed', () => {
  test('turned on later, a push writes NAME-ARCH:TAG for every platform and tag; the dry run lists them first; then a no-op', async () => {
    const asked: string[][] = [];
    const plan = () => planned('late', 'h3', ['linux/amd64', 'linux/arm64']);
    const [first] = await publishImages(plan(), options(asked));
    expect(await headDigest('unit/late-amd64', 'h3')).toBeUndefined();

    const dry = await publishImages(plan(), options(asked, { archSuffix: true, dryRun: true }));
    const want = ['late-amd64', 'late-arm64'].flatMap((r) => ['h3', 'latest'].map((t) => `${registry.host}/unit/${r}:${t}`));
    expect(dry[0]).toMatchObject({ status: 'planned' });
    expect([...dry[0]!.wouldTag!].sort()).toEqual(want);
    expect(await headDigest('unit/late-amd64', 'h3')).toBeUndefined();

    const [o] = await publishImages(plan(), options(asked, { archSuffix: true }));
    expect(asked).toEqual([['linux/amd64', 'linux/arm64']]); // nothing rebuilt
    expect(o).toMatchObject({ status: 'published', digest: first!.digest, added: [] });
    const at = await platformsAt(`${registry.host}/unit/late:h3`);
    for (const [arch, p] of [['amd64', 'linux/amd64'], ['arm64', 'linux/arm64']] as const) {
      for (const t of ['h3', 'latest']) expect(await headDigest(`unit/late-${arch}`, t)).toBe(at[p]);
    }

    const [again] = await publishImages(plan(), options(asked, { archSuffix: true }));
    expect(again).toMatchObject({ status: 'up-to-date' });
    const dryAgain = await publishImages(plan(), options(asked, { archSuffix: true, dryRun: true }));
    expect(dryAgain[0]).toMatchObject({ status: 'up-to-date' });
  });

  test("gVisor's spelling (images.arch-suffix `_{{ .UnameArch }}`) for an up-to-date image", async () => {
    const asked: string[][] = [];
    const uname: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };
    const archSuffix = (name: string, p: { architecture: string }) => `${name}_${uname[p.architecture]}`;
    const plan = () => planned('gv', 'h4', ['linux/amd64', 'linux/arm64']);
    await publishImages(plan(), options(asked, { tags: () => [] }));
    const [o] = await publishImages(plan(), options(asked, { tags: () => [], archSuffix }));
    expect(o).toMatchObject({ status: 'published' });
    const at = await platformsAt(`${registry.host}/unit/gv:h4`);
    expect(await headDigest('unit/gv_x86_64', 'h4')).toBe(at['linux/amd64']);
    expect(await headDigest('unit/gv_aarch64', 'h4')).toBe(at['linux/arm64']);
    expect(await headDigest('unit/gv-amd64', 'h4')).toBeUndefined();
  });
});

describe('what a push says of its signatures', () => {
  test('a signer that skipped every image (as notary does an image named by digest) is not "signed"', async () => {
    const skipping: ImageSigner = {
      name: 'svc',
      type: 'notary',
      description: 'notary svc (https://sign.example)',
      signImages: async (targets) => targets.map(() => ({ signer: 'svc', type: 'notary', status: 'skipped' as const, where: 'https://sign.example', reason: 'named by digest only' })),
    };
    const [o] = await publishImages(planned('skip', 'h5', ['linux/amd64']), options([], { sign: { signers: [skipping], recursive: false } }));
    expect(o).toMatchObject({ status: 'published', signed: false });
    expect(o!.signedBy).toBeUndefined();
  });
});
