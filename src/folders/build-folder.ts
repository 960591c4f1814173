/**
 * Building an image folder's images through `berth build --dockerfile`'s builder: each image
 * for each platform asked for, its local bases first (for the same platform), each once per
 * run however many images need it. An image whose content hash and platform were built here
 * before (berth's cache folder, `images/`) or are in the registry under its hash tag is taken
 * from there, never rebuilt: a local base too, so `cli` is built FROM `base-image` pulled by
 * its hash. A local base reaches the Dockerfile under the reference the Dockerfile names it by
 * (`FROM base-image`, `FROM ${BASE_IMAGE_URL}:${BASE_IMAGE_TAG}`), in every engine; an
 * ImageSource platform is the image it names, by digest. `build_binaries` runs before an
 * image's first build for a platform, when needed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pLimit from 'p-limit';
import type { BaseSpec } from '../builder/build-image.js';
import { buildDockerfile, checkRunPlatforms } from '../builder/dockerfile-build.js';
import type { StepOptions } from '../builder/steps/index.js';
import type { EngineChoice } from '../builder/engines/engine.js';
import { OperationalError, withPrefix } from '../errors.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { formatReference, parseReference } from '../oci/reference.js';
import type { Registries } from '../registry/index.js';
import type { Image } from '../transport/image.js';
import { directoryFiles } from '../transport/layout-files.js';
import { readLayout } from '../transport/layout-read.js';
import type { RegistryOptions } from '../transport/registry.js';
import { selectImage } from '../transport/select.js';
import { runBuildBinaries } from './build-binaries.js';
import type { ImagesPlan, PlannedImage, PlannedPlatform } from './folder-plan.js';
import { presence, type Presence } from './presence.js';

/** How images are built, whatever the run. */
export interface BuildSettings {
  engine: EngineChoice;
  format: Format;
  compressionLevel: number;
  epoch: number;
  registry: RegistryOptions;
  /** Images built at once. */
  jobs: number;
  /** One line of output about `image` (a build's warnings, an engine's or build_binaries' output). */
  log: (image: string, line: string) => void;
  /** Step cache, secrets and RUN mounts for Dockerfiles with RUN. */
  steps?: StepOptions;
}

export interface ImagesBuildOptions extends BuildSettings {
  /** A scratch folder of the run (each build's layout is made under it). */
  work: string;
  cacheDir: string;
  /** Where images are taken from by their hash tag when there (`<registry>/<name>:<tag>`). */
  reuse?: { registry: string; registries: Registries };
  /**
   * The first failure stops every other build (`berth images build`: exit 1 at once, naming it).
   * `push` leaves it off: images independent of a failed one go on being built and published.
   */
  stopOthersOnFailure?: boolean;
}

/** Where one platform of an image came from in this run. */
export type Origin = 'built' | 'cache' | 'registry' | 'taken';

const platformKey = (p: Platform) => formatPlatform(p).replaceAll('/', '-');
export const keyOf = (i: Pick<PlannedImage, 'name' | 'variant'>) => (i.variant ? `${i.name}-${i.variant.name}` : i.name);

/** The folder of berth's cache holding an image's build for one platform: the content hash and what shapes the bytes. */
function cachedDir(cacheDir: string, image: PlannedImage, p: Platform, s: BuildSettings): string {
  const key = createHash('sha256').update(JSON.stringify([image.hash, s.format, s.compressionLevel, s.epoch])).digest('hex').slice(0, 40);
  return join(cacheDir, 'images', `${key}-${platformKey(p)}`);
}

interface Got {
  image: Image;
  /** How a Dockerfile FROM it reads it. */
  spec: BaseSpec;
  origin: Origin;
}

/** A builder for one plan: `build(image, platforms)` gives each platform's image, building what it needs first. */
export function imagesBuilder(plan: ImagesPlan, opts: ImagesBuildOptions): { build: (image: PlannedImage, platforms: readonly PlannedPlatform[]) => Promise<Image[]>; origins: Map<string, Origin> } {
  const memo = new Map<string, Promise<Got>>();
  const origins = new Map<string, Origin>();
  const asked = new Map<string, Promise<Presence>>();
  const limit = pLimit(Math.max(1, opts.jobs));
  // The first failure stops every other build (engines and build_binaries, whole process
  // trees); callers hear of it once all have stopped, so nothing still writes into the work
  // folder they then remove, and the error they get is that first one, not a "stopped".
  const stop = new AbortController();
  let firstError: unknown;
  const fail = (err: unknown) => {
    if (opts.stopOthersOnFailure && !stop.signal.aborted) {
      firstError = err;
      stop.abort();
    }
  };
  const settled = async () => {
    for (let n = -1; n !== memo.size; ) {
      n = memo.size;
      await Promise.allSettled([...memo.values()]);
    }
  };
  // How messages name a Dockerfile: from the current folder, as the user wrote the tree.
  const shown = (file: string) => (relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file));
  const plainOf = (name: string) => plan.images.find((i) => i.name === name && !i.variant) ?? plan.images.find((i) => i.name === name)!;

  const inRegistry = async (image: PlannedImage, p: Platform): Promise<Got | undefined> => {
    if (!opts.reuse) return undefined;
    const where = `${opts.reuse.registry}/${image.name}:${image.tag}`;
    let have = asked.get(where);
    if (!have) asked.set(where, (have = presence(opts.reuse.registries, parseReference(where, { what: 'registry' })).catch(() => ({ platforms: [] }))));
    const h = await have;
    if (!h.artifact || !h.platforms.some((x) => platformMatches(p, x))) return undefined;
    const img = await selectImage(h.artifact, p, where);
    const ref = parseReference(where, { what: 'registry' });
    return { image: img, spec: { kind: 'location', location: { kind: 'registry', ref: { ...ref, tag: undefined, digest: img.digest } } }, origin: 'registry' };
  };

  const one = (image: PlannedImage, p: PlannedPlatform): Promise<Got> => {
    const key = `${keyOf(image)}@${formatPlatform(p.platform)}`;
    let done = memo.get(key);
    if (done) return done;
    done = (async (): Promise<Got> => {
      if (p.taken) return { image: p.taken.image, spec: { kind: 'location', location: { kind: 'registry', ref: p.taken.ref } }, origin: 'taken' };
      const cached = cachedDir(opts.cacheDir, image, p.platform, opts);
      const fromCache = async (): Promise<Got> => ({
        image: await selectImage(await readLayout(directoryFiles(cached), platformKey(p.platform)), p.platform, `${keyOf(image)} ${formatPlatform(p.platform)}`),
        spec: { kind: 'location', location: { kind: 'layout', dir: cached, name: platformKey(p.platform) } },
        origin: 'cache',
      });
      if (existsSync(join(cached, 'index.json'))) return fromCache();
      const remote = await inRegistry(image, p.platform);
      if (remote) return remote;

      await runBuildBinaries(image.folder, p.platform, { cacheDir: opts.cacheDir, signal: stop.signal, log: (l) => opts.log(image.name, `build_binaries: ${l}`) });
      const knownImages: Record<string, BaseSpec> = {};
      for (const [ref, dep] of Object.entries(image.aliases)) {
        const base = plainOf(dep);
        const bp = base.platforms.find((x) => platformMatches(p.platform, x.platform)) ?? { platform: p.platform, source: base.platforms[0]?.source ?? { kind: 'dockerfile' as const, file: 'Dockerfile' } };
        knownImages[ref] = (await one(base, bp)).spec;
      }
      const dir = join(opts.work, `${keyOf(image).replaceAll('/', '_')}-${platformKey(p.platform)}`);
      const dockerfile = join(image.folder.dir, p.source.file);
      await limit(() => {
        if (stop.signal.aborted) throw new OperationalError('ENGINE_FAILED', `${keyOf(image)} ${formatPlatform(p.platform)}: not built, another build failed`);
        return buildDockerfile({
          dockerfile,
          dockerfileName: shown(dockerfile),
          signal: stop.signal,
          context: image.folder.context,
          platforms: [p.platform],
          buildArgs: image.buildArgs,
          contexts: {},
          knownImages,
          engine: opts.engine,
          ...(opts.steps ? { steps: opts.steps } : {}),
          labels: {},
          tags: [],
          format: opts.format,
          compressionLevel: opts.compressionLevel,
          epoch: opts.epoch,
          output: { kind: 'layout', dir, name: platformKey(p.platform) },
          registry: opts.registry,
          log: (line) => opts.log(keyOf(image), line),
          ...(image.commitSha !== undefined ? { commitSha: image.commitSha } : {}),
        }).catch((err: unknown) => {
          throw withPrefix(err, `${keyOf(image)} `);
        });
      });
      // Kept by content hash (a rename: whole or not at all; another run's copy is as good).
      await mkdir(join(opts.cacheDir, 'images'), { recursive: true });
      await rename(dir, cached).catch(async () => {
        await rm(dir, { recursive: true, force: true });
      });
      const got = await fromCache();
      return { ...got, origin: 'built' };
    })();
    done.then((g) => origins.set(key, g.origin), fail);
    memo.set(key, done);
    return done;
  };

  // Before the first build: every planned RUN for a platform this machine cannot execute has an emulator.
  let checked: Promise<void> | undefined;
  const checkAll = () =>
    (checked ??= (async () => {
      if (opts.engine === 'native') return;
      for (const i of plan.images) {
        for (const p of i.platforms) {
          if (p.taken || p.source.kind !== 'dockerfile') continue;
          const dockerfile = join(i.folder.dir, p.source.file);
          await checkRunPlatforms({ dockerfile, dockerfileName: shown(dockerfile), platforms: [p.platform], buildArgs: i.buildArgs, contextNames: [], ...(i.commitSha !== undefined ? { commitSha: i.commitSha } : {}) }).catch((err: unknown) => {
            throw withPrefix(err, `${keyOf(i)} `);
          });
        }
      }
    })());

  const build = async (image: PlannedImage, platforms: readonly PlannedPlatform[]): Promise<Image[]> => {
    try {
      await checkAll();
      return (await Promise.all(platforms.map((p) => one(image, p)))).map((g) => g.image);
    } catch (err) {
      if (!opts.stopOthersOnFailure) throw err;
      fail(err);
      await settled();
      throw firstError;
    }
  };
  return { build, origins };
}

/** Every planned image for every planned platform, built or taken (for `berth images build`). */
export async function buildAll(plan: ImagesPlan, opts: ImagesBuildOptions): Promise<{ built: Map<PlannedImage, Image[]>; origins: Map<string, Origin> }> {
  // The first failure stops the others: exit 1 at once, naming it, nothing left running.
  const builder = imagesBuilder(plan, { ...opts, stopOthersOnFailure: true });
  const out = new Map<PlannedImage, Image[]>();
  const wanted = plan.images.filter((i) => i.wanted && i.platforms.length);
  const settled = await Promise.allSettled(wanted.map(async (i) => out.set(i, await builder.build(i, i.platforms))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { built: new Map(wanted.filter((i) => out.has(i)).map((i) => [i, out.get(i)!])), origins: builder.origins };
}

export const describeTaken = (p: PlannedPlatform): string => (p.taken ? formatReference(p.taken.ref) : p.source.file);
