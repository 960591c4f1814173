/**
 * The release plan: a pure value computed from resolved inputs (images already read, tags
 * already rendered) before any side effect. It says what is published where and in what
 * order, and it is where bad input is refused, so nothing is pushed when any of it is wrong.
 */
import { UsageError } from '../errors.js';
import { assembleIndex, imageDescriptor, inIndexOrder } from '../image/assemble.js';
import { sha256Of, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { encodeJson, type ImageManifest } from '../oci/manifest.js';
import { convertLayerMediaType, formatOf, mediaTypesFor, type Format } from '../oci/mediatype.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import { isValidTag, parseReference } from '../oci/reference.js';
import type { Image, Index } from '../transport/image.js';
import { imagePlatform } from '../transport/select.js';

/** One platform's image as read from its source. */
export interface ResolvedSource {
  /** The platform it is listed under (release.yaml's key); undefined from flags. */
  platform?: Platform;
  source: string;
  where: string;
  image: Image;
}

export interface ResolvedComponent {
  name: string;
  where: string;
  sources: ResolvedSource[];
}

/** Where a release goes: registries (`host[/path]` prefixes) or one local OCI layout. */
export type ReleaseDestination = { kind: 'registries'; registries: string[] } | { kind: 'layout'; dir: string };

export interface PlanInput {
  components: ResolvedComponent[];
  /** Rendered tag values. */
  tags: string[];
  destination: ReleaseDestination;
  archSuffixedRepos: boolean;
  /** The arch-suffixed repository's name for a platform (default `NAME-ARCH`); gVisor's is `NAME_x86_64`. */
  archRepoName?: (name: string, platform: Platform) => string;
  format: Format;
  /** `--sign`: who signs each published artifact, last (with `recursive`, each per-arch image of an index too). */
  sign?: { signers: string[]; recursive: boolean };
}

export interface PlannedImage {
  platform: Platform;
  source: string;
  /** The digest the source had; differs from `image.digest` when converted. */
  sourceDigest: Digest;
  converted: boolean;
  /** What is published (converted to the release's format where needed). */
  image: Image;
}

/**
 * One step of a publication. `existing` is filled in only by a dry run against registries
 * (./existing.ts): how many of the blobs are there, whether the manifest is, whether the tag
 * already points at the digest.
 */
export type Step =
  | { kind: 'blobs'; digests: Digest[]; bytes: number; existing?: number }
  | { kind: 'manifest'; digest: Digest; platform: string; existing?: boolean }
  | { kind: 'index'; digest: Digest; mediaType: string; existing?: boolean }
  | { kind: 'tag'; tag: string; digest: Digest; existing?: boolean }
  | { kind: 'sign'; digest: Digest; signers: string[]; recursive: boolean };

/** One repository a component is published to, and the ordered steps there. */
export interface PlanTarget {
  /** `registry/repo`, or `oci:DIR` for a layout. */
  repository: string;
  /** For registries: the host and the repository path. */
  registry?: string;
  path?: string;
  /** The index, or (arch-suffixed repositories) one image. */
  what: 'index' | 'image';
  platform?: string;
  digest: Digest;
  tags: string[];
  steps: Step[];
}

export interface PlannedComponent {
  name: string;
  format: Format;
  images: PlannedImage[];
  index: { mediaType: string; digest: Digest; raw: Uint8Array };
  /** The index as an artifact whose children are the planned images. */
  artifact: Index;
  targets: PlanTarget[];
}

export interface ReleasePlan {
  format: Format;
  tags: string[];
  destination: ReleaseDestination;
  components: PlannedComponent[];
}

/** The image in the media types of `format`: same config and layers, a new manifest when the family differs. */
export function convertImage(image: Image, format: Format, where: string): { image: Image; converted: boolean } {
  if (formatOf(image.mediaType) === format) return { image, converted: false };
  const types = mediaTypesFor(format);
  const layers = image.manifest.layers.map((l, i) => {
    const mediaType = convertLayerMediaType(l.mediaType, format);
    if (!mediaType) throw new UsageError('BAD_MANIFEST', `${where}: layer ${i} (${l.digest}) is ${l.mediaType}, which has no ${format} equivalent; release with --format ${formatOf(image.mediaType)}`);
    const { annotations: _a, ...rest } = l;
    return format === 'docker' ? { ...rest, mediaType } : { ...l, mediaType };
  });
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: image.manifest.config.digest, size: image.manifest.config.size },
    layers,
    ...(format === 'oci' && image.manifest.annotations ? { annotations: image.manifest.annotations } : {}),
  };
  const manifestRaw = encodeJson(manifest);
  return { image: { ...image, mediaType: types.manifest, digest: sha256Of(manifestRaw), manifestRaw, manifest }, converted: true };
}

/** The name of an arch-suffixed repository's suffix: the architecture, with the variant when two images share it. */
function archSuffix(p: Platform, all: readonly Platform[]): string {
  const shared = all.filter((q) => q.architecture === p.architecture).length > 1;
  return shared && p.variant ? `${p.architecture}${p.variant}` : p.architecture;
}

/** The per-arch repository of a component (`NAME-ARCH`; the variant too when two platforms share an architecture). */
export function perArchRepoName(name: string, p: Platform, all: readonly Platform[]): string {
  return `${name}-${archSuffix(p, all)}`;
}

/** Steps to put one artifact in one repository: blobs, manifests by digest, the index, then tags. */
function stepsFor(images: PlannedImage[], index: { mediaType: string; digest: Digest } | undefined, tags: string[], sign?: PlanInput['sign']): Step[] {
  const seen = new Set<string>();
  const digests: Digest[] = [];
  let bytes = 0;
  for (const { image } of images) {
    for (const d of [...image.manifest.layers, image.manifest.config]) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      digests.push(d.digest);
      bytes += d.size;
    }
  }
  const top = index?.digest ?? images[0]!.image.digest;
  return [
    { kind: 'blobs', digests, bytes },
    ...images.map((i): Step => ({ kind: 'manifest', digest: i.image.digest, platform: formatPlatform(i.platform) })),
    ...(index ? [{ kind: 'index', digest: index.digest, mediaType: index.mediaType } as Step] : []),
    ...tags.map((tag): Step => ({ kind: 'tag', tag, digest: top })),
    ...(sign ? [{ kind: 'sign', digest: top, signers: sign.signers, recursive: sign.recursive && index !== undefined } as Step] : []),
  ];
}

/** The platform an index lists an image under: the image's own, with the key's variant when the config names none. */
function listedPlatform(own: Platform, key: Platform | undefined): Platform {
  if (own.variant || !key?.variant) return own;
  return { ...own, variant: key.variant };
}

/**
 * Computes the plan. Refuses, before anything is pushed: a component with two sources for
 * one platform, a source whose own platform is not its key's, an invalid tag, a repository
 * name that is not valid.
 */
export function planRelease(input: PlanInput): ReleasePlan {
  for (const t of input.tags) {
    if (!isValidTag(t)) throw new UsageError('BAD_TAG', `tag "${t}" is not a valid tag (want [A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  }
  const tags = [...new Set(input.tags)];
  const seenNames = new Set<string>();
  const components = input.components.map((c): PlannedComponent => {
    if (seenNames.has(c.name)) throw new UsageError('BAD_CONFIG', `${c.where}: component "${c.name}" is given twice`);
    seenNames.add(c.name);
    if (c.sources.length === 0) throw new UsageError('BAD_CONFIG', `${c.where}: names no image`);
    const given: PlannedImage[] = [];
    for (const s of c.sources) {
      const own = imagePlatform(s.image);
      if (s.platform && !platformMatches(s.platform, own)) {
        throw new UsageError('NO_MATCHING_PLATFORM', `${s.where}: ${s.source} is an image for ${formatPlatform(own)}, not ${formatPlatform(s.platform)}`);
      }
      const platform = listedPlatform(own, s.platform);
      const twin = given.find((i) => platformMatches(i.platform, platform));
      if (twin) throw new UsageError('BAD_CONFIG', `${c.where}: two images for ${formatPlatform(platform)}: ${twin.source} and ${s.source}`);
      const { image, converted } = convertImage(s.image, input.format, s.where);
      given.push({ platform, source: s.source, sourceDigest: s.image.digest, converted, image });
    }
    // In the index's canonical order (whatever order the sources came in), for the report and the read-back.
    const images = inIndexOrder(given);
    const children: Descriptor[] = images.map((i) => imageDescriptor(i.image, i.platform));
    const index = assembleIndex(children, input.format);
    const byDigest = new Map(images.map((i) => [i.image.digest as string, i.image]));
    const artifact: Index = {
      kind: 'index',
      mediaType: index.mediaType,
      digest: index.digest,
      raw: index.raw,
      index: index.index,
      blobs: images[0]!.image.blobs,
      child: async (d) => {
        const img = byDigest.get(d.digest);
        if (!img) throw new UsageError('BAD_MANIFEST', `${c.name}: the index has no child ${d.digest}`);
        return img;
      },
    };
    const targets: PlanTarget[] = [];
    const dest = input.destination;
    if (dest.kind === 'layout') {
      targets.push({ repository: `oci:${dest.dir}`, what: 'index', digest: index.digest, tags, steps: stepsFor(images, index, tags, input.sign) });
    } else {
      for (const registry of dest.registries) {
        const repo = repositoryOf(registry, c.name, c.where);
        targets.push({ repository: `${repo.registry}/${repo.path}`, ...repo, what: 'index', digest: index.digest, tags, steps: stepsFor(images, index, tags, input.sign) });
        if (input.archSuffixedRepos) {
          for (const img of images) {
            const r = repositoryOf(registry, input.archRepoName ? input.archRepoName(c.name, img.platform) : perArchRepoName(c.name, img.platform, images.map((i) => i.platform)), c.where);
            targets.push({
              repository: `${r.registry}/${r.path}`,
              ...r,
              what: 'image',
              platform: formatPlatform(img.platform),
              digest: img.image.digest,
              tags,
              steps: stepsFor([img], undefined, tags, input.sign),
            });
          }
        }
      }
    }
    return { name: c.name, format: input.format, images, index: { mediaType: index.mediaType, digest: index.digest, raw: index.raw }, artifact, targets };
  });
  return { format: input.format, tags, destination: input.destination, components };
}

function repositoryOf(registry: string, name: string, where: string): { registry: string; path: string } {
  const ref = parseReference(`${registry}/${name}:latest`, { what: where });
  return { registry: ref.registry, path: ref.repository };
}

/** The plan as plain data (for --dry-run --json and the tests): no bytes, no readers. */
export function planToJson(plan: ReleasePlan): unknown {
  return {
    format: plan.format,
    tags: plan.tags,
    destination: plan.destination,
    components: plan.components.map((c) => ({
      name: c.name,
      index: { mediaType: c.index.mediaType, digest: c.index.digest, size: c.index.raw.length },
      images: c.images.map((i) => ({
        platform: formatPlatform(i.platform),
        source: i.source,
        sourceDigest: i.sourceDigest,
        digest: i.image.digest,
        mediaType: i.image.mediaType,
        converted: i.converted,
      })),
      targets: c.targets.map((t) => ({ repository: t.repository, what: t.what, ...(t.platform ? { platform: t.platform } : {}), digest: t.digest, tags: t.tags, steps: t.steps })),
    })),
  };
}

const short = (d: string) => d.slice(0, 19);

/** The plan for people: what goes where, in what order. */
export function planToText(plan: ReleasePlan): string {
  const lines: string[] = [`release plan (${plan.format}, tags: ${plan.tags.join(', ') || 'none: by digest only'})`];
  for (const c of plan.components) {
    lines.push(`component ${c.name}: index ${c.index.digest}`);
    for (const i of c.images) lines.push(`  ${formatPlatform(i.platform)}  ${i.image.digest}${i.converted ? ` (converted from ${short(i.sourceDigest)})` : ''}  from ${i.source}`);
    for (const t of c.targets) {
      const order = t.steps.map((s) => {
        switch (s.kind) {
          case 'blobs':
            return `${s.digests.length} blobs${s.existing !== undefined ? ` (${s.existing} there)` : ''}`;
          case 'manifest':
            return `manifest ${s.platform}${s.existing ? ' (there)' : ''}`;
          case 'index':
            return `index ${short(s.digest)}${s.existing ? ' (there)' : ''}`;
          case 'tag':
            return `tag ${s.tag}${s.existing ? ' (already on it)' : ''}`;
          case 'sign':
            return `sign (${s.signers.join(', ')}${s.recursive ? ', and each image' : ''})`;
        }
      });
      lines.push(`  -> ${t.repository}${t.platform ? ` (${t.platform})` : ''}: ${order.join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
