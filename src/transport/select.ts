import { UsageError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isIndexMediaType } from '../oci/mediatype.js';
import { formatPlatform, platformMatches, type Platform } from '../oci/platform.js';
import type { Artifact, Image } from './image.js';

export function imagePlatform(img: Image): Platform {
  const c = img.config;
  return c.variant ? { os: c.os, architecture: c.architecture, variant: c.variant } : { os: c.os, architecture: c.architecture };
}

/**
 * The image for `platform` from an image or an index. A single image must match the platform
 * when one is asked for; from an index, the matching manifest is taken, and an error lists
 * the platforms it does have when none matches. Without a platform an index is ambiguous.
 */
export async function selectImage(artifact: Artifact, platform: Platform | undefined, where: string): Promise<Image> {
  if (artifact.kind === 'image') {
    const have = imagePlatform(artifact);
    if (platform && !platformMatches(platform, have)) {
      throw new UsageError('NO_MATCHING_PLATFORM', `${where}: is an image for ${formatPlatform(have)}, not ${formatPlatform(platform)}`);
    }
    return artifact;
  }
  const candidates: { desc: Descriptor; platform: Platform }[] = [];
  for (const desc of artifact.index.manifests) {
    if (isIndexMediaType(desc.mediaType)) continue;
    if (desc.platform) {
      candidates.push({ desc, platform: desc.platform });
    } else {
      // An entry without a platform (common in layouts) is read to find its platform.
      const child = await artifact.child(desc);
      if (child.kind === 'image') candidates.push({ desc, platform: imagePlatform(child) });
    }
  }
  const available = candidates.map((c) => formatPlatform(c.platform)).filter((p) => p !== 'unknown/unknown');
  if (!platform) {
    if (candidates.length === 1) return selectImage(await artifact.child(candidates[0]!.desc), undefined, where);
    throw new UsageError('NO_MATCHING_PLATFORM', `${where}: holds images for ${available.join(', ') || 'no platform'}; choose one with --platform`);
  }
  const match = candidates.find((c) => platformMatches(platform, c.platform));
  if (!match) {
    throw new UsageError(
      'NO_MATCHING_PLATFORM',
      `${where}: has no image for ${formatPlatform(platform)} (it has: ${available.join(', ') || 'none'})`,
    );
  }
  const child = await artifact.child(match.desc);
  if (child.kind !== 'image') throw new UsageError('BAD_MANIFEST', `${where}: the entry for ${formatPlatform(platform)} is not an image manifest`);
  return selectImage(child, platform, where);
}
