/**
 * Building an image folder's images through `berth build --dockerfile`'s builder: each image
 * for each platform asked for, its local bases first (for the same platform), each once per
 * run however many images need it. A local base reaches the Dockerfile as a named build
 * context of its name (`FROM base` in images/app/Dockerfile is images/base, built here), so
 * no registry is involved; an ImageSource platform is the image it names, by digest.
 * `build_binaries` runs before an image's first build for a platform, when needed.
 */
import { join, relative } from 'node:path';
import pLimit from 'p-limit';
import { buildDockerfile, checkRunPlatforms, type ContextSource } from '../builder/dockerfile-build.js';
import type { EngineChoice } from '../builder/engines/engine.js';
import { OperationalError, withPrefix } from '../errors.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { formatReference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { directoryFiles } from '../transport/layout-files.js';
import { readLayout } from '../transport/layout-read.js';
import type { RegistryOptions } from '../transport/registry.js';
import { selectImage } from '../transport/select.js';
import { runBuildBinaries } from './build-binaries.js';
import type { ImagesPlan, PlannedImage, PlannedPlatform } from './plan.js';

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
  commitSha?: string;
}

export interface ImagesBuildOptions extends BuildSettings {
  /** A scratch folder of the run (each image's layout lives under it). */
  work: string;
  cacheDir: string;
}

const platformKey = (p: Platform) => formatPlatform(p).replaceAll('/', '-');
const keyOf = (i: Pick<PlannedImage, 'name' | 'variant'>) => (i.variant ? `${i.name}-${i.variant.name}` : i.name);

/** A builder for one plan: `build(image, platforms)` gives each platform's image, building what it needs first. */
export function imagesBuilder(plan: ImagesPlan, opts: ImagesBuildOptions): { build: (image: PlannedImage, platforms: readonly PlannedPlatform[]) => Promise<Image[]> } {
  const memo = new Map<string, Promise<Image>>();
  const binaries = new Map<string, Promise<boolean>>();
  const limit = pLimit(Math.max(1, opts.jobs));
  // The first failure stops every other build (engines and build_binaries, whole process
  // trees); callers hear of it once all have stopped, so nothing still writes into the work
  // folder they then remove, and the error they get is that first one, not a "stopped".
  const stop = new AbortController();
  let firstError: unknown;
  const fail = (err: unknown) => {
    if (!stop.signal.aborted) {
      firstError = err;
      stop.abort();
    }
  };
  const settled = async () => {
    for (let n = -1; n !== memo.size; ) {
      n = memo.size;
      await Promise.allSettled([...memo.values(), ...binaries.values()]);
    }
  };
  // How messages name a Dockerfile: from the current folder, as the user wrote the tree.
  const shown = (file: string) => (relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file));
  const plainOf = (name: string) => plan.images.find((i) => i.name === name && !i.variant) ?? plan.images.find((i) => i.name === name)!;

  const contextFor = async (dep: string, platform: Platform): Promise<ContextSource> => {
    const base = plainOf(dep);
    const p = base.platforms.find((x) => platformMatches(platform, x.platform)) ?? { platform, source: base.platforms[0]!.source };
    if (p.taken) return { kind: 'image', base: { kind: 'location', location: { kind: 'registry', ref: p.taken.ref } } };
    await one(base, p);
    return { kind: 'image', base: { kind: 'location', location: { kind: 'layout', dir: join(opts.work, keyOf(base)), name: platformKey(platform) } } };
  };

  const one = (image: PlannedImage, p: PlannedPlatform): Promise<Image> => {
    const key = `${keyOf(image)}@${formatPlatform(p.platform)}`;
    let done = memo.get(key);
    if (done) return done;
    done = (async () => {
      if (p.taken) return p.taken.image;
      const bbKey = `${image.name}@${formatPlatform(p.platform)}`;
      let bb = binaries.get(bbKey);
      if (!bb) binaries.set(bbKey, (bb = runBuildBinaries(image.folder, p.platform, { cacheDir: opts.cacheDir, signal: stop.signal, log: (l) => opts.log(image.name, `build_binaries: ${l}`) })));
      await bb;
      const contexts: Record<string, ContextSource> = {};
      for (const dep of image.deps) contexts[dep] = await contextFor(dep, p.platform);
      const dir = join(opts.work, keyOf(image));
      const dockerfile = join(image.folder.dir, p.source.file);
      await limit(() => {
        if (stop.signal.aborted) throw new OperationalError('ENGINE_FAILED', `${keyOf(image)} ${formatPlatform(p.platform)}: not built, another build failed`);
        return buildDockerfile({
          dockerfile,
          dockerfileName: shown(dockerfile),
          signal: stop.signal,
          context: image.folder.dir,
          platforms: [p.platform],
          buildArgs: image.buildArgs,
          contexts,
          engine: opts.engine,
          labels: {},
          tags: [],
          format: opts.format,
          compressionLevel: opts.compressionLevel,
          epoch: opts.epoch,
          output: { kind: 'layout', dir, name: platformKey(p.platform) },
          registry: opts.registry,
          log: (line) => opts.log(keyOf(image), line),
          ...(opts.commitSha ? { commitSha: opts.commitSha } : {}),
        }).catch((err: unknown) => {
          throw withPrefix(err, `${keyOf(image)} `);
        });
      });
      const where = `${keyOf(image)} ${formatPlatform(p.platform)}`;
      return selectImage(await readLayout(directoryFiles(dir), platformKey(p.platform)), p.platform, where);
    })();
    done.catch(fail);
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
          await checkRunPlatforms({ dockerfile, dockerfileName: shown(dockerfile), platforms: [p.platform], buildArgs: i.buildArgs, contextNames: i.deps, ...(opts.commitSha ? { commitSha: opts.commitSha } : {}) }).catch((err: unknown) => {
            throw withPrefix(err, `${keyOf(i)} `);
          });
        }
      }
    })());

  const build = async (image: PlannedImage, platforms: readonly PlannedPlatform[]): Promise<Image[]> => {
    try {
      await checkAll();
      return await Promise.all(platforms.map((p) => one(image, p)));
    } catch (err) {
      fail(err);
      await settled();
      throw firstError;
    }
  };
  return { build };
}

/** Every planned image for every planned platform, built (for `berth images build`). */
export async function buildAll(plan: ImagesPlan, opts: ImagesBuildOptions): Promise<Map<PlannedImage, Image[]>> {
  const builder = imagesBuilder(plan, opts);
  const out = new Map<PlannedImage, Image[]>();
  const results = await Promise.allSettled(plan.images.filter((i) => i.wanted).map(async (i) => out.set(i, await builder.build(i, i.platforms))));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return out;
}

export const describeTaken = (p: PlannedPlatform): string => (p.taken ? formatReference(p.taken.ref) : p.source.file);
