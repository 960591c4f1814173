import { imageDescriptor } from '../image/assemble.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Platform } from '../oci/platform.js';
import type { Image } from './image.js';

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
