/**
 * Writing to a registry: an image or index pushed in the contract's order (blobs, child
 * manifests by digest, the artifact, its tags last), what is there skipped or mounted.
 */
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isIndexMediaType } from '../oci/mediatype.js';
import { formatPlatform } from '../oci/platform.js';
import type { Reference } from '../oci/reference.js';
import { RegistryError } from '../registry/registry-error.js';
import type { Registries } from '../registry/pool.js';
import { pushBlobs, type BlobToPush } from '../registry/push.js';
import { isRemoteBlobSource, type Artifact } from './image.js';
import { imagePlatform } from './select.js';

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

