import { imageDescriptor } from '../image/assemble.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Platform } from '../oci/platform.js';
import { UsageError } from '../errors.js';
import { reportDownloads } from './download-progress.js';
import { isRemoteBlobSource, type Artifact, type Image } from './image.js';
import { imagePlatform } from './select.js';
import type { LocalTransport, WriteOptions, Written } from './transport.js';

/** What a local writer writes: one or more images and, over several, an index. */
export interface WritableContent {
  images: { image: Image; platform: Platform }[];
  /** An index over `images`; when given it is what the content's names point at. */
  index?: { mediaType: string; digest: Digest; raw: Uint8Array };
}

/** The descriptor the content's names point at: the index, else the single image. */
export function topDescriptor(content: WritableContent): Descriptor {
  if (content.index) return { mediaType: content.index.mediaType, digest: content.index.digest, size: content.index.raw.length };
  const only = content.images[0]!;
  return imageDescriptor(only.image, only.platform);
}

/** Every blob the content consists of, each once, children before what points at them. */
export function contentBlobs(content: WritableContent): { desc: Descriptor; bytes?: Uint8Array; image?: Image }[] {
  const out: { desc: Descriptor; bytes?: Uint8Array; image?: Image }[] = [];
  const seen = new Set<string>();
  const add = (b: { desc: Descriptor; bytes?: Uint8Array; image?: Image }) => {
    if (seen.has(b.desc.digest)) return;
    seen.add(b.desc.digest);
    out.push(b);
  };
  for (const { image } of content.images) {
    for (const desc of image.manifest.layers) add({ desc, image });
    add({ desc: image.manifest.config, bytes: image.configRaw });
    add({ desc: { mediaType: image.mediaType, digest: image.digest, size: image.manifestRaw.length }, bytes: image.manifestRaw });
  }
  if (content.index) add({ desc: topDescriptor(content), bytes: content.index.raw });
  return out;
}

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
 * A local transport's `write`: the artifact as content, each layer read from a registry
 * reporting its download (as a push reports its upload), written under the copy's names.
 */
export async function writeArtifactLocally<L extends { kind: string }>(transport: LocalTransport<L>, loc: L, artifact: Artifact, opts: WriteOptions): Promise<Written> {
  const content = await toWritableContent(artifact, opts.source);
  const reporter = opts.registries.reporter;
  const blobs = artifact.blobs;
  const reported = reporter && isRemoteBlobSource(blobs) ? reportDownloads(content, reporter, blobs.repository) : content;
  await transport.writeContent(loc, reported, opts.names, opts.epoch);
  return { destination: transport.describe(loc), ...(opts.names.length ? { tags: opts.names } : {}) };
}
