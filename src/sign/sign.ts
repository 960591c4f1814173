/**
 * Signing images in registries, cosign's way: resolve each reference to its manifest digest
 * (with `recursive`, every image of an index too), sign the simple-signing payload with each
 * key, and add one layer per signature to the `sha256-<hex>.sig` manifest in the image's
 * repository (or the signature repository, as `$COSIGN_REPOSITORY`). An existing signature
 * manifest is kept and extended; a signature by the same key over the same payload is not
 * added twice. After the write the tag is read back: when another signer replaced it in the
 * meantime, the merge is done again.
 */
import { Readable } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import pLimit from 'p-limit';
import { OperationalError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { parseManifestOrIndex } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/mediatype.js';
import type { Reference } from '../oci/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/registry-error.js';
import type { Registries } from '../registry/pool.js';
import { buildSignatureArtifact, parseSignatureManifest, type SignatureManifest } from './signature-manifest.js';
import { SIGNATURE_ANNOTATION, verifyPayload } from './signature.js';
import type { ImageSigner, SignatureRecord, SignRun, SignTarget } from './signer.js';
import { readAll } from '../util/streams.js';

export type { SignatureRepository } from './signer.js';

/** An image to sign: a repository and a manifest digest (with its size and the tags that named it, when known). */
export type ImageTarget = SignTarget;

export interface SignOptions extends Omit<SignRun, 'registries'> {
  /** Sign every image an index lists too. */
  recursive?: boolean;
}

export interface SignedImage {
  /** `registry/repo@digest` of the image signed. */
  reference: string;
  digest: Digest;
  /** `registry/repo:sha256-<hex>.sig`, when a cosign key signed. */
  signatureTag?: string;
  /** The signature manifest's digest after the write. */
  signatureManifest?: Digest;
  /** Signers whose signature was added. */
  added: string[];
  /** Signers whose signature over the same payload was there already. */
  present: string[];
  /** What each signer did, in the order of the signers. */
  signatures: SignatureRecord[];
}

const name = (t: { registry: string; repository: string }) => `${t.registry}/${t.repository}`;

/**
 * The digest a reference names (a tag is resolved with a HEAD; a digest is checked to exist)
 * and its media type. A missing image is an OperationalError naming it.
 */
export async function resolveImage(registries: Registries, ref: Reference, signal?: AbortSignal): Promise<{ digest: Digest; mediaType: string; size: number }> {
  const client = registries.client(ref.registry);
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const shown = `${name(ref)}${ref.digest ? `@${ref.digest}` : `:${reference}`}`;
  const desc = await client.headManifest(ref.repository, reference, signal).catch((err) => {
    throw err instanceof RegistryError && err.code !== 'UNAUTHORIZED' ? err.withContext(`resolving ${shown}`) : err;
  });
  if (!desc) throw new OperationalError('NOT_FOUND', `${shown}: no such image in the registry (check the name and tag, and that it was pushed)`);
  return { digest: desc.digest, mediaType: desc.mediaType, size: desc.size };
}

/** Every manifest digest an index lists, recursively (nested indexes included). */
async function childrenOf(client: RegistryClient, repository: string, digest: Digest, signal: AbortSignal | undefined, seen: Set<string>): Promise<Descriptor[]> {
  const m = await client.getManifest(repository, digest, signal);
  const parsed = parseManifestOrIndex(m.raw, `${client.host}/${repository}@${digest}`, m.mediaType);
  if (parsed.kind !== 'index') return [];
  const out: Descriptor[] = [];
  for (const d of parsed.index.manifests) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    out.push(d);
    if (isIndexMediaType(d.mediaType)) out.push(...(await childrenOf(client, repository, d.digest, signal, seen)));
  }
  return out;
}

/** The images to sign for `refs`: each resolved, with children when recursive, each once. */
export async function resolveTargets(registries: Registries, refs: readonly Reference[], opts: { recursive?: boolean; signal?: AbortSignal; jobs?: number } = {}): Promise<ImageTarget[]> {
  const limit = pLimit(opts.jobs ?? registries.jobs);
  const lists = await settleAll(
    refs.map((ref) =>
      limit(async () => {
        const { digest, mediaType, size } = await resolveImage(registries, ref, opts.signal);
        const targets: ImageTarget[] = [{ registry: ref.registry, repository: ref.repository, digest, size, ...(ref.digest === undefined ? { tags: [ref.tag ?? 'latest'] } : {}) }];
        if (opts.recursive && isIndexMediaType(mediaType)) {
          const kids = await childrenOf(registries.client(ref.registry), ref.repository, digest, opts.signal, new Set([digest]));
          for (const d of kids) targets.push({ registry: ref.registry, repository: ref.repository, digest: d.digest, size: d.size });
        }
        return targets;
      }),
    ),
  );
  // Each image once; the tags of every reference that named it kept.
  const byKey = new Map<string, ImageTarget>();
  for (const t of lists.flat()) {
    const k = `${name(t)}@${t.digest}`;
    const had = byKey.get(k);
    if (!had) byKey.set(k, t);
    else if (t.tags) byKey.set(k, { ...had, tags: [...new Set([...(had.tags ?? []), ...t.tags])] });
  }
  return [...byKey.values()];
}

/** Promise.all that waits for every promise before raising the first failure. */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The signature manifest under `tag`, or undefined when there is none. */
export async function readSignatureManifest(client: RegistryClient, repository: string, tag: string, signal?: AbortSignal): Promise<{ digest: Digest; manifest: SignatureManifest } | undefined> {
  let m;
  try {
    m = await client.getManifest(repository, tag, signal);
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
  const where = `${client.host}/${repository}:${tag}`;
  const parsed = parseManifestOrIndex(m.raw, where, m.mediaType);
  if (parsed.kind !== 'manifest') throw new OperationalError('BAD_MANIFEST', `${where}: is an index, not a signature manifest`);
  // The config only carries `created`, which a rewrite keeps; one that cannot be read is replaced.
  const configRaw = await client
    .fetchBlob(repository, parsed.manifest.config, signal)
    .then(readAll)
    .catch(() => undefined);
  return { digest: m.digest, manifest: parseSignatureManifest(m.raw, where, m.mediaType, configRaw) };
}

export interface NewSignature {
  signer: { name: string; publicKey: KeyObject };
  payload: Uint8Array;
  layer: Descriptor;
}

const MERGE_TRIES = 4;

/**
 * Adds `sigs` to the signature manifest `tag` of `repository`: reads what is there, appends
 * each signature not already present (same payload, verified by the same key), pushes the
 * payload blobs and the new config, writes the manifest, and reads the tag back; a tag that a
 * concurrent writer replaced in between is merged again.
 */
export async function addSignatures(client: RegistryClient, repository: string, tag: string, sigs: readonly NewSignature[], signal?: AbortSignal): Promise<{ digest: Digest; added: string[]; present: string[] }> {
  client.forPush(repository);
  for (let attempt = 1; ; attempt++) {
    const existing = await readSignatureManifest(client, repository, tag, signal);
    const layers = [...(existing?.manifest.layers ?? [])];
    const added: NewSignature[] = [];
    const present: string[] = [];
    for (const s of sigs) {
      const there = layers.some((l) => l.digest === s.layer.digest && verifyPayload(s.payload, l.annotations?.[SIGNATURE_ANNOTATION] ?? '', s.signer.publicKey));
      if (there) present.push(s.signer.name);
      else {
        layers.push(s.layer);
        added.push(s);
      }
    }
    if (added.length === 0) return { digest: existing!.digest, added: [], present };
    const artifact = buildSignatureArtifact(layers, existing?.manifest);
    // Uploaded without a HEAD first: a payload already in the manifest is in the repository
    // (another key signed the same bytes); anything else is new, and tiny.
    const there = new Set((existing?.manifest.layers ?? []).map((l) => l.digest as string));
    const blobs = new Map<string, { desc: Descriptor; bytes: Uint8Array }>();
    for (const s of added) if (!there.has(s.layer.digest)) blobs.set(s.layer.digest, { desc: s.layer, bytes: s.payload });
    blobs.set(artifact.config.digest, { desc: { mediaType: artifact.config.mediaType, digest: artifact.config.digest, size: artifact.config.raw.length }, bytes: artifact.config.raw });
    await Promise.all([...blobs.values()].map((b) => client.uploadBlob(repository, b.desc, async () => Readable.from([Buffer.from(b.bytes)]), signal ? { signal } : {})));
    await client.putManifest(repository, tag, artifact.manifest, signal);
    const back = await client.headManifest(repository, tag, signal);
    if (back?.digest === artifact.manifest.digest) return { digest: artifact.manifest.digest, added: added.map((s) => s.signer.name), present };
    if (attempt >= MERGE_TRIES) {
      throw new OperationalError('REGISTRY', `${client.host}/${repository}:${tag}: another writer kept replacing the signature manifest; gave up after ${attempt} tries`);
    }
  }
}

/**
 * Signs every image `targets` names with every signer, one signer after the other (each
 * `jobs` images at a time), and returns what each did for each image. A signer that fails
 * stops the run (what the earlier ones signed stays).
 */
export async function signTargets(registries: Registries, targets: readonly ImageTarget[], signers: readonly ImageSigner[], opts: Omit<SignOptions, 'recursive'> = {}): Promise<SignedImage[]> {
  const run: SignRun = { registries, ...opts };
  const out: SignedImage[] = targets.map((t) => ({ reference: `${name(t)}@${t.digest}`, digest: t.digest, added: [], present: [], signatures: [] }));
  for (const signer of signers) {
    const records = await signer.signImages(targets, run);
    records.forEach((r, i) => {
      const o = out[i]!;
      o.signatures.push(r);
      if (r.status === 'added') o.added.push(r.signer);
      if (r.status === 'present') o.present.push(r.signer);
      if (r.manifest && o.signatureTag === undefined) {
        o.signatureTag = r.where;
        o.signatureManifest = r.manifest;
      } else if (r.manifest && o.signatureTag === r.where) o.signatureManifest = r.manifest;
    });
  }
  return out;
}

/** Resolves `refs` and signs them: `berth sign`. */
export async function signImages(registries: Registries, refs: readonly Reference[], signers: readonly ImageSigner[], opts: SignOptions = {}): Promise<SignedImage[]> {
  const targets = await resolveTargets(registries, refs, { ...(opts.recursive ? { recursive: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.jobs ? { jobs: opts.jobs } : {}) });
  const { recursive: _r, ...rest } = opts;
  return signTargets(registries, targets, signers, rest);
}
