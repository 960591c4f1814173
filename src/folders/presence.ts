/**
 * What a registry already holds of an image folder's image: the index its content-hash tag
 * names and that index's platforms. One HEAD per image when the index's bytes are in berth's
 * cache (they are once berth has pushed or read it): an index is immutable by digest.
 */
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import type { Reference } from '../oci/reference.js';
import { BlobStore, type Registries } from '../registry/index.js';
import type { Artifact } from '../transport/image.js';
import { readRegistry } from '../transport/registry.js';
import { imagePlatform } from '../transport/select.js';

export interface Presence {
  /** What the tag names, when it exists. */
  digest?: Digest;
  artifact?: Artifact;
  platforms: Platform[];
}

/** The cache berth keeps manifests in, when the registries have one. */
export function manifestCache(registries: Registries): BlobStore | undefined {
  return registries.cacheDir ? new BlobStore(registries.cacheDir) : undefined;
}

export async function presence(registries: Registries, ref: Reference): Promise<Presence> {
  const desc = await registries.client(ref.registry).headManifest(ref.repository, ref.tag ?? 'latest');
  if (!desc) return { platforms: [] };
  const cache = manifestCache(registries);
  const artifact = await readRegistry(registries, { ...ref, digest: desc.digest }, cache ? { cache } : {});
  if (artifact.kind === 'image') return { digest: desc.digest, artifact, platforms: [imagePlatform(artifact)] };
  const platforms = artifact.index.manifests.flatMap((m) => (m.platform ? [m.platform] : []));
  return { digest: desc.digest, artifact, platforms };
}
