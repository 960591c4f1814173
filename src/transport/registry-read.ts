/**
 * Reading from a registry: a manifest or index by tag or digest (mirrors first for digests),
 * an image's config, its layers when opened, all through the local blob cache when given one.
 */
import { createReadStream } from 'node:fs';
import pLimit from 'p-limit';
import { verifyingStream } from '../blob/verify-stream.js';
import { isDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { parseImageConfig, parseManifestOrIndex } from '../oci/manifest.js';
import type { Platform } from '../oci/platform.js';
import type { Reference } from '../oci/reference.js';
import { BlobStore, defaultCacheDir } from '../registry/blob-cache.js';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/registry-error.js';
import { withRegistries, type Registries, type RegistryOptions } from '../registry/pool.js';
import { isRemoteBlobSource, type Artifact, type Image, type Index, type RemoteBlobSource } from './image.js';
import { selectImage } from './select.js';
import { readAll } from '../util/streams.js';

export { isRemoteBlobSource, type RemoteBlobSource };

function remoteBlobs(client: RegistryClient, repo: string, cache?: BlobStore): RemoteBlobSource {
  const origin = `${client.host}/${repo}`;
  return {
    origin,
    registry: client.host,
    repository: repo,
    async open(desc) {
      if (!cache) return client.fetchBlob(repo, desc);
      if (!cache.has(desc.digest)) await cache.fill(desc, await client.fetchBlob(repo, desc));
      return createReadStream(cache.pathOf(desc.digest)).pipe(verifyingStream(desc, `${cache.dir} (cache of ${origin})`));
    },
    ...(cache ? { localPath: (desc: Descriptor) => (cache.has(desc.digest) ? cache.pathOf(desc.digest) : undefined) } : {}),
  };
}


/**
 * Loads the manifest or index `reference` (a tag or digest) names, and an image's config;
 * layers stay remote until opened. With a cache, what is named by digest is read from it
 * when there, and what is fetched is kept.
 */
async function loadRemote(client: RegistryClient, repo: string, reference: string, blobs: RemoteBlobSource, cache?: BlobStore, expected?: Descriptor): Promise<Artifact> {
  const where = `${client.host}/${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
  let raw: Uint8Array | undefined;
  let mediaType = expected?.mediaType;
  let digest: Digest | undefined;
  if (cache && isDigest(reference)) {
    raw = await cache.read({ digest: reference, ...(expected ? { size: expected.size } : {}) });
    if (raw) digest = reference;
  }
  if (!raw || !digest) {
    const m = await client.getManifest(repo, reference);
    raw = m.raw;
    digest = m.digest;
    mediaType ??= m.mediaType;
    if (expected && raw.length !== expected.size) {
      throw new RegistryError('DIGEST_MISMATCH', `${where}: manifest has ${raw.length} bytes, its descriptor says ${expected.size}`, { method: 'GET', url: where, registryCodes: [], temporary: false });
    }
    await cache?.write(digest, raw);
  }
  const parsed = parseManifestOrIndex(raw, where, mediaType);
  if (parsed.kind === 'index') {
    const index: Index = {
      kind: 'index',
      mediaType: parsed.mediaType,
      digest,
      raw,
      index: parsed.index,
      blobs,
      child: (d) => loadRemote(client, repo, d.digest, blobs, cache, d),
    };
    return index;
  }
  const configDesc = parsed.manifest.config;
  const configRaw = (await cache?.read(configDesc)) ?? (await readAll(await blobs.open(configDesc)));
  const image: Image = {
    kind: 'image',
    mediaType: parsed.mediaType,
    digest,
    manifestRaw: raw,
    manifest: parsed.manifest,
    configRaw,
    config: parseImageConfig(configRaw, `${where} config ${configDesc.digest}`),
    blobs,
  };
  return image;
}

/**
 * Reads the image or index a registry reference names (the digest wins over a tag). Its
 * digest is checked against the bytes and the registry's Docker-Content-Digest; children
 * and layers are fetched when asked for, each checked against its descriptor.
 */
export async function readRegistry(registries: Registries, ref: Reference, opts: { cache?: BlobStore; originOnly?: boolean } = {}): Promise<Artifact> {
  const client = registries.client(ref.registry);
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const blobs = remoteBlobs(client, ref.repository, opts.cache);
  // Content named by digest is the same wherever it is read: a mirror first, then the origin.
  if (ref.digest !== undefined && !opts.originOnly) {
    for (const m of registries.mirrorsFor(ref.registry)) {
      const mirror = registries.client(m.host);
      const repo = m.prefix ? `${m.prefix}/${ref.repository}` : ref.repository;
      try {
        return await loadRemote(mirror, repo, ref.digest, withFallback(remoteBlobs(mirror, repo, opts.cache), blobs), opts.cache);
      } catch (err) {
        registries.log(`mirror ${m.host}/${repo}@${ref.digest}: ${err instanceof Error ? err.message : String(err)}; trying the next source`);
      }
    }
  }
  return loadRemote(client, ref.repository, reference, blobs, opts.cache);
}

/** Blobs from a mirror, each fetched from the origin when the mirror cannot give it. */
function withFallback(mirror: RemoteBlobSource, origin: RemoteBlobSource): RemoteBlobSource {
  return {
    ...origin,
    async open(desc) {
      try {
        return await mirror.open(desc);
      } catch {
        return origin.open(desc);
      }
    },
  };
}

/** Fetches every layer of an image into its cache, `jobs` at a time (a registry base for a build). */
export async function prefetchLayers(image: Image, jobs: number): Promise<void> {
  const blobs = image.blobs;
  if (!isRemoteBlobSource(blobs) || !blobs.localPath) return;
  const limit = pLimit(jobs);
  await Promise.all(
    image.manifest.layers.map((desc) =>
      limit(async () => {
        if (blobs.localPath!(desc) === undefined) (await blobs.open(desc)).destroy();
      }),
    ),
  );
}

export type { RegistryOptions };

/**
 * A registry base for a build, through the local content-addressed cache: the image for
 * `platform` (or the only one) is read, and every layer fetched into the cache, so its blobs
 * are local files afterwards. What is named by digest and cached is not fetched again: a
 * base pinned `@sha256:…` needs no network the second time.
 */
export async function pullBaseImage(ref: Reference, platform: Platform | undefined, opts: RegistryOptions, where: string): Promise<Image> {
  const cache = new BlobStore(opts.cacheDir ?? defaultCacheDir(opts.env ?? process.env));
  return withRegistries(opts, async (registries) => {
    const image = await selectImage(await readRegistry(registries, ref, { cache }), platform, where);
    await prefetchLayers(image, registries.jobs);
    return image;
  });
}

