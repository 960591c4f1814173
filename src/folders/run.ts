/**
 * The image-folder jobs `berth images` runs, each from plain options: list, build, push,
 * load. Each plans first (where bad input is refused, before anything is built or written),
 * then builds and publishes through the builder and the release executor.
 */
import { mkdir } from 'node:fs/promises';
import { makeWorkFolder } from '../util/work-folders.js';
import { join } from 'node:path';
import { hostPlatform } from '../builder/engines/platform-args.js';
import { writeImages } from '../builder/output.js';
import { UsageError } from '../errors.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
import type { Registries } from '../registry/index.js';
import type { ExecuteOptions } from '../release/execute.js';
import { buildAll, imagesBuilder, keyOf, type BuildSettings, type ImagesBuildOptions, type Origin } from './build-folder.js';
import { applyBuilds, discoverImages, flatName, type BuildEntry, type Skipped } from './folder.js';
import { loadImage, type LoadTarget } from './load-local.js';
import { planImages, type ImagesPlan, type PlannedImage } from './folder-plan.js';
import { presence } from './presence.js';
import { publishImages, type PublishOptions } from './publish.js';
import type { ImageOutcome } from './folder-report.js';

export interface FolderOptions {
  dir: string;
  /** A folder below `dir` (`--dir images/basic`): its images are "all", still named from `dir` (`basic/busybox`). */
  under?: string;
  names: string[];
  /** --platform. */
  platforms: Platform[];
  /** images.platforms in berth.yaml. */
  defaultPlatforms?: Platform[];
  variant?: string;
  buildArgs: Record<string, string>;
  cacheDir: string;
  /** images.builds in berth.yaml, and its folder (paths are relative to it). */
  builds?: BuildEntry[];
  repo?: string;
  commitSha?: string;
  /** Registry prefixes published to (a FROM naming `<prefix>/<image>` is that local image). */
  targets?: string[];
}

export type { BuildSettings };

export async function discoverFolder(opts: FolderOptions): Promise<{ all: Awaited<ReturnType<typeof applyBuilds>>; skipped: Skipped[] }> {
  const found = await discoverImages(opts.dir);
  const all = await applyBuilds(found.images, opts.builds ?? [], opts.repo ?? opts.dir);
  return { all, skipped: found.skipped };
}

export async function planFolder(opts: FolderOptions, registries?: Registries): Promise<ImagesPlan & { skipped: Skipped[] }> {
  const { all, skipped } = await discoverFolder(opts);
  let names = opts.names;
  if (names.length === 0 && opts.under !== undefined) {
    const prefix = `${opts.under}/`;
    names = all.filter((f) => f.name === opts.under || f.name.startsWith(prefix)).map((f) => f.name);
    if (names.length === 0) throw new UsageError('NOT_FOUND', `${join(opts.dir, opts.under)}: no image below it (a folder with a Dockerfile or an ImageSource)`);
  }
  const plan = await planImages({
    all,
    names,
    platforms: opts.platforms,
    ...(opts.defaultPlatforms ? { defaultPlatforms: opts.defaultPlatforms } : {}),
    ...(opts.variant !== undefined ? { variant: opts.variant } : {}),
    buildArgs: opts.buildArgs,
    hostPlatform: hostPlatform(),
    ...(opts.commitSha !== undefined ? { commitSha: opts.commitSha } : {}),
    ...(opts.targets ? { targets: opts.targets } : {}),
    ...(registries ? { registries } : {}),
  });
  return { ...plan, skipped };
}

/** A work folder under the cache (same file system as the cache, removed after). */
async function withWork<T>(cacheDir: string, fn: (work: string) => Promise<T>): Promise<T> {
  await mkdir(join(cacheDir, 'work'), { recursive: true });
  // Named after this process, so a later run removes it if this one is killed (work-folders.ts).
  const work = await makeWorkFolder(join(cacheDir, 'work'), 'images', { mode: 0o700 });
  try {
    return await fn(work.dir);
  } finally {
    await work.remove();
  }
}

const buildOptions = (s: BuildSettings, work: string, cacheDir: string, reuse?: ImagesBuildOptions['reuse']): ImagesBuildOptions => ({ work, cacheDir, ...s, ...(reuse ? { reuse } : {}) });

export interface ListedImage {
  name: string;
  variant?: string;
  contentHash: string;
  tag: string;
  platforms: string[];
  sources: Record<string, string>;
  deps: string[];
  /** Default platforms it cannot build, left out. */
  notes?: string[];
  /** Per platform, whether the registry's content-hash index has it (when a registry is known). */
  present?: Record<string, boolean>;
  repository?: string;
}

export async function listImages(opts: FolderOptions, registries: Registries | undefined, registry: string | undefined): Promise<{ images: ListedImage[]; skipped: Skipped[] }> {
  const plan = await planFolder(opts, registries);
  const images = await Promise.all(
    plan.images.filter((x) => x.wanted).map(async (i) => {
      const entry: ListedImage = {
        name: i.name,
        ...(i.variant ? { variant: i.variant.name } : {}),
        contentHash: i.hash,
        tag: i.tag,
        platforms: i.platforms.map((p) => formatPlatform(p.platform)),
        sources: Object.fromEntries(i.platforms.map((p) => [formatPlatform(p.platform), p.taken ? `${p.source.file} (${p.taken.ref.registry}/${p.taken.ref.repository}@${p.taken.ref.digest})` : p.source.file])),
        deps: i.deps,
        ...(i.notes.length ? { notes: i.notes } : {}),
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
  return { images, skipped: plan.skipped };
}

export interface BuiltImage {
  name: string;
  tag: string;
  output: string;
  digest: string;
  platforms: string[];
  /** Per platform: built here, or reused (berth's cache, the registry by its hash, an ImageSource). */
  origins: Record<string, Origin>;
  /** The same for the local images it is built FROM, by name. */
  bases?: Record<string, Record<string, Origin>>;
}

/** Builds (or reuses) every wanted image for its platforms into `outputDir/<name>.tar` under its local name. */
export async function buildFolder(opts: FolderOptions, s: BuildSettings, outputDir: string, localName: (name: string) => string, registries?: Registries, registry?: string): Promise<BuiltImage[]> {
  const plan = await planFolder(opts, registries);
  for (const i of plan.images.filter((x) => x.wanted && x.platforms.length === 0)) s.log('', `${keyOf(i)}: skipped: ${i.notes.join('; ')}`);
  return withWork(opts.cacheDir, async (work) => {
    const { built, origins } = await buildAll(plan, buildOptions(s, work, opts.cacheDir, registry && registries ? { registry, registries } : undefined));
    const out: BuiltImage[] = [];
    for (const [image, images] of built) {
      const name = keyOf(image);
      const path = join(outputDir, `${flatName(name)}.tar`);
      const ref = parseReference(localName(name), { what: 'images.local-name' });
      const w = await writeImages({ kind: 'tarball', path }, images.map((img, i) => ({ image: img, platform: image.platforms[i]!.platform })), [ref], s.format, s.epoch);
      const o = Object.fromEntries(image.platforms.map((p) => [formatPlatform(p.platform), origins.get(`${name}@${formatPlatform(p.platform)}`) ?? 'built']));
      const bases = Object.fromEntries(image.deps.map((d) => [d, Object.fromEntries(image.platforms.flatMap((p) => {
        const got = origins.get(`${d}@${formatPlatform(p.platform)}`);
        return got ? [[formatPlatform(p.platform), got]] : [];
      }))]));
      out.push({ name, tag: image.tag, output: path, digest: w.digest, platforms: w.images.map((x) => x.platform), origins: o, ...(image.deps.length ? { bases } : {}) });
    }
    return out;
  });
}

export interface PushSettings extends BuildSettings {
  targets: string[];
  tags: (image: PlannedImage) => readonly string[];
  dryRun: boolean;
  sign?: ExecuteOptions['sign'];
  attest?: PublishOptions['attest'];
  onOutcome?: (o: ImageOutcome) => void;
  pull?: PublishOptions['pull'];
  archSuffix?: PublishOptions['archSuffix'];
  /** Whether a signature is there already (signed by an earlier run). */
  signedBefore?: PublishOptions['signedBefore'];
}

export async function pushFolder(opts: FolderOptions, s: PushSettings, registries: Registries): Promise<ImageOutcome[]> {
  const plan = await planFolder({ ...opts, targets: s.targets }, registries);
  if (s.targets.length === 0) throw new UsageError('BAD_FLAG', 'no registry to push to: give --registry, or set images.registry (or images.registries by job type) in berth.yaml');
  return withWork(opts.cacheDir, async (work) => {
    const builder = imagesBuilder(plan, buildOptions(s, work, opts.cacheDir, { registry: s.targets[0]!, registries }));
    return publishImages(plan, {
      registries,
      targets: s.targets,
      tags: s.tags,
      format: s.format,
      build: builder.build,
      dryRun: s.dryRun,
      ...(s.sign ? { sign: s.sign } : {}),
      ...(s.attest ? { attest: s.attest } : {}),
      onOutcome: (o) => {
        const image = plan.images.find((i) => i.wanted && keyOf(i) === o.name);
        o.built = image ? image.platforms.map((p) => formatPlatform(p.platform)).filter((p) => builder.origins.get(`${o.name}@${p}`) === 'built') : [];
        s.onOutcome?.(o);
      },
      ...(s.pull ? { pull: s.pull } : {}),
      ...(s.archSuffix ? { archSuffix: s.archSuffix } : {}),
      ...(s.signedBefore ? { signedBefore: s.signedBefore } : {}),
    });
  });
}

export interface LoadOutcome {
  name: string;
  loadedAs: string;
  into: string;
  /** Where the image came from: the registry (by its hash tag), berth's cache, or a build here. */
  from: 'registry' | 'build' | 'cache';
  digest: string;
}

/** Each named image (or all): pulled by its content-hash tag when there for the platform, else reused or built; then loaded. */
export async function loadFolderImages(opts: FolderOptions, s: BuildSettings, registry: string | undefined, registries: Registries, target: LoadTarget, localName: (name: string) => string): Promise<LoadOutcome[]> {
  const platform = opts.platforms[0] ?? hostPlatform();
  const plan = await planFolder({ ...opts, platforms: [platform] }, registries);
  const wanted = plan.images.filter((i) => i.wanted);
  if (target.kind === 'tarball' && wanted.length > 1) throw new UsageError('BAD_FLAG', `--into ${target.path}: an image tarball holds one image here; give --into oci:DIR for ${wanted.length}`);
  return withWork(opts.cacheDir, async (work) => {
    const builder = imagesBuilder(plan, buildOptions(s, work, opts.cacheDir, registry ? { registry, registries } : undefined));
    const out: LoadOutcome[] = [];
    for (const image of wanted) {
      const name = keyOf(image);
      const ref = parseReference(localName(name), { what: 'images.local-name' });
      const [img] = await builder.build(image, image.platforms);
      const origin = builder.origins.get(`${name}@${formatPlatform(platform)}`) ?? 'built';
      const r = await loadImage(img!, platform, ref, target, s.epoch);
      out.push({ name, loadedAs: r.name, into: r.into, from: origin === 'registry' ? 'registry' : origin === 'cache' ? 'cache' : 'build', digest: img!.digest });
    }
    return out;
  });
}
