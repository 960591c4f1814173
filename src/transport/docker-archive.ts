import { UsageError } from '../errors.js';
import { hashStream } from '../blob/hasher.js';
import { verifyingStream } from '../blob/verify-stream.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import { parseImageConfig } from '../oci/manifest.js';
import { manifestOver } from '../image/assemble.js';
import type { Image } from './image.js';
import { tarballFiles, type LayoutFiles } from './layout-files.js';
import { readLayout } from './layout-read.js';
import { selectImage } from './select.js';

/**
 * Reads one image out of what `docker save` writes. Docker 25 and later write an OCI layout
 * (read as any image tarball); Docker 20.10 writes the older format with no index.json:
 * `manifest.json` naming a config file and one uncompressed `<id>/layer.tar` per layer.
 * For that one, each layer is hashed and must equal the config's diff_id at its place
 * (DIGEST_MISMATCH otherwise), member paths must stay inside the archive, and the image is
 * presented with an OCI manifest whose layers are the plain tars
 * (`application/vnd.oci.image.layer.v1.tar`).
 */
export async function readDockerArchive(path: string, name?: string): Promise<Image> {
  const files = await tarballFiles(path);
  if ((await files.has('oci-layout')) && (await files.has('index.json'))) {
    return selectImage(await readLayout(files, name), undefined, path);
  }
  if (!(await files.has('manifest.json'))) {
    throw new UsageError('BAD_TARBALL', `${path}: neither an OCI image layout nor a docker save archive (no manifest.json)`);
  }
  const entry = pickEntry(parseDockerManifest(await files.read('manifest.json'), path), name, path);
  const configRaw = await files.read(memberPath(entry.Config, path));
  const config = parseImageConfig(configRaw, `${path} ${entry.Config}`);
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== entry.Layers.length) {
    throw new UsageError('BAD_TARBALL', `${path}: manifest.json lists ${entry.Layers.length} layers, the config ${diffIDs.length} diff_ids`);
  }
  const byDigest = new Map<Digest, string>();
  const layers: Descriptor[] = [];
  for (const [i, layer] of entry.Layers.entries()) {
    const member = memberPath(layer, path);
    const { digest, size } = await hashStream(files.open(member));
    if (digest !== diffIDs[i]) {
      throw new UsageError('DIGEST_MISMATCH', `${path}: ${layer} hashes to ${digest}, the config's diff_id ${i} is ${diffIDs[i]}`);
    }
    byDigest.set(digest, member);
    layers.push({ mediaType: MediaType.ociLayer, digest, size });
  }
  return {
    kind: 'image',
    ...manifestOver(configRaw, layers, { manifest: MediaType.ociManifest, config: MediaType.ociConfig }),
    configRaw,
    config,
    blobs: archiveBlobs(files, byDigest),
  };
}

/** The names (RepoTags) a docker save archive without an OCI layout gives its images, in manifest.json's order. */
export async function dockerArchiveTags(files: LayoutFiles, path: string): Promise<string[]> {
  if (!(await files.has('manifest.json'))) return [];
  return [...new Set(parseDockerManifest(await files.read('manifest.json'), path).flatMap((e) => e.RepoTags))];
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function parseDockerManifest(raw: Uint8Array, path: string): DockerManifestEntry[] {
  const bad = (why: string) => new UsageError('BAD_TARBALL', `${path}: manifest.json ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (err) {
    throw bad(`is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc) || doc.length === 0) throw bad('is not a non-empty list of images');
  return doc.map((e: unknown, i) => {
    const o = e as Record<string, unknown> | null;
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (!o || typeof o.Config !== 'string' || !strings(o.Layers) || (o.RepoTags != null && !strings(o.RepoTags))) {
      throw bad(`entry ${i} needs Config (a string) and Layers (strings)`);
    }
    return { Config: o.Config, Layers: o.Layers as string[], RepoTags: (o.RepoTags as string[] | null) ?? [] };
  });
}

function pickEntry(entries: DockerManifestEntry[], name: string | undefined, path: string): DockerManifestEntry {
  if (name === undefined) {
    if (entries.length === 1) return entries[0]!;
    throw new UsageError('BAD_TARBALL', `${path}: holds ${entries.length} images; name one (${entries.flatMap((e) => e.RepoTags).join(', ')})`);
  }
  const found = entries.find((e) => e.RepoTags.some((t) => t === name || t.endsWith(`:${name}`) || t === `${name}:latest`));
  if (!found) throw new UsageError('NOT_FOUND', `${path}: no image named "${name}" (it has: ${entries.flatMap((e) => e.RepoTags).join(', ') || 'none'})`);
  return found;
}

/** A member named by manifest.json, refused if it would reach outside the archive. */
function memberPath(name: string, path: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (name.startsWith('/') || parts.includes('..') || parts.length === 0 || name.includes('\0')) {
    throw new UsageError('UNSAFE_PATH', `${path}: manifest.json names "${name}", which is not a path inside the archive`);
  }
  return parts.join('/');
}

function archiveBlobs(files: LayoutFiles, byDigest: ReadonlyMap<Digest, string>) {
  return {
    origin: files.origin,
    async open(desc: Descriptor) {
      const member = byDigest.get(desc.digest);
      if (!member) throw new UsageError('BAD_TARBALL', `${files.origin}: no layer ${desc.digest}`);
      return files.open(member).pipe(verifyingStream(desc, files.origin));
    },
    localPath: () => undefined,
  };
}
