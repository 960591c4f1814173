import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import { formatPlatform } from '../oci/platform.js';
import type { Registries } from '../registry/pool.js';
import type { WritableContent } from './content.js';
import { localTransportOf, transportOf, type AnyLocation, type DaemonLocation, type Location } from './location.js';
import type { PushResult } from './registry-write.js';
import { imagePlatform, selectImage } from './select.js';

export { toWritableContent } from './content.js';

/**
 * Writes content to an image tarball, adds it to a layout, or loads it into Docker or podman,
 * under `names`. A file-system failure is one line naming the tarball or layout (fs-errors.ts).
 */
export async function writeLocation(loc: Location | DaemonLocation, content: WritableContent, names: string[], epoch: number): Promise<void> {
  await localTransportOf(loc).writeContent(loc, content, names, epoch);
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
  const from = transportOf(src);
  const to = transportOf(dst);
  const where = from.describe(src);
  to.prepareWrite?.(dst, opts.registries, opts.names ?? []);
  // A source read whole that holds several names is several images: a destination keeping one
  // artifact under one reference would get a nested index. One name is meant.
  if (to.oneArtifact && !opts.platform) await from.refuseSeveralNames?.(src, where);
  let artifact = await from.read(src, opts.registries);
  if (opts.platform) artifact = await selectImage(artifact, opts.platform, where);
  const base = {
    digest: artifact.digest,
    mediaType: artifact.mediaType,
    source: where,
    ...(artifact.kind === 'image' ? { platform: formatPlatform(imagePlatform(artifact)) } : {}),
  };
  // Names given win; else the source's own (a registry source names what it wrote by its tag).
  const names = opts.names ?? from.defaultNames?.(src) ?? [];
  const written = await to.write(dst, artifact, { registries: opts.registries, source: where, names, epoch: opts.epoch ?? 0, ...(opts.signal ? { signal: opts.signal } : {}) });
  return { ...base, ...written };
}
