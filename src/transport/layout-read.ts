import { UsageError } from '../errors.js';
import { digestAlgorithm, digestHex, sha256Of, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { Annotation } from '../oci/annotations.js';
import { MediaType } from '../oci/mediatype.js';
import { encodeJson, parseImageConfig, parseManifestOrIndex, type ImageIndex } from '../oci/manifest.js';
import { verifyingStream } from '../blob/verify-stream.js';
import type { Artifact, BlobSource, Image, Index } from './image.js';
import type { LayoutFiles } from './layout-files.js';

export function blobPath(digest: Digest): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}

function layoutBlobs(files: LayoutFiles): BlobSource {
  return {
    origin: files.origin,
    async open(desc) {
      if (!(await files.has(blobPath(desc.digest)))) {
        throw new UsageError('BAD_LAYOUT', `${files.origin}: blob ${desc.digest} is missing`);
      }
      return files.open(blobPath(desc.digest)).pipe(verifyingStream(desc, files.origin));
    },
    // No localPath: a layout's blob files are read through the digest check, never copied as they are.
  };
}

/** Reads a small blob (manifest, config) whole and checks it against its descriptor. */
async function readVerified(files: LayoutFiles, desc: Descriptor, what: string): Promise<Uint8Array> {
  const path = blobPath(desc.digest);
  const size = await files.size(path);
  if (size === undefined) throw new UsageError('BAD_LAYOUT', `${files.origin}: ${what} ${desc.digest} is missing`);
  if (size !== desc.size) {
    throw new UsageError('DIGEST_MISMATCH', `${files.origin}: ${what} ${desc.digest} has ${size} bytes, its descriptor says ${desc.size}`);
  }
  const raw = await files.read(path);
  if (raw.length !== desc.size || sha256Of(raw) !== desc.digest) {
    throw new UsageError('DIGEST_MISMATCH', `${files.origin}: ${what} ${desc.digest} does not match its digest or size`);
  }
  return raw;
}

/** Loads the manifest or index a descriptor names, with its config for an image. */
export async function loadArtifact(files: LayoutFiles, desc: Descriptor, blobs: BlobSource = layoutBlobs(files)): Promise<Artifact> {
  const raw = await readVerified(files, desc, 'manifest');
  const where = `${files.origin} manifest ${desc.digest}`;
  const parsed = parseManifestOrIndex(raw, where, desc.mediaType);
  if (parsed.kind === 'index') return makeIndex(files, parsed.mediaType, desc.digest, raw, parsed.index, blobs);
  const configRaw = await readVerified(files, parsed.manifest.config, 'config');
  const image: Image = {
    kind: 'image',
    mediaType: parsed.mediaType,
    digest: desc.digest,
    manifestRaw: raw,
    manifest: parsed.manifest,
    configRaw,
    config: parseImageConfig(configRaw, `${files.origin} config ${parsed.manifest.config.digest}`),
    blobs,
  };
  return image;
}

function makeIndex(files: LayoutFiles, mediaType: string, digest: Digest, raw: Uint8Array, index: ImageIndex, blobs: BlobSource): Index {
  return { kind: 'index', mediaType, digest, raw, index, blobs, child: (d) => loadArtifact(files, d, blobs) };
}

/** The names an entry of index.json goes by. */
export function refNames(desc: Descriptor): string[] {
  const a = desc.annotations ?? {};
  // berth (and containerd) write both, usually the same name: one name, named once.
  return [...new Set([a[Annotation.refName], a[Annotation.containerdImageName]].filter((n): n is string => typeof n === 'string'))];
}

/** Whether an index.json entry answers to `name`: its full name, or the tag of a full reference. */
function answersTo(desc: Descriptor, name: string): boolean {
  return refNames(desc).some((n) => n === name || n.endsWith(`:${name}`));
}

/**
 * Reads what an OCI layout holds under `name` (every entry of index.json when no name is
 * given). One entry gives that image or index; several (one per platform, as berth writes
 * them) are presented as one index, from which a platform can then be chosen.
 */
export async function readLayout(files: LayoutFiles, name?: string): Promise<Artifact> {
  const chosen = await layoutEntries(files, name);
  const blobs = layoutBlobs(files);
  if (chosen.length === 1) return loadArtifact(files, chosen[0]!, blobs);
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: chosen };
  const synthetic = encodeJson(index);
  return makeIndex(files, MediaType.ociIndex, sha256Of(synthetic), synthetic, index, blobs);
}

/** The entries of a layout's index.json that answer to `name` (all of them without one). */
export async function layoutEntries(files: LayoutFiles, name?: string): Promise<Descriptor[]> {
  if (!(await files.has('oci-layout'))) {
    throw new UsageError('BAD_LAYOUT', `${files.origin}: not an OCI image layout (no oci-layout file)`);
  }
  const raw = await files.read('index.json');
  const parsed = parseManifestOrIndex(raw, `${files.origin} index.json`, MediaType.ociIndex);
  if (parsed.kind !== 'index') throw new UsageError('BAD_LAYOUT', `${files.origin}: index.json is not an image index`);
  const all = parsed.index.manifests;
  const chosen = name === undefined ? all : all.filter((d) => answersTo(d, name));
  if (chosen.length === 0) {
    const names = [...new Set(all.flatMap(refNames))];
    const known = names.length ? `it has: ${names.join(', ')}` : 'it is empty';
    throw new UsageError('NOT_FOUND', `${files.origin}: no image named "${name ?? ''}" (${known})`);
  }
  return chosen;
}
