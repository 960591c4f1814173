import { streamToFileAtomic } from '../blob/atomic.js';
import { createTarStream, type TarEntry } from '../blob/tar.js';
import type { Digest } from '../oci/digest.js';
import { Annotation } from '../oci/annotations.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import { encodeJson, type ImageIndex } from '../oci/manifest.js';
import type { Platform } from '../oci/platform.js';
import { familiarName, parseReference } from '../oci/reference.js';
import { imageDescriptor } from '../image/assemble.js';
import type { Image } from './image.js';
import { blobPath } from './layout-read.js';
import { imageBlobs, OCI_LAYOUT_FILE } from './layout-write.js';

export interface TarballContent {
  images: { image: Image; platform: Platform }[];
  /** An index over `images`; when given, index.json names it, else the one image. */
  index?: { mediaType: string; digest: Digest; raw: Uint8Array };
  /** Full references the content goes by (RepoTags, ref.name); may be empty. */
  names: string[];
}

/**
 * Writes an image tarball: an OCI image layout and a Docker `manifest.json` in one tar, as
 * `docker save` writes since Docker 25, readable by `docker load`, `podman load` and skopeo's
 * `oci-archive:` and `docker-archive:` transports. The bytes depend only on the content, the
 * names and `epoch`; the file appears whole at `path` or not at all.
 */
export async function writeImageTarball(path: string, content: TarballContent, epoch: number): Promise<void> {
  const file = (name: string, data: Uint8Array): TarEntry => ({ path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: epoch, source: data });
  const dir = (name: string): TarEntry => ({ path: name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: epoch });

  const entries: TarEntry[] = [dir('blobs'), dir('blobs/sha256')];
  const seen = new Set<string>();
  const addBlob = (desc: Descriptor, bytes: Uint8Array | undefined, image: Image) => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    entries.push({
      path: blobPath(desc.digest),
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: epoch,
      size: desc.size,
      source: bytes ?? image.blobs.localPath?.(desc) ?? (() => image.blobs.open(desc)),
    });
  };
  for (const { image } of content.images) for (const { desc, bytes } of imageBlobs(image)) addBlob(desc, bytes, image);

  const top: Descriptor = content.index
    ? { mediaType: content.index.mediaType, digest: content.index.digest, size: content.index.raw.length }
    : imageDescriptor(content.images[0]!.image, content.images[0]!.platform);
  if (content.index && !seen.has(content.index.digest)) {
    seen.add(content.index.digest);
    entries.push(file(blobPath(content.index.digest), content.index.raw));
  }

  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: content.names.length
      ? content.names.map((name) => ({ ...top, annotations: { [Annotation.containerdImageName]: name, [Annotation.refName]: name } }))
      : [top],
  };
  const repoTags = content.names.map((n) => familiarName(parseReference(n)));
  const dockerManifest = content.images.map(({ image }) => ({
    Config: blobPath(image.manifest.config.digest),
    RepoTags: content.index ? [] : repoTags,
    Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
  }));
  entries.push(file('index.json', encodeJson(index)), file('manifest.json', encodeJson(dockerManifest)), file('oci-layout', Buffer.from(OCI_LAYOUT_FILE)));

  await streamToFileAtomic(path, createTarStream(entries));
}
