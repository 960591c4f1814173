import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { verifyingStream } from '../blob/verify.js';
import { UsageError } from '../errors.js';
import { isDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { parseImageConfig, parseManifestOrIndex } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/mediatype.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import { BlobStore, defaultCacheDir } from '../registry/cache.js';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { withRegistries, type Registries, type RegistryOptions } from '../registry/pool.js';
import { pushBlobs, type BlobToPush } from '../registry/push.js';
import { isRemoteBlobSource, type Artifact, type Image, type Index, type RemoteBlobSource } from './image.js';
import { imagePlatform, selectImage } from './select.js';
import type { Transport } from './transport.js';

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

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
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

export interface WriteRegistryOptions {
  /** Tags to put the artifact under, after everything else; none pushes by digest only. */
  tags?: readonly string[];
  signal?: AbortSignal;
}

export interface PushResult {
  digest: Digest;
  mediaType: string;
  size: number;
  /** `registry/repo@digest` */
  reference: string;
  /** Every `registry/repo:tag` now pointing at the digest. */
  tags: string[];
  /** True when the registry already had it all and every tag already pointed at it. */
  upToDate: boolean;
  blobs: Record<'uploaded' | 'mounted' | 'existing' | 'skipped', number>;
  /** Bytes of the blobs that were uploaded. */
  uploadedBytes: number;
}

interface StoredManifest {
  mediaType: string;
  digest: Digest;
  raw: Uint8Array;
}

function manifestOf(a: Artifact): StoredManifest {
  return a.kind === 'image' ? { mediaType: a.mediaType, digest: a.digest, raw: a.manifestRaw } : { mediaType: a.mediaType, digest: a.digest, raw: a.raw };
}

/** Every blob and manifest an artifact consists of; manifests children first, the artifact last. */
async function collect(a: Artifact, out: { blobs: BlobToPush[]; manifests: StoredManifest[]; groups: Map<string, { blobs: number; bytes: number }>; mountFrom: Map<Digest, string> }, host: string, repo: string): Promise<void> {
  if (a.kind === 'index') {
    for (const desc of a.index.manifests) await collect(await a.child(desc), out, host, repo);
  } else {
    // Progress is shown per image: a release pushes several repositories at once.
    const group = `${repo} ${formatPlatform(imagePlatform(a))}`;
    const g = out.groups.get(group) ?? { blobs: 0, bytes: 0 };
    const configRaw = Buffer.from(a.configRaw);
    const src = a.blobs;
    const fromRepo = isRemoteBlobSource(src) && src.registry === host ? src.repository : undefined;
    const add = (desc: Descriptor, open: () => Promise<Readable>) => {
      // A blob shared by several images goes up once, counted in the first image's group.
      if (out.blobs.some((b) => b.desc.digest === desc.digest)) return;
      out.blobs.push({ desc, open, group });
      if (fromRepo) out.mountFrom.set(desc.digest, fromRepo);
      g.blobs++;
      g.bytes += desc.size;
    };
    for (const desc of a.manifest.layers) add(desc, () => src.open(desc));
    add(a.manifest.config, async () => Readable.from([configRaw]));
    out.groups.set(group, g);
  }
  const m = manifestOf(a);
  if (!out.manifests.some((x) => x.digest === m.digest)) out.manifests.push(m);
}

/**
 * Pushes an image or index to `target` (a registry and repository) in the contract's order:
 * blobs (existing ones skipped, known ones mounted, the rest uploaded, `jobs` at a time),
 * child manifests by digest, then the artifact itself under each tag (by digest when there
 * is no tag). A failure before the tags leaves no tag changed. When the registry already
 * has the artifact, only tags that point elsewhere are written.
 */
export async function writeRegistry(registries: Registries, artifact: Artifact, target: { registry: string; repository: string }, opts: WriteRegistryOptions = {}): Promise<PushResult> {
  const client = registries.client(target.registry);
  const repo = target.repository;
  client.forPush(repo);
  const name = `${target.registry}/${repo}`;
  const top = manifestOf(artifact);
  const tags = [...new Set(opts.tags ?? [])];
  const signal = opts.signal;
  const report = registries.reporter;
  const counts = { uploaded: 0, mounted: 0, existing: 0, skipped: 0 };
  const result = (upToDate: boolean, uploadedBytes = 0): PushResult => ({
    digest: top.digest,
    mediaType: top.mediaType,
    size: top.raw.length,
    reference: `${name}@${top.digest}`,
    tags: tags.map((t) => `${name}:${t}`),
    upToDate,
    blobs: counts,
    uploadedBytes,
  });
  const putTags = async (which: readonly string[]) => {
    for (const t of which) {
      await client.putManifest(repo, t, top, signal).catch((err) => {
        throw context(err, `pushing tag ${name}:${t}`);
      });
      report?.({ type: 'manifest', digest: top.digest, reference: `${name}:${t}` });
    }
  };

  // Already there? A stored manifest implies its blobs and children are there too.
  const stale: string[] = [];
  for (const t of tags) if ((await client.headManifest(repo, t, signal))?.digest !== top.digest) stale.push(t);
  if (tags.length > 0 && stale.length === 0) return result(true);
  if (await client.headManifest(repo, top.digest, signal)) {
    await putTags(stale);
    return result(stale.length === 0);
  }

  const plan = { blobs: [] as BlobToPush[], manifests: [] as StoredManifest[], groups: new Map<string, { blobs: number; bytes: number }>(), mountFrom: new Map<Digest, string>() };
  await collect(artifact, plan, target.registry, repo);
  for (const [group, g] of plan.groups) report?.({ type: 'plan', group, blobs: g.blobs, bytes: g.bytes });

  const locations = await registries.blobLocations(target.registry);
  const outcomes = await pushBlobs(client, repo, plan.blobs, {
    jobs: registries.jobs,
    mountFrom: (d) => [...(plan.mountFrom.has(d) ? [plan.mountFrom.get(d)!] : []), ...locations.reposFor(d)],
    ...(report ? { reporter: report } : {}),
    ...(signal ? { signal } : {}),
  });
  let uploadedBytes = 0;
  const sizes = new Map(plan.blobs.map((b) => [b.desc.digest, b.desc.size]));
  for (const [digest, how] of outcomes) {
    counts[how]++;
    if (how === 'uploaded') uploadedBytes += sizes.get(digest) ?? 0;
    if (how !== 'skipped') locations.add(digest, repo);
  }
  await locations.save();

  // Image manifests at once; nested indexes after them, children first (the registry checks
  // that what an index lists is there).
  const putByDigest = async (m: StoredManifest) => {
    await client.putManifest(repo, m.digest, m, signal).catch((err) => {
      throw context(err, `pushing manifest ${m.digest} to ${name}`);
    });
    report?.({ type: 'manifest', digest: m.digest, reference: `${name}@${m.digest}` });
  };
  const children = plan.manifests.filter((m) => m.digest !== top.digest);
  const limit = pLimit(registries.jobs);
  await Promise.all(children.filter((m) => !isIndexMediaType(m.mediaType)).map((m) => limit(() => putByDigest(m))));
  for (const m of children.filter((c) => isIndexMediaType(c.mediaType))) await putByDigest(m);
  // The top manifest by digest, then its tags: a tag is the last thing written (the contract's order).
  await putByDigest(top);
  await putTags(tags);
  return result(false, uploadedBytes);
}

function context(err: unknown, what: string): unknown {
  return err instanceof RegistryError && err.code !== 'UNAUTHORIZED' ? err.withContext(what) : err;
}

/** Checks a push target: a digest in it must be the artifact's. */
export function targetTags(target: Reference, artifact: Artifact, what: string): string[] {
  if (target.digest !== undefined && target.digest !== artifact.digest) {
    throw new UsageError('DIGEST_MISMATCH', `${what}: names ${target.digest}, but the image to push is ${artifact.digest}`);
  }
  return target.tag !== undefined ? [target.tag] : [];
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

/** An image in a registry: `docker://REF`, or a reference that cannot be a path. */
export type RegistryLocation = { kind: 'registry'; ref: Reference };

/**
 * Without the `docker://` prefix, text is a registry reference only when all of these hold,
 * so that a relative path such as `out/x.tar` is never taken for one: it is not an existing
 * path, it does not start with `/`, `.` or `~` and does not end in `.tar`, and its first
 * component names a registry host (holds a dot or a colon, or is `localhost`) before a `/`.
 */
function looksLikeRegistryReference(text: string): boolean {
  if (/^(oci|oci-archive|docker-archive):/.test(text) || /^[/.~]/.test(text) || text.endsWith('.tar')) return false;
  const slash = text.indexOf('/');
  if (slash <= 0) return false;
  const first = text.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

export const registryTransport: Transport<RegistryLocation> = {
  kind: 'registry',
  claims: (text, cwd) => text.startsWith('docker://') || (looksLikeRegistryReference(text) && !existsSync(resolve(cwd, text))),
  // `docker://REF` is always a reference, weakly parsed (`docker://alpine` is docker.io/library/alpine:latest).
  parse: (text, _cwd, what) =>
    text.startsWith('docker://') ? { kind: 'registry', ref: parseReference(text.slice('docker://'.length), { what }) } : { kind: 'registry', ref: parseReference(text, { what, strict: false }) },
  describe: (loc) => formatReference(loc.ref),
  read(loc, registries) {
    if (!registries) throw new Error(`reading ${formatReference(loc.ref)} needs registries`);
    return readRegistry(registries, loc.ref);
  },
  prepareWrite(loc, registries, names) {
    if (names.length) throw new UsageError('BAD_FLAG', `--tag names a local copy (image tarball or oci:DIR); for a registry, put the tag in the destination (${formatReference(loc.ref)})`);
    // Reach the destination registry (API check, credentials) while the source is read.
    registries.client(loc.ref.registry).prepare();
  },
  oneArtifact: true,
  async write(loc, artifact, opts) {
    const tags = targetTags(loc.ref, artifact, formatReference(loc.ref));
    const push = await writeRegistry(opts.registries, artifact, loc.ref, { tags, ...(opts.signal ? { signal: opts.signal } : {}) });
    return { destination: tags.length ? push.tags.join(', ') : push.reference, push };
  },
  // A registry source names what a local copy writes (RepoTags, ref.name) by its tag.
  defaultNames: (loc) => (loc.ref.tag !== undefined ? [formatReference({ registry: loc.ref.registry, repository: loc.ref.repository, tag: loc.ref.tag })] : []),
};
