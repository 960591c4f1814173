import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import { formatPlatform } from '../oci/platform.js';
import { formatReference } from '../oci/reference.js';
import type { Registries } from '../registry/pool.js';
import type { WritableContent } from './content.js';
import type { Artifact } from './image.js';
import { reportDownloads } from './download-progress.js';
import { withFsErrors } from '../util/fs-errors.js';
import { describeLocation, outputPath, readAnyLocation, type AnyLocation, type Location } from './location.js';
import { targetTags, writeRegistry, type PushResult } from './registry.js';
import { imagePlatform, selectImage } from './select.js';
import { locationNames } from './inspect.js';

/** An image, or an index whose children are images, as the local writers take it. */
export async function toWritableContent(artifact: Artifact, where: string): Promise<WritableContent> {
  if (artifact.kind === 'image') return { images: [{ image: artifact, platform: imagePlatform(artifact) }] };
  const images: WritableContent['images'] = [];
  for (const desc of artifact.index.manifests) {
    const child = await artifact.child(desc);
    if (child.kind !== 'image') throw new UsageError('BAD_MANIFEST', `${where}: holds a nested index (${desc.digest}); choose one image with --platform to write it locally`);
    images.push({ image: child, platform: desc.platform ?? imagePlatform(child) });
  }
  return { images, index: { mediaType: artifact.mediaType, digest: artifact.digest, raw: artifact.raw } };
}

/**
 * Writes content to an image tarball, or adds it to a layout, under `names`. A file-system
 * failure is one line naming the tarball or layout (fs-errors.ts).
 */
export async function writeLocation(loc: Location, content: WritableContent, names: string[], epoch: number): Promise<void> {
  // The writers (and the tar writer under them) load only when writing locally: a push never needs them.
  await withFsErrors(outputPath(loc), async () => {
    if (loc.kind === 'tarball') await (await import('./tarball-write.js')).writeImageTarball(loc.path, content, loc.name ? [loc.name] : names, epoch);
    else await (await import('./layout-write.js')).addToLayout(loc.dir, content, loc.name ? [loc.name] : names.length ? names : [undefined]);
  });
}

export interface CopyOptions {
  registries: Registries;
  /** Copy only this platform's image out of an index. */
  platform?: Platform;
  /** mtime of entries in a written tarball (SOURCE_DATE_EPOCH). */
  epoch?: number;
  /**
   * Names a local destination goes by (RepoTags and ref.name in a tarball, entries of a
   * layout), in place of the source's own: re-naming a tarball re-bundles it, never changing
   * a digest. Not for a registry destination, whose reference names it.
   */
  names?: string[];
  signal?: AbortSignal;
}

export interface CopyResult {
  digest: Digest;
  mediaType: string;
  source: string;
  destination: string;
  platform?: string;
  /** What a push to a registry did. */
  push?: PushResult;
  /** The names a local copy was written under. */
  tags?: string[];
}

/**
 * Copies an image or index from any location to any other: tarball, OCI layout or registry.
 * Every blob is checked against its digest on the way (berth push, pull and copy are this).
 */
export async function copyImage(src: AnyLocation, dst: AnyLocation, opts: CopyOptions): Promise<CopyResult> {
  const where = describeLocation(src);
  if (dst.kind === 'registry' && opts.names?.length) {
    throw new UsageError('BAD_FLAG', `--tag names a local copy (image tarball or oci:DIR); for a registry, put the tag in the destination (${describeLocation(dst)})`);
  }
  // Reach the destination registry (API check, credentials) while the source is read.
  if (dst.kind === 'registry') opts.registries.client(dst.ref.registry).prepare();
  // A layout of several names read whole is an index stored nowhere, over other indexes: a
  // registry would hold a nested index that podman and docker refuse. One name is meant.
  if (dst.kind === 'registry' && src.kind !== 'registry' && src.name === undefined && !opts.platform) {
    // An unreadable source is reported by the read below, as for any copy.
    const named = [...new Set((await locationNames(src).catch(() => [])).map((n) => n.name))];
    const path = src.kind === 'layout' ? src.dir : src.path;
    const transport = src.kind === 'layout' || (await stat(path)).isDirectory() ? 'oci' : 'oci-archive';
    if (named.length > 1) throw new UsageError('BAD_LAYOUT', `${where} holds ${named.length} names (${named.join(', ')}): push one of them, as ${transport}:${path}:NAME`);
  }
  let artifact = await readAnyLocation(src, opts.registries);
  if (opts.platform) artifact = await selectImage(artifact, opts.platform, where);
  const base = {
    digest: artifact.digest,
    mediaType: artifact.mediaType,
    source: where,
    ...(artifact.kind === 'image' ? { platform: formatPlatform(imagePlatform(artifact)) } : {}),
  };
  if (dst.kind === 'registry') {
    const tags = targetTags(dst.ref, artifact, describeLocation(dst));
    const push = await writeRegistry(opts.registries, artifact, dst.ref, { tags, ...(opts.signal ? { signal: opts.signal } : {}) });
    return { ...base, destination: tags.length ? push.tags.join(', ') : push.reference, push };
  }
  // Names given win; else a registry source names what it wrote (RepoTags, ref.name) by its tag.
  const names = opts.names ?? (src.kind === 'registry' && src.ref.tag !== undefined ? [formatReference({ registry: src.ref.registry, repository: src.ref.repository, tag: src.ref.tag })] : []);
  const content = await toWritableContent(artifact, where);
  const reporter = opts.registries.reporter;
  await writeLocation(dst, src.kind === 'registry' && reporter ? reportDownloads(content, reporter, src.ref.repository) : content, names, opts.epoch ?? 0);
  return { ...base, destination: describeLocation(dst), ...(names.length ? { tags: names } : {}) };
}
