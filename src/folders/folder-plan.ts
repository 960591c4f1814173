/**
 * The plan for an image folder: for each image wanted (and each local image it is built
 * FROM), its content hash and tag, and for each platform where that platform comes from.
 * Computed before anything is built or pushed, and where bad input is refused: an unknown
 * image, a platform nothing builds, a malformed ImageSource or variants.yaml, a cycle.
 * The hash is a function of the sources alone (never of what ran before here): it is read
 * before build_binaries runs, and leaves its declared outputs out.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { readIgnore } from '../builder/dockerfile-build.js';
import { UsageError } from '../errors.js';
import { parseDockerfile } from '../dockerfile/parse.js';
import { planBuild } from '../dockerfile/stage-plan.js';
import type { Digest } from '../oci/digest.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import type { Registries } from '../registry/index.js';
import type { Image } from '../transport/image.js';
import { readRegistry } from '../transport/registry.js';
import { selectImage } from '../transport/select.js';
import { contentHash, contentHashTag, type HashedFile } from './content-hash.js';
import { folderFiles } from './folder-files.js';
import { ignoreFilter } from '../builder/context-walk.js';
import { flatName, pickImages, type ImageFolder } from './folder.js';
import { buildOrder } from './graph.js';
import { parseImageSource } from './image-source.js';
import { manifestCache } from './presence.js';
import { sourceFor, type SourceFile } from './sources.js';
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
  /** The commit, for an image whose Dockerfile declares `ARG BUILD_COMMIT_SHA` (so in its hash). */
  commitSha?: string;
  /** Local images it is built FROM (built first, for the same platform). */
  deps: string[];
  /** References its Dockerfiles name (as expanded) that are local images: reference → image name. */
  aliases: Record<string, string>;
  platforms: PlannedPlatform[];
  /** Default platforms it cannot build, left out (`list` says so). */
  notes: string[];
  /** What each ImageSource tag resolved to, for the report (`file: ref@digest`). */
  resolved: string[];
}

export interface ImagesPlanInput {
  all: readonly ImageFolder[];
  /** Image names; empty means every image. */
  names: readonly string[];
  /** --platform: every image, each must build them. */
  platforms: readonly Platform[];
  /** images.platforms in berth.yaml: the default (else the host's); an image builds those it can. */
  defaultPlatforms?: readonly Platform[];
  variant?: string;
  /** --build-arg and --build-arg-file (over an image's own). */
  buildArgs: Readonly<Record<string, string>>;
  hostPlatform: Platform;
  /** BUILD_COMMIT_SHA for Dockerfiles that declare it. */
  commitSha?: string;
  /** Registry prefixes images are published to: `FROM <prefix>/<name>:<any tag>` is that local image. */
  targets?: readonly string[];
  /** For ImageSources; none needed when the folder has none. */
  registries?: Registries;
}

export interface ImagesPlan {
  /** Dependencies first: build in this order. */
  images: PlannedImage[];
  /** The names asked for (the rest are built only as bases). */
  wanted: string[];
}

/** The local image a reference names: by name (any tag), make's spelling, or its repository at a target registry (any tag). */
export function localImageFor(ref: string, names: ReadonlySet<string>, targets: readonly string[]): string | undefined {
  if (names.has(ref)) return ref;
  const untagged = /^(.*?)(?::[A-Za-z0-9_][A-Za-z0-9._-]*)?(?:@sha256:[0-9a-f]{64})?$/.exec(ref)?.[1] ?? ref;
  if (names.has(untagged)) return untagged;
  for (const n of names) if (flatName(n) === untagged) return n;
  let parsed;
  try {
    parsed = parseReference(ref, { what: 'FROM', strict: false });
  } catch {
    return undefined;
  }
  for (const t of targets) {
    const prefix = t.replace(/\/+$/, '');
    const repo = `${parsed.registry}/${parsed.repository}`;
    if (repo.startsWith(`${prefix}/`) && names.has(repo.slice(prefix.length + 1))) return repo.slice(prefix.length + 1);
  }
  return undefined;
}

interface DockerfileFacts {
  deps: string[];
  aliases: Record<string, string>;
  /** Dockerfile file name → sha256 of its text. */
  texts: Record<string, string>;
  /** Every ARG its Dockerfiles declare: only those build args can reach the build (and its hash). */
  declared: Set<string>;
}

/** Local images a folder's Dockerfiles are built FROM (or COPY --from), through arguments too. */
async function dockerfileFacts(folder: ImageFolder, names: ReadonlySet<string>, platform: Platform, host: Platform, buildArgs: Record<string, string>, targets: readonly string[]): Promise<DockerfileFacts> {
  const deps = new Set<string>();
  const aliases: Record<string, string> = {};
  const texts: Record<string, string> = {};
  const declared = new Set<string>();
  for (const src of folder.sources.filter((s) => s.kind === 'dockerfile')) {
    const file = join(folder.dir, src.file);
    const text = await readFile(file, 'utf8');
    texts[src.file] = createHash('sha256').update(text).digest('hex');
    const df = parseDockerfile(text, `${folder.name}/${src.file}`);
    for (const a of df.metaArgs) for (const x of a.args) declared.add(x.name);
    for (const st of df.stages) for (const ins of st.instructions) if (ins.kind === 'ARG') for (const x of ins.args) declared.add(x.name);
    const plan = planBuild({ dockerfile: df, platform: src.platform ?? platform, buildPlatform: host, buildArgs, contextNames: new Set() });
    const refs: string[] = [];
    for (const st of plan.stages) {
      if (st.base.kind === 'image') refs.push(st.base.ref);
      for (const from of st.copyFrom.values()) if (from.kind === 'image') refs.push(from.ref);
      for (const froms of st.mountFrom?.values() ?? []) for (const from of froms) if (from.kind === 'image') refs.push(from.ref);
    }
    for (const ref of refs) {
      const local = localImageFor(ref, names, targets);
      if (local && local !== folder.name) {
        deps.add(local);
        aliases[ref] = local;
      }
    }
  }
  return { deps: [...deps].sort(), aliases, texts, declared };
}

/**
 * What the build of `folder` can read, for its hash: its context after the ignore file the
 * build uses (`<Dockerfile>.dockerignore` first, as the builder: one function), less
 * build_binaries' declared outputs and, for an image with variants, variants.yaml (each
 * variant's hash covers only its own entry). One list per distinct ignore file.
 */
async function hashedFiles(folder: ImageFolder): Promise<HashedFile[]> {
  const byIgnore = new Map<string, string>();
  for (const src of folder.sources.filter((s) => s.kind === 'dockerfile')) {
    const df = join(folder.dir, src.file);
    const key = existsSync(`${df}.dockerignore`) ? `${df}.dockerignore` : join(folder.context, '.dockerignore');
    if (!byIgnore.has(key)) byIgnore.set(key, df);
  }
  if (byIgnore.size === 0) byIgnore.set(join(folder.context, '.dockerignore'), join(folder.dir, 'Dockerfile'));
  const dirRel = relative(folder.context, folder.dir);
  const inDir = (path: string): string | undefined => {
    if (dirRel === '') return path;
    if (dirRel.startsWith('..')) return undefined;
    const prefix = `${dirRel.split(sep).join('/')}/`;
    return path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
  };
  const dropped = (path: string): boolean => {
    const own = inDir(path);
    if (own === undefined) return false;
    if (folder.variants.length && own === 'variants.yaml') return true;
    return folder.outputs !== undefined && folder.outputs.matches(own);
  };
  const out: HashedFile[] = [];
  const many = byIgnore.size > 1;
  for (const [key, df] of byIgnore) {
    const rules = await readIgnore(df, folder.context);
    const files = await folderFiles(folder.context, ignoreFilter(rules, dropped));
    const label = relative(folder.context, key).split(sep).join('/');
    out.push(...(many ? files.map((f) => ({ ...f, path: `${label}//${f.path}` })) : files));
  }
  return out;
}

async function takeFromSource(folder: ImageFolder, src: SourceFile, registries: Registries | undefined): Promise<{ ref: Reference; artifactDigest: Digest; read: (p: Platform) => Promise<Image> }> {
  const where = `${folder.name}/${src.file}`;
  const ref = parseImageSource(await readFile(join(folder.dir, src.file), 'utf8'), where);
  if (!registries) throw new UsageError('BAD_FLAG', `${where}: an ImageSource needs registry access`);
  const cache = manifestCache(registries);
  const artifact = await readRegistry(registries, ref, cache ? { cache } : {});
  return { ref: { ...ref, digest: artifact.digest }, artifactDigest: artifact.digest, read: (p) => selectImage(artifact, p, `${where} (${formatReference(ref)})`) };
}

/** An image's platforms: --platform (each must build), else its own or the default list, less those it cannot build. */
export function imagePlatforms(folder: ImageFolder, explicit: readonly Platform[], defaults: readonly Platform[] | undefined, host: Platform): { platforms: Platform[]; notes: string[] } {
  if (explicit.length) {
    for (const p of explicit) sourceFor(folder.name, folder.sources, p);
    return { platforms: [...explicit], notes: [] };
  }
  if (folder.platforms) {
    for (const p of folder.platforms) sourceFor(folder.name, folder.sources, p);
    return { platforms: [...folder.platforms], notes: [] };
  }
  const platforms: Platform[] = [];
  const notes: string[] = [];
  for (const p of defaults?.length ? defaults : [host]) {
    try {
      sourceFor(folder.name, folder.sources, p);
      platforms.push(p);
    } catch {
      notes.push(`${formatPlatform(p)} left out: no file of ${folder.name} builds it (${folder.sources.map((s) => s.file).join(', ')})`);
    }
  }
  return { platforms, notes };
}

export async function planImages(input: ImagesPlanInput): Promise<ImagesPlan> {
  const wanted = input.names.length ? pickImages(input.all, input.names).map((f) => f.name) : input.all.map((f) => f.name);
  if (wanted.length === 0) throw new UsageError('NOT_FOUND', 'the image folder holds no image (a folder with a Dockerfile or an ImageSource)');
  const byName = new Map(input.all.map((f) => [f.name, f]));
  if (input.variant !== undefined && !wanted.some((n) => byName.get(n)!.variants.length)) {
    throw new UsageError('NOT_FOUND', `--variant ${input.variant}: none of ${wanted.join(', ')} has a variants.yaml`);
  }
  const names = new Set(byName.keys());
  const targets = input.targets ?? [];
  const argsOf = (f: ImageFolder) => ({ ...(f.buildArgs ?? {}), ...input.buildArgs });

  // Every platform, source and Dockerfile is checked before any request (ImageSources below).
  const facts = new Map<string, DockerfileFacts>();
  const platformsOf = new Map<string, { platforms: Platform[]; notes: string[] }>();
  const pending = [...wanted];
  while (pending.length) {
    const n = pending.pop()!;
    if (facts.has(n)) continue;
    const folder = byName.get(n)!;
    const ps = imagePlatforms(folder, input.platforms, input.defaultPlatforms, input.hostPlatform);
    platformsOf.set(n, ps);
    const f = await dockerfileFacts(folder, names, ps.platforms[0] ?? input.hostPlatform, input.hostPlatform, argsOf(folder), targets);
    facts.set(n, f);
    pending.push(...f.deps);
  }
  const depsOf = new Map([...facts].map(([n, f]) => [n, f.deps]));
  const order = buildOrder(wanted, depsOf);

  const hashes = new Map<string, string>();
  const images: PlannedImage[] = [];
  for (const name of order) {
    const folder = byName.get(name)!;
    const fact = facts.get(name)!;
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
    const { platforms, notes } = platformsOf.get(name)!;
    const files = await hashedFiles(folder);
    const taken = new Map<string, Awaited<ReturnType<typeof takeFromSource>>>();
    for (const src of folder.sources.filter((s) => s.kind === 'image-source')) taken.set(src.file, await takeFromSource(folder, src, input.registries));
    const localBases = Object.fromEntries(fact.deps.map((d) => [d, hashes.get(d)!]));
    const imageSources = Object.fromEntries([...taken].map(([file, t]) => [file, t.artifactDigest]));
    const commitSha = fact.declared.has('BUILD_COMMIT_SHA') && input.commitSha !== undefined ? input.commitSha : undefined;

    for (const variant of variants) {
      const buildArgs = { ...argsOf(folder), ...(variant?.buildArgs ?? {}) };
      const given = commitSha !== undefined && !('BUILD_COMMIT_SHA' in buildArgs) ? { ...buildArgs, BUILD_COMMIT_SHA: commitSha } : buildArgs;
      const hashArgs = Object.fromEntries(Object.entries(given).filter(([k]) => fact.declared.has(k)));
      const hash = contentHash({ files, dockerfiles: fact.texts, buildArgs: hashArgs, ...(variant ? { variant: variant.name } : {}), localBases, imageSources });
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
        ...(commitSha !== undefined ? { commitSha } : {}),
        deps: fact.deps,
        aliases: fact.aliases,
        platforms: planned,
        notes,
        resolved: [...taken].map(([file, t]) => `${file}: ${formatReference(t.ref)}`),
      });
    }
  }
  return { images, wanted };
}

/** Whether a planned platform list has `p`. */
export const hasPlatform = (ps: readonly PlannedPlatform[], p: Platform): boolean => ps.some((x) => platformMatches(p, x.platform));
