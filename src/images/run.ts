/**
 * The image-folder jobs `berth images` runs, each from plain options: list, build, push,
 * load. Each plans first (where bad input is refused, before anything is built or written),
 * then builds and publishes through the builder and the release executor.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { trackScratch } from '../blob/scratch.js';
import { hostPlatform } from '../builder/engines/platform-args.js';
import { writeImages } from '../builder/output.js';
import { UsageError } from '../errors.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
import type { Registries } from '../registry/index.js';
import type { ExecuteOptions } from '../release/execute.js';
import { selectImage } from '../transport/select.js';
import { buildAll, imagesBuilder, type BuildSettings, type ImagesBuildOptions } from './build.js';
import { readImagesRoot } from './folder.js';
import { loadImage, type LoadTarget } from './load.js';
import { planImages, type ImagesPlan, type PlannedImage } from './plan.js';
import { presence } from './presence.js';
import { publishImages, type PublishOptions } from './publish.js';
import type { ImageOutcome } from './report.js';

export interface FolderOptions {
  dir: string;
  names: string[];
  platforms: Platform[];
  variant?: string;
  buildArgs: Record<string, string>;
  cacheDir: string;
}

export type { BuildSettings };

export async function planFolder(opts: FolderOptions, registries?: Registries): Promise<ImagesPlan> {
  const all = await readImagesRoot(opts.dir);
  return planImages({ all, names: opts.names, platforms: opts.platforms, ...(opts.variant !== undefined ? { variant: opts.variant } : {}), buildArgs: opts.buildArgs, hostPlatform: hostPlatform(), cacheDir: opts.cacheDir, ...(registries ? { registries } : {}) });
}

/** A work folder under the cache (same file system as the cache, removed after). */
async function withWork<T>(cacheDir: string, fn: (work: string) => Promise<T>): Promise<T> {
  await mkdir(join(cacheDir, 'work'), { recursive: true });
  const work = await mkdtemp(join(cacheDir, 'work', 'images-'));
  // Removed on SIGINT/SIGTERM too (after the programs writing into it are ended).
  const untrack = trackScratch(work);
  try {
    return await fn(work);
  } finally {
    await rm(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    untrack();
  }
}

const buildOptions = (s: BuildSettings, work: string, cacheDir: string): ImagesBuildOptions => ({ work, cacheDir, ...s });

export interface ListedImage {
  name: string;
  variant?: string;
  contentHash: string;
  tag: string;
  platforms: string[];
  sources: Record<string, string>;
  deps: string[];
  /** Per platform, whether the registry's content-hash index has it (when a registry is known). */
  present?: Record<string, boolean>;
  repository?: string;
}

export async function listImages(opts: FolderOptions, registries: Registries | undefined, registry: string | undefined): Promise<ListedImage[]> {
  const plan = await planFolder(opts, registries);
  return Promise.all(
    plan.images.filter((x) => x.wanted).map(async (i) => {
      const entry: ListedImage = {
        name: i.name,
        ...(i.variant ? { variant: i.variant.name } : {}),
        contentHash: i.hash,
        tag: i.tag,
        platforms: i.platforms.map((p) => formatPlatform(p.platform)),
        sources: Object.fromEntries(i.platforms.map((p) => [formatPlatform(p.platform), p.taken ? `${p.source.file} (${p.taken.ref.registry}/${p.taken.ref.repository}@${p.taken.ref.digest})` : p.source.file])),
        deps: i.deps,
      };
      if (registry && registries) {
        const ref = parseReference(`${registry}/${i.name}:${i.tag}`, { what: 'registry' });
        const have = await presence(registries, ref);
        entry.repository = `${ref.registry}/${ref.repository}`;
        entry.present = Object.fromEntries(i.platforms.map((p) => [formatPlatform(p.platform), have.platforms.some((h) => platformMatches(p.platform, h))]));
      }
      return entry;
    }),
  );
}

export interface BuiltImage {
  name: string;
  tag: string;
  output: string;
  digest: string;
  platforms: string[];
}

/** Builds every wanted image for its platforms into `outputDir/<name>.tar` under its local name. */
export async function buildFolder(opts: FolderOptions, s: BuildSettings, outputDir: string, localName: (name: string) => string, registries?: Registries): Promise<BuiltImage[]> {
  const plan = await planFolder(opts, registries);
  return withWork(opts.cacheDir, async (work) => {
    const built = await buildAll(plan, buildOptions(s, work, opts.cacheDir));
    const out: BuiltImage[] = [];
    for (const [image, images] of built) {
      const name = image.variant ? `${image.name}-${image.variant.name}` : image.name;
      const path = join(outputDir, `${name}.tar`);
      const ref = parseReference(localName(name), { what: 'images.local-name' });
      const w = await writeImages({ kind: 'tarball', path }, images.map((img, i) => ({ image: img, platform: image.platforms[i]!.platform })), [ref], s.format, s.epoch);
      out.push({ name, tag: image.tag, output: path, digest: w.digest, platforms: w.images.map((x) => x.platform) });
    }
    return out;
  });
}

export interface PushSettings extends BuildSettings {
  targets: string[];
  tags: (image: PlannedImage) => readonly string[];
  dryRun: boolean;
  sign?: ExecuteOptions['sign'];
  notary?: PublishOptions['notary'];
  onOutcome?: (o: ImageOutcome) => void;
}

export async function pushFolder(opts: FolderOptions, s: PushSettings, registries: Registries): Promise<ImageOutcome[]> {
  const plan = await planFolder(opts, registries);
  return withWork(opts.cacheDir, async (work) => {
    const builder = imagesBuilder(plan, buildOptions(s, work, opts.cacheDir));
    return publishImages(plan, { registries, targets: s.targets, tags: s.tags, format: s.format, build: builder.build, dryRun: s.dryRun, ...(s.sign ? { sign: s.sign } : {}), ...(s.notary ? { notary: s.notary } : {}), ...(s.onOutcome ? { onOutcome: s.onOutcome } : {}) });
  });
}

export interface LoadOutcome {
  name: string;
  loadedAs: string;
  into: string;
  /** Where the image came from: the registry (by its hash tag) or a build here. */
  from: 'registry' | 'build';
  digest: string;
}

/** Pulls the image by its content-hash tag when `registry` has it for the platform, else builds it; then loads it. */
export async function loadFolderImage(opts: FolderOptions, s: BuildSettings, registry: string | undefined, registries: Registries, target: LoadTarget, localName: (name: string) => string): Promise<LoadOutcome> {
  if (opts.names.length !== 1) throw new UsageError('BAD_FLAG', 'load takes one image name');
  const platform = opts.platforms[0] ?? hostPlatform();
  const plan = await planFolder({ ...opts, platforms: [platform] }, registries);
  const image = plan.images.filter((i) => i.wanted).at(-1)!;
  const name = image.variant ? `${image.name}-${image.variant.name}` : image.name;
  const loadedAs = localName(name);
  const ref = parseReference(loadedAs, { what: 'images.local-name' });
  if (registry) {
    const have = await presence(registries, parseReference(`${registry}/${image.name}:${image.tag}`, { what: 'registry' }));
    if (have.artifact && have.platforms.some((h) => platformMatches(platform, h))) {
      const img = await selectImage(have.artifact, platform, `${registry}/${image.name}:${image.tag}`);
      const r = await loadImage(img, platform, ref, target, s.epoch);
      return { name, loadedAs: r.name, into: r.into, from: 'registry', digest: img.digest };
    }
  }
  return withWork(opts.cacheDir, async (work) => {
    const [img] = await imagesBuilder(plan, buildOptions(s, work, opts.cacheDir)).build(image, image.platforms);
    const r = await loadImage(img!, platform, ref, target, s.epoch);
    return { name, loadedAs: r.name, into: r.into, from: 'build', digest: img!.digest };
  });
}
