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
import { memImage, publishIndex } from './mem-image.js';
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
  return { images: [imageOf(name, tag, platforms)], wanted: [name] };
}

function imageOf(name: string, tag: string, platforms: string[], over: Partial<PlannedImage> = {}): PlannedImage {
  return {
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
    ...over,
  };
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

describe('what a push publishes, skips and reports', () => {
  const signer = (status: 'added' | 'present'): ImageSigner => ({
    name: 'svc',
    type: 'notary',
    description: 'notary svc (https://sign.example)',
    signImages: async (targets) => targets.map(() => ({ signer: 'svc', type: 'notary', status, where: 'https://sign.example' })),
  });

  test('no registry to push to: the usage error, nothing asked of a registry', async () => {
    await expect(publishImages(planned('none', 'h6', ['linux/amd64']), options([], { targets: [] }))).rejects.toThrow(
      'no registry to push to: give --registry, or set images.registry (or images.registries by job type) in berth.yaml',
    );
  });

  test('a bad registry prefix: the reference error naming the registry, before any image is pushed', async () => {
    await expect(publishImages(planned('badt', 'h7', ['linux/amd64']), options([], { targets: ['Bad Host/x'] }))).rejects.toThrow(
      new Error('registry Bad Host/x: "Bad Host/x/badt:h7" is not a valid image reference: "Bad Host" is not a registry host'),
    );
  });

  test('only wanted images are pushed; the report has each one\'s repositories, tags, size, built, pull repositories', async () => {
    const asked: string[][] = [];
    const plan: ImagesPlan = { images: [imageOf('base0', 'h8', ['linux/amd64'], { wanted: false }), imageOf('top0', 'h8', ['linux/amd64'])], wanted: ['top0'] };
    const seen: string[] = [];
    const out = await publishImages(plan, options(asked, { onOutcome: (o) => seen.push(o.name), pull: (r) => r.replace(registry.host, 'pull.example') }));
    expect(out.map((o) => o.name)).toEqual(['top0']);
    expect(seen).toEqual(['top0']);
    expect(asked).toEqual([['linux/amd64']]);
    expect(await headDigest('unit/base0', 'h8')).toBeUndefined();
    const head = await registries.client(registry.host).headManifest('unit/top0', 'h8');
    expect(out[0]).toEqual({
      name: 'top0',
      contentHash: 'h8'.padEnd(64, '0'),
      repositories: [`${registry.host}/unit/top0`],
      pullRepositories: ['pull.example/unit/top0'],
      digest: head!.digest,
      size: head!.size,
      platforms: ['linux/amd64'],
      added: ['linux/amd64'],
      built: [],
      tags: ['h8', 'latest'],
      status: 'published',
      signed: false,
    });
    // Again: up to date, the same digest and size, still not signed.
    const [again] = await publishImages(plan, options(asked, { registries: new Registries({}) }));
    expect(again).toMatchObject({ status: 'up-to-date', digest: head!.digest, size: head!.size, signed: false, added: [], built: [], platforms: ['linux/amd64'] });
    expect(again!.pullRepositories).toBeUndefined();
  });

  test('a push without berth\'s manifest cache publishes too', async () => {
    const [o] = await publishImages(planned('nocache', 'h9', ['linux/amd64', 'linux/arm64']), options([], { registries: new Registries({}) }));
    expect(o).toMatchObject({ status: 'published' });
    expect(await headDigest('unit/nocache', 'latest')).toBe(o!.digest);
  });

  test('one image failing: those built FROM it are skipped, one with no platform is skipped without failing the push, the others go on', async () => {
    const asked: string[][] = [];
    const plan: ImagesPlan = {
      images: [
        imageOf('brk', 'h10', ['linux/amd64']),
        imageOf('child', 'h10', ['linux/amd64'], { deps: ['brk'] }),
        imageOf('grandchild', 'h10', ['linux/amd64'], { deps: ['child'] }),
        imageOf('ok', 'h10', ['linux/amd64']),
        imageOf('noplat', 'h10', [], { notes: ['linux/s390x: not in the base'] }),
      ],
      wanted: ['brk', 'child', 'grandchild', 'ok', 'noplat'],
    };
    const base = options(asked);
    const err = (await publishImages(plan, {
      ...base,
      build: async (image, ps) => {
        if (image.name === 'brk') throw new Error('RUN make: exit 2');
        return base.build(image, ps);
      },
    }).catch((e: unknown) => e)) as Error & { outcomes: { name: string; status: string; error?: string; platforms: string[]; added: string[] }[] };
    expect(err.message).toBe('3 of 5 images not published (brk, child, grandchild); brk: RUN make: exit 2');
    expect(err.outcomes.map((o) => [o.name, o.status, o.error])).toEqual([
      ['brk', 'failed', 'RUN make: exit 2'],
      ['child', 'skipped', 'not built: its base brk failed'],
      ['grandchild', 'skipped', 'not built: its base child failed'],
      ['ok', 'published', undefined],
      ['noplat', 'skipped', 'no platform to build: linux/s390x: not in the base'],
    ]);
    expect(err.outcomes[1]).toMatchObject({ platforms: [], added: [] });
    expect(asked).toEqual([['linux/amd64']]); // ok's only
    expect(await headDigest('unit/child', 'h10')).toBeUndefined();
    expect(await headDigest('unit/ok', 'h10')).toMatch(/^sha256:/);

    // Only the image with no platform skipped: the push succeeds.
    const fine = await publishImages({ images: [imageOf('noplat', 'h10', [], { notes: ['none'] })], wanted: ['noplat'] }, options([]));
    expect(fine).toMatchObject([{ status: 'skipped', error: 'no platform to build: none', platforms: [], added: [] }]);
  });

  test('a variant skipped because its base failed is counted among the images not published', async () => {
    const plan: ImagesPlan = {
      images: [imageOf('vbrk', 'h17', ['linux/amd64']), imageOf('vchild', 'h17', ['linux/amd64'], { deps: ['vbrk'], variant: { name: 'slim', buildArgs: {} } })],
      wanted: ['vbrk', 'vchild'],
    };
    const err = (await publishImages(plan, options([], { build: async () => { throw new Error('RUN make: exit 2'); } })).catch((e: unknown) => e)) as Error & { outcomes: { name: string; status: string; error?: string }[] };
    expect(err.message).toBe('2 of 2 images not published (vbrk, vchild-slim); vbrk: RUN make: exit 2');
    expect(err.outcomes.map((o) => [o.name, o.status, o.error])).toEqual([
      ['vbrk', 'failed', 'RUN make: exit 2'],
      ['vchild-slim', 'skipped', 'not built: its base vbrk failed'],
    ]);
  });

  test('a signature that was there already counts as signed by this run', async () => {
    const signer: ImageSigner = {
      name: 'svc',
      type: 'notary',
      description: 'notary svc (https://sign.example)',
      signImages: async (targets) => targets.map(() => ({ signer: 'svc', type: 'notary', status: 'present' as const, where: 'https://sign.example' })),
    };
    const [o] = await publishImages(planned('sigp', 'h18', ['linux/amd64']), options([], { sign: { signers: [signer], recursive: false } }));
    expect(o).toMatchObject({ status: 'published', signed: true, signedBy: 'this run', signatures: ['signed by svc (notary)'] });
  });

  test('a tag added to an up-to-date image: pointed at its digest, nothing rebuilt; the dry run names it first', async () => {
    const asked: string[][] = [];
    const [first] = await publishImages(planned('retag', 'h11', ['linux/amd64', 'linux/arm64']), options(asked));
    const dry = await publishImages(planned('retag', 'h11', ['linux/amd64', 'linux/arm64']), options(asked, { tags: () => ['latest', 'v2'], dryRun: true }));
    expect(dry[0]).toMatchObject({ status: 'planned', digest: first!.digest, wouldTag: [`${registry.host}/unit/retag:v2`] });
    expect(await headDigest('unit/retag', 'v2')).toBeUndefined();
    const [o] = await publishImages(planned('retag', 'h11', ['linux/amd64', 'linux/arm64']), options(asked, { tags: () => ['latest', 'v2'] }));
    expect(asked).toEqual([['linux/amd64', 'linux/arm64']]);
    expect(o).toMatchObject({ status: 'published', digest: first!.digest, added: [] });
    expect(await headDigest('unit/retag', 'v2')).toBe(first!.digest);
  });

  test('the dry run of a new image lists every repository:tag, per-arch ones too (named by images.arch-suffix), and touches nothing', async () => {
    const t = `${registry.host}/unit`;
    const [plain] = await publishImages(planned('drynew', 'h12', ['linux/amd64', 'linux/arm64']), options([], { dryRun: true }));
    expect(plain).toMatchObject({ status: 'planned', added: ['linux/amd64', 'linux/arm64'], wouldTag: [`${t}/drynew:h12`, `${t}/drynew:latest`] });
    expect(plain!.wouldSign).toBeUndefined();
    const [arch] = await publishImages(planned('drynew', 'h12', ['linux/amd64', 'linux/arm64']), options([], { dryRun: true, archSuffix: (n, p) => `${n}_${p.architecture}` }));
    expect(arch!.wouldTag).toEqual([`${t}/drynew:h12`, `${t}/drynew:latest`, `${t}/drynew_amd64:h12`, `${t}/drynew_amd64:latest`, `${t}/drynew_arm64:h12`, `${t}/drynew_arm64:latest`]);
    expect(await headDigest('unit/drynew', 'h12')).toBeUndefined();
  });

  test('a dry run with a signer names the repositories it would sign in; a real one signs and says by whom', async () => {
    const two = { targets: [`${registry.host}/unit`, `${registry.host}/other`] };
    const [dry] = await publishImages(planned('sig', 'h13', ['linux/amd64']), options([], { ...two, dryRun: true, sign: { signers: [signer('added')], recursive: false } }));
    expect(dry).toMatchObject({ status: 'planned', wouldSign: [`${registry.host}/unit/sig`, `${registry.host}/other/sig`], signed: false });
    const [o] = await publishImages(planned('sig', 'h13', ['linux/amd64']), options([], { ...two, sign: { signers: [signer('added')], recursive: false } }));
    expect(o).toMatchObject({ status: 'published', signed: true, signedBy: 'this run', signatures: ['signed by svc (notary)', 'signed by svc (notary)'] });
    expect(o!.wouldSign).toBeUndefined();
    // Up to date: no dry-run list, and whether it is signed is asked of each repository.
    const [up] = await publishImages(planned('sig', 'h13', ['linux/amd64']), options([], { ...two, dryRun: true, sign: { signers: [signer('added')], recursive: false } }));
    expect(up).toMatchObject({ status: 'up-to-date' });
    expect(up!.wouldSign).toBeUndefined();
  });

  test('an up-to-date image is "signed before" only when every repository holds a signature', async () => {
    const two = { targets: [`${registry.host}/unit`, `${registry.host}/other`] };
    await publishImages(planned('sigb', 'h14', ['linux/amd64']), options([], two));
    const digest = (await headDigest('unit/sigb', 'h14'))!;
    const sign = { signers: [signer('added')], recursive: false };
    const calls: string[] = [];
    const run = (signedBefore: (r: string, d: string) => Promise<boolean>, over: Partial<PublishOptions> = {}) =>
      publishImages(planned('sigb', 'h14', ['linux/amd64']), options([], { ...two, sign, signedBefore, ...over }));
    const [all] = await run(async (r, d) => (calls.push(`${r}@${d}`), true));
    expect(all).toMatchObject({ status: 'up-to-date', signed: true, signedBy: 'before' });
    expect(calls).toEqual([`${registry.host}/unit/sigb@${digest}`, `${registry.host}/other/sigb@${digest}`]);
    const [one] = await run(async (r) => r.includes('/unit/'));
    expect(one).toMatchObject({ status: 'up-to-date', signed: false });
    const [broken] = await run(async () => { throw new Error('registry down'); });
    expect(broken).toMatchObject({ status: 'up-to-date', signed: false });
    // No signer: not asked.
    const none: string[] = [];
    const [unsigned] = await run(async (r) => (none.push(r), true), { sign: { signers: [], recursive: false } });
    expect(unsigned).toMatchObject({ status: 'up-to-date', signed: false });
    expect(none).toEqual([]);
    // A dry run with something to do: not asked either.
    const [dry] = await run(async (r) => (none.push(r), true), { dryRun: true, tags: () => ['v9'] });
    expect(dry).toMatchObject({ status: 'planned', signed: false });
    expect(none).toEqual([]);
  });

  test('by default "signed before" is cosign\'s signature tag sha256-<hex>.sig in the repository', async () => {
    await publishImages(planned('cos', 'h15', ['linux/amd64']), options([]));
    const client = registries.client(registry.host);
    const digest = (await headDigest('unit/cos', 'h15'))!;
    const sign = { signers: [signer('added')], recursive: false };
    const [before] = await publishImages(planned('cos', 'h15', ['linux/amd64']), options([], { sign }));
    expect(before).toMatchObject({ status: 'up-to-date', signed: false });
    // Any manifest under the tag will do for the check: the image's own.
    const src = await client.getManifest('unit/cos', digest);
    await client.putManifest('unit/cos', `${digest.replace(':', '-')}.sig`, { mediaType: src.mediaType, raw: src.raw, digest: src.digest });
    const [after] = await publishImages(planned('cos', 'h15', ['linux/amd64']), options([], { sign }));
    expect(after).toMatchObject({ status: 'up-to-date', signed: true, signedBy: 'before' });
  });
});

describe('an image the registry holds as one platform manifest (no index)', () => {
  test('up to date: its digest and manifest size; per-arch repositories turned on later get that manifest', async () => {
    const client = registries.client(registry.host);
    const img = memImage('linux/arm64', 'single');
    await publishIndex(registries, `${registry.host}/unit`, 'single', 'index', [img]);
    // The tag names the platform's manifest itself, as `berth push` of a one-platform image does.
    await client.putManifest('unit/single', 'h16', { mediaType: img.mediaType, raw: img.manifestRaw, digest: img.digest });
    const asked: string[][] = [];
    const plan = () => planned('single', 'h16', ['linux/arm64']);
    const [up] = await publishImages(plan(), options(asked, { tags: () => [] }));
    expect(up).toMatchObject({ status: 'up-to-date', digest: img.digest, size: img.manifestRaw.length, platforms: ['linux/arm64'] });
    const [dry] = await publishImages(plan(), options(asked, { tags: () => [], archSuffix: true, dryRun: true }));
    expect(dry).toMatchObject({ status: 'planned', wouldTag: [`${registry.host}/unit/single-arm64:h16`] });
    const [o] = await publishImages(plan(), options(asked, { tags: () => [], archSuffix: true }));
    expect(o).toMatchObject({ status: 'published', added: [] });
    expect(asked).toEqual([]);
    expect(await headDigest('unit/single-arm64', 'h16')).toBe(img.digest);
  });
});
