import { dirname } from 'node:path';
import { checkOutputWritable, streamToFileAtomic } from '../util/atomic.js';
import { createDirs } from '../util/scratch.js';
import { createTarStream, type TarEntry } from '../blob/tar.js';
import { Annotation } from '../oci/annotations.js';
import { MediaType } from '../oci/mediatype.js';
import { encodeJson, type ImageIndex } from '../oci/manifest.js';
import { familiarName, parseReference } from '../oci/reference.js';
import { contentBlobs, topDescriptor, type WritableContent } from './content.js';
import { blobPath } from './layout-read.js';
import { OCI_LAYOUT_FILE } from './layout-write.js';

/**
 * Writes an image tarball: an OCI image layout and a Docker `manifest.json` in one tar, as
 * `docker save` writes since Docker 25, readable by `docker load`, `podman load` and skopeo's
 * `oci-archive:` and `docker-archive:` transports. The bytes depend only on the content, the
 * names and `epoch`; the file appears whole at `path` or not at all.
 */
export async function writeImageTarball(path: string, content: WritableContent, names: string[], epoch: number): Promise<void> {
  const file = (name: string, data: Uint8Array): TarEntry => ({ path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: epoch, source: data });
  const dir = (name: string): TarEntry => ({ path: name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: epoch });

  const entries: TarEntry[] = [dir('blobs'), dir('blobs/sha256')];
  for (const { desc, bytes, image } of contentBlobs(content)) {
    entries.push({
      path: blobPath(desc.digest),
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: epoch,
      size: desc.size,
      source: bytes ?? image!.blobs.localPath?.(desc) ?? (() => image!.blobs.open(desc)),
    });
  }
  const top = topDescriptor(content);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: names.length ? names.map((name) => ({ ...top, annotations: { [Annotation.containerdImageName]: name, [Annotation.refName]: name } })) : [top],
  };
  const repoTags = names.map((n) => familiarName(parseReference(n)));
  const dockerManifest = content.images.map(({ image }) => ({
    Config: blobPath(image.manifest.config.digest),
    RepoTags: content.index ? [] : repoTags,
    Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
  }));
  entries.push(file('index.json', encodeJson(index)), file('manifest.json', encodeJson(dockerManifest)), file('oci-layout', Buffer.from(OCI_LAYOUT_FILE)));
  // Before the work, not at the final rename; stdout, a device or a FIFO is written as a stream.
  const target = await checkOutputWritable(path, { stream: true });
  if (target.kind === 'stream') {
    await streamToFileAtomic(path, createTarStream(entries));
    return;
  }
  const created = await createDirs(dirname(target.path)); // as berth build does for --output; removed again on failure
  try {
    await streamToFileAtomic(path, createTarStream(entries));
  } catch (err) {
    await created.undo();
    throw err;
  }
  created.keep();
}
