import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { streamToFileAtomic, withLock, writeFileAtomic } from '../blob/atomic.js';
import { UsageError } from '../errors.js';
import { Annotation } from '../oci/annotations.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import { encodeJson, parseManifestOrIndex, type ImageIndex } from '../oci/manifest.js';
import { platformMatches } from '../oci/platform.js';
import { contentBlobs, topDescriptor, type WritableContent } from './content.js';
import { blobPath } from './layout-read.js';

export const OCI_LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Adds content to the OCI layout at `dir` (created if absent), named by each of `refNames`
 * (or unnamed). Blobs already present are kept; index.json is rewritten atomically under a
 * lock, so several berth processes can add images for different platforms to one layout at
 * once. An entry with the same name and platform is replaced.
 */
export async function addToLayout(dir: string, content: WritableContent, refNames: (string | undefined)[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  if (!(await exists(join(dir, 'oci-layout')))) await writeFileAtomic(join(dir, 'oci-layout'), OCI_LAYOUT_FILE);
  for (const { desc, bytes, image } of contentBlobs(content)) {
    const path = join(dir, blobPath(desc.digest));
    if (await exists(path)) continue;
    await mkdir(dirname(path), { recursive: true });
    if (bytes) await writeFileAtomic(path, bytes);
    else await streamToFileAtomic(path, await image!.blobs.open(desc));
  }
  const top = topDescriptor(content);
  const added = refNames.map((refName): Descriptor => (refName ? { ...top, annotations: { ...(top.annotations ?? {}), [Annotation.refName]: refName } } : top));
  const indexPath = join(dir, 'index.json');
  await withLock(`${indexPath}.lock`, async () => {
    const index = await readIndexJson(indexPath);
    const kept = index.manifests.filter((d) => !added.some((a) => sameSlot(d, a)));
    const manifests = [...kept, ...added].sort(compareEntries);
    await writeFileAtomic(indexPath, encodeJson({ ...index, manifests }));
  });
}

async function readIndexJson(path: string): Promise<ImageIndex> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    throw err;
  }
  const parsed = parseManifestOrIndex(raw, path, MediaType.ociIndex);
  if (parsed.kind !== 'index') throw new UsageError('BAD_LAYOUT', `${path}: is not an image index`);
  return parsed.index;
}

/** Two entries fill the same slot when they have the same name and the same platform. */
function sameSlot(a: Descriptor, b: Descriptor): boolean {
  const name = (d: Descriptor) => d.annotations?.[Annotation.refName];
  if (name(a) !== name(b)) return false;
  if (a.platform && b.platform) return platformMatches(a.platform, b.platform);
  return a.digest === b.digest;
}

/** index.json lists entries by name then platform, so its bytes do not depend on build order. */
function compareEntries(a: Descriptor, b: Descriptor): number {
  const key = (d: Descriptor) =>
    `${d.annotations?.[Annotation.refName] ?? ''}\0${d.platform ? `${d.platform.os}/${d.platform.architecture}/${d.platform.variant ?? ''}` : ''}\0${d.digest}`;
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
