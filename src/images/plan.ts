/**
 * The plan for an image folder: for each image wanted (and each local image it is built
 * FROM), its content hash and tag, and for each platform where that platform comes from.
 * Computed before anything is built or pushed, and where bad input is refused: an unknown
 * image, a platform nothing builds, a malformed ImageSource or variants.yaml, a cycle.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { IgnoreRules } from '../dockerfile/dockerignore.js';
import { parseDockerfile } from '../dockerfile/parse.js';
import { planBuild } from '../dockerfile/plan.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import type { Registries } from '../registry/index.js';
import type { Image } from '../transport/image.js';
import { readRegistry } from '../transport/registry.js';
import { selectImage } from '../transport/select.js';
import { recordedOutputs } from './build-binaries.js';
import { contentHash, contentHashTag } from './content-hash.js';
import { folderFiles } from './folder-files.js';
import { pickImages, type ImageFolder } from './folder.js';
import { buildOrder } from './graph.js';
import { parseImageSource } from './image-source.js';
import { manifestCache } from './presence.js';
import { namedPlatforms, sourceFor, type SourceFile } from './sources.js';
import type { Variant } from './variants.js';

export interface PlannedPlatform {
  platform: Platform;
  source: SourceFile;
  /** For an ImageSource: the image taken for this platform (by digest). */
  taken?: { ref: Reference; image: Image };
}

export interface PlannedImage {
  name: string;
  /** Asked for (published and reported); false for a local base built only for others. */
  wanted: boolean;
  folder: ImageFolder;
  variant?: Variant;
  /** The full content hash (64 hex digits) and the tag made from it. */
  hash: string;
  tag: string;
  buildArgs: Record<string, string>;
  /** Local images it is built FROM (built first, for the same platform). */
  deps: string[];
  platforms: PlannedPlatform[];
  /** What each ImageSource tag resolved to, for the report (`file: ref@digest`). */
  resolved: string[];
}

export interface ImagesPlanInput {
  all: readonly ImageFolder[];
  /** Image names; empty means every image. */
  names: readonly string[];
  /** --platform; when empty, each image's own (its `.<arch>` files, else the host's). */
  platforms: readonly Platform[];
  variant?: string;
  buildArgs: Readonly<Record<string, string>>;
  hostPlatform: Platform;
  cacheDir: string;
  /** For ImageSources; none needed when the folder has none. */
  registries?: Registries;
}

export interface ImagesPlan {
  /** Dependencies first: build in this order. */
  images: PlannedImage[];
  /** The names asked for (the rest are built only as bases). */
  wanted: string[];
}

async function ignoreRules(folder: ImageFolder): Promise<IgnoreRules | undefined> {
  const file = join(folder.dir, '.dockerignore');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : IgnoreRules.parse(text, file);
}

/** Local images a folder's Dockerfiles are built FROM (or COPY --from), for any of its platforms. */
async function localDeps(folder: ImageFolder, names: ReadonlySet<string>, host: Platform, buildArgs: Record<string, string>): Promise<string[]> {
  const deps = new Set<string>();
  for (const src of folder.sources.filter((s) => s.kind === 'dockerfile')) {
    const file = join(folder.dir, src.file);
    const df = parseDockerfile(await readFile(file, 'utf8'), `${folder.name}/${src.file}`);
    const plan = planBuild({ dockerfile: df, platform: src.platform ?? host, buildPlatform: host, buildArgs, contextNames: names });
    for (const st of plan.stages) {
      if (st.base.kind === 'context') deps.add(st.base.name);
      for (const from of st.copyFrom.values()) if (from.kind === 'context') deps.add(from.name);
      for (const froms of st.mountFrom?.values() ?? []) for (const from of froms) if (from.kind === 'context') deps.add(from.name);
    }
  }
  deps.delete(folder.name);
  return [...deps].sort();
}

async function takeFromSource(folder: ImageFolder, src: SourceFile, registries: Registries | undefined): Promise<{ ref: Reference; artifactDigest: Digest; read: (p: Platform) => Promise<Image> }> {
  const where = `${folder.name}/${src.file}`;
  const ref = parseImageSource(await readFile(join(folder.dir, src.file), 'utf8'), where);
  if (!registries) throw new UsageError('BAD_FLAG', `${where}: an ImageSource needs registry access`);
  const cache = manifestCache(registries);
  const artifact = await readRegistry(registries, ref, cache ? { cache } : {});
  return { ref: { ...ref, digest: artifact.digest }, artifactDigest: artifact.digest, read: (p) => selectImage(artifact, p, `${where} (${formatReference(ref)})`) };
}

export async function planImages(input: ImagesPlanInput): Promise<ImagesPlan> {
  const wanted = input.names.length ? pickImages(input.all, input.names).map((f) => f.name) : input.all.map((f) => f.name);
  if (wanted.length === 0) throw new UsageError('NOT_FOUND', 'the image folder holds no image (a folder with a Dockerfile or an ImageSource)');
  const byName = new Map(input.all.map((f) => [f.name, f]));
  if (input.variant !== undefined && !wanted.some((n) => byName.get(n)!.variants.length)) {
    throw new UsageError('NOT_FOUND', `--variant ${input.variant}: none of ${wanted.join(', ')} has a variants.yaml`);
  }
  const names = new Set(byName.keys());

  const depsOf = new Map<string, string[]>();
  const pending = [...wanted];
  while (pending.length) {
    const n = pending.pop()!;
    if (depsOf.has(n)) continue;
    const ds = await localDeps(byName.get(n)!, names, input.hostPlatform, { ...input.buildArgs });
    depsOf.set(n, ds);
    pending.push(...ds);
  }
  const order = buildOrder(wanted, depsOf);

  const hashes = new Map<string, string>();
  const images: PlannedImage[] = [];
  for (const name of order) {
    const folder = byName.get(name)!;
    const isWanted = wanted.includes(name);
    const isBase = [...depsOf.values()].some((ds) => ds.includes(name));
    // Images FROM a local image use its plain build (no variant's args), built first.
    let variants: (Variant | undefined)[] = [undefined];
    if (folder.variants.length && isWanted) {
      if (input.variant !== undefined) {
        const v = folder.variants.find((x) => x.name === input.variant);
        if (!v) throw new UsageError('NOT_FOUND', `${name}: no variant "${input.variant}" in variants.yaml (it has: ${folder.variants.map((x) => x.name).join(', ')})`);
        variants = [v];
      } else variants = [...folder.variants];
      if (isBase) variants.unshift(undefined);
    }
    const platforms = input.platforms.length ? [...input.platforms] : defaultPlatforms(folder, input.hostPlatform);
    const rules = await ignoreRules(folder);
    const outputs = await recordedOutputs(folder, input.cacheDir);
    const files = (await folderFiles(folder.dir, (path) => rules?.matches(path) ?? false)).filter((f) => !outputs.has(f.path));
    const taken = new Map<string, Awaited<ReturnType<typeof takeFromSource>>>();
    for (const src of folder.sources.filter((s) => s.kind === 'image-source')) taken.set(src.file, await takeFromSource(folder, src, input.registries));
    const localBases = Object.fromEntries(depsOf.get(name)!.map((d) => [d, hashes.get(d)!]));
    const imageSources = Object.fromEntries([...taken].map(([file, t]) => [file, t.artifactDigest]));

    for (const variant of variants) {
      const buildArgs = { ...input.buildArgs, ...(variant?.buildArgs ?? {}) };
      const hash = contentHash({ files, buildArgs, ...(variant ? { variant: variant.name } : {}), localBases, imageSources });
      if (!variant) hashes.set(name, hash);
      const planned: PlannedPlatform[] = [];
      for (const platform of platforms) {
        const source = sourceFor(name, folder.sources, platform);
        if (source.kind === 'image-source') {
          const t = taken.get(source.file)!;
          planned.push({ platform, source, taken: { ref: t.ref, image: await t.read(platform) } });
        } else planned.push({ platform, source });
      }
      images.push({
        name,
        folder,
        wanted: isWanted && (variant !== undefined || folder.variants.length === 0),
        ...(variant ? { variant } : {}),
        hash,
        tag: contentHashTag(hash, variant?.name),
        buildArgs,
        deps: depsOf.get(name)!,
        platforms: planned,
        resolved: [...taken].map(([file, t]) => `${file}: ${formatReference(t.ref)}`),
      });
    }
  }
  return { images, wanted };
}

/** An image's platforms when none are asked for: those its `.<arch>` files name, else the host's. */
export function defaultPlatforms(folder: ImageFolder, host: Platform): Platform[] {
  const named = namedPlatforms(folder.sources);
  return named.length ? named : [host];
}
