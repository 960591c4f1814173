import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { sha256Of, type Digest } from '../oci/digest.js';
import { encodeJson, parseImageConfig, type ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/mediatype.js';
import { verifyingStream } from '../blob/verify.js';
import type { Image } from './image.js';
import type { LayoutFiles } from './layout-files.js';

interface ArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Reads a Docker archive that holds no OCI layout (what `skopeo copy ... docker-archive:` and
 * older `docker save` write): manifest.json names the config and the layer tars. Each layer is
 * hashed once here, and the image is presented with an OCI manifest over the same bytes (the
 * archive stores no manifest, so its digest is berth's). `name` picks the entry whose
 * RepoTags hold it.
 */
export async function readDockerArchive(files: LayoutFiles, name?: string): Promise<Image> {
  let entries: ArchiveEntry[];
  try {
    entries = JSON.parse(Buffer.from(await files.read('manifest.json')).toString('utf8')) as ArchiveEntry[];
    if (!Array.isArray(entries) || entries.some((e) => typeof e?.Config !== 'string' || !Array.isArray(e.Layers))) throw new Error('shape');
  } catch {
    throw new UsageError('BAD_LAYOUT', `${files.origin}: manifest.json is not a Docker archive manifest`);
  }
  const tags = (e: ArchiveEntry) => e.RepoTags ?? [];
  const chosen = name === undefined ? entries : entries.filter((e) => tags(e).some((t) => t === name || t.endsWith(`:${name}`)));
  if (chosen.length !== 1) {
    const known = entries.flatMap(tags);
    const why = chosen.length === 0 ? `no image named "${name}"` : `${chosen.length} images; name one`;
    throw new UsageError('NOT_FOUND', `${files.origin}: ${why} (it has: ${known.length ? known.join(', ') : 'no names'})`);
  }
  const entry = chosen[0]!;
  const configRaw = await files.read(entry.Config);
  const paths = new Map<Digest, string>();
  const layers: Descriptor[] = [];
  for (const path of entry.Layers) {
    const hash = createHash('sha256');
    let size = 0;
    let head: Buffer | undefined;
    for await (const chunk of files.open(path)) {
      const c = chunk as Buffer;
      head ??= c.subarray(0, 2);
      hash.update(c);
      size += c.length;
    }
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    paths.set(digest, path);
    const gzip = head !== undefined && head[0] === 0x1f && head[1] === 0x8b;
    layers.push({ mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest, size });
  }
  paths.set(sha256Of(configRaw), entry.Config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256Of(configRaw), size: configRaw.length },
    layers,
  };
  const manifestRaw = encodeJson(manifest);
  return {
    kind: 'image',
    mediaType: MediaType.ociManifest,
    digest: sha256Of(manifestRaw),
    manifestRaw,
    manifest,
    configRaw,
    config: parseImageConfig(configRaw, `${files.origin} ${entry.Config}`),
    blobs: {
      origin: files.origin,
      async open(desc) {
        const path = paths.get(desc.digest);
        if (path === undefined) throw new UsageError('BAD_LAYOUT', `${files.origin}: blob ${desc.digest} is missing`);
        return files.open(path).pipe(verifyingStream(desc, files.origin));
      },
    },
  };
}
