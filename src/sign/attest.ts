/**
 * Attaching a signed statement (a DSSE envelope) to an image in a registry, both ways tools
 * look for one:
 *
 * - cosign's: a layer of the `sha256-<hex>.att` manifest beside the image (media type
 *   `application/vnd.dsse.envelope.v1+json`, annotation `predicateType`), as `cosign attest`
 *   writes and `cosign verify-attestation` reads. An earlier statement of the same predicate
 *   type is replaced (`cosign attest --replace`), others are kept.
 * - OCI 1.1's: a referrer manifest (`subject` = the image, `artifactType`
 *   `application/vnd.in-toto+json`, config the empty descriptor, the envelope its one layer).
 *   A registry with the referrers API says so in `OCI-Subject`; for one without (distribution
 *   2.8), the referrers tag schema: an index under `sha256-<hex>` listing the referrers, to
 *   which this one is added (an earlier one of the same predicate type replaced).
 *
 * Blobs go first, then the manifests that name them, the index last: nothing points at what is
 * not there. Notary signers then sign the `.att` tag through their service.
 */
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { OperationalError } from '../errors.js';
import { digestHex, sha256Of, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/registry-error.js';
import type { Registries } from '../registry/pool.js';
import { DSSE_MEDIA_TYPE, envelopeBytes, pae, parseEnvelope, signEnvelope } from './dsse.js';
import { buildSignatureArtifact } from './signature-manifest.js';
import { IN_TOTO_PAYLOAD_TYPE } from './provenance-statement.js';
import { readSignatureManifest, settleAll } from './sign.js';
import { requireKeySigner, type ImageSigner, type SignatureRecord, type SignTarget } from './signer.js';
import { SIGNATURE_ANNOTATION } from './signature.js';
import { readAll } from '../util/streams.js';

/** The annotation cosign puts on an attestation layer. */
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';
/** The annotation a referrer (and its layer) carries, as BuildKit's attestations do. */
export const INTOTO_PREDICATE_ANNOTATION = 'in-toto.io/predicate-type';
export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', bytes: Buffer.from('{}') } as const;

/** `sha256-<hex>.att`: where cosign keeps attestations of `digest`. */
export function attestationTag(digest: Digest): string {
  return `${referrersTag(digest)}.att`;
}

/** `sha256-<hex>`: the referrers tag schema's tag for `digest`. */
export function referrersTag(digest: Digest): string {
  return `${digest.slice(0, digest.indexOf(':'))}-${digestHex(digest)}`;
}

export interface AttestTarget extends SignTarget {
  /** The image's manifest media type (the referrer's subject descriptor). */
  mediaType: string;
  size: number;
  /** The statement's bytes (in-toto JSON). */
  statement: Uint8Array;
  predicateType: string;
}

export interface AttestedImage {
  /** `registry/repo@digest` of the image. */
  reference: string;
  digest: Digest;
  predicateType: string;
  /** `registry/repo:sha256-<hex>.att` and the manifest there now. */
  attestationTag: string;
  attestationManifest: Digest;
  attestationManifestSize: number;
  /** The referrer manifest (`registry/repo@sha256:…`). */
  referrer: string;
  /** How the referrer is found: the registry's referrers API, or the tag schema's index (`registry/repo:sha256-<hex>`). */
  referrers: 'api' | string;
  /** Who signed the envelope (key signers), and who signed the `.att` tag (services). */
  signers: string[];
  signatures: SignatureRecord[];
}


const upload = (client: RegistryClient, repo: string, mediaType: string, bytes: Uint8Array, signal?: AbortSignal) =>
  client.uploadBlob(repo, { mediaType, digest: sha256Of(bytes), size: bytes.length }, async () => Readable.from([Buffer.from(bytes)]), signal ? { signal } : {});

/** The referrer manifest's bytes for an envelope about `subject`. */
export function referrerManifest(envelope: Descriptor, subject: Descriptor, predicateType: string): Buffer {
  const emptyDigest = sha256Of(EMPTY_CONFIG.bytes);
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: IN_TOTO_PAYLOAD_TYPE,
      config: { mediaType: EMPTY_CONFIG.mediaType, digest: emptyDigest, size: EMPTY_CONFIG.bytes.length },
      layers: [{ mediaType: envelope.mediaType, digest: envelope.digest, size: envelope.size, annotations: { [INTOTO_PREDICATE_ANNOTATION]: predicateType } }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: { [INTOTO_PREDICATE_ANNOTATION]: predicateType },
    }),
    'utf8',
  );
}

interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The referrers tag schema's index of `subject` (its manifests), empty when there is none. */
async function readReferrersIndex(client: RegistryClient, repo: string, subject: Digest, signal?: AbortSignal): Promise<IndexEntry[]> {
  const tag = referrersTag(subject);
  try {
    const m = await client.getManifest(repo, tag, signal);
    const parsed = JSON.parse(Buffer.from(m.raw).toString('utf8')) as { manifests?: IndexEntry[] };
    if (!Array.isArray(parsed.manifests)) throw new OperationalError('BAD_MANIFEST', `${client.host}/${repo}:${tag}: is not a referrers index (no manifests list)`);
    return parsed.manifests;
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'NOT_FOUND') return [];
    throw err;
  }
}

/** Adds `entry` to the referrers tag schema's index of `subject` (`had`: what it held), replacing an earlier entry of the same artifact and predicate type. */
async function addToReferrersIndex(client: RegistryClient, repo: string, subject: Digest, entry: IndexEntry, had: Promise<IndexEntry[]>, signal?: AbortSignal): Promise<void> {
  const tag = referrersTag(subject);
  const manifests = await had;
  const predicate = entry.annotations?.[INTOTO_PREDICATE_ANNOTATION];
  if (manifests.some((d) => d.digest === entry.digest)) return;
  const kept = manifests.filter((d) => !(d.artifactType === entry.artifactType && d.annotations?.[INTOTO_PREDICATE_ANNOTATION] === predicate));
  const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...kept, entry] }), 'utf8');
  await client.putManifest(repo, tag, { mediaType: MediaType.ociIndex, raw, digest: sha256Of(raw) }, signal);
}

/** The bytes of an envelope in `layers` over the same statement, verified by every signer; undefined when there is none. */
async function sameEnvelope(client: RegistryClient, repo: string, layers: readonly Descriptor[], t: AttestTarget, signers: readonly ImageSigner[], signal?: AbortSignal): Promise<Buffer | undefined> {
  for (const l of layers) {
    if (l.mediaType !== DSSE_MEDIA_TYPE || l.annotations?.[PREDICATE_TYPE_ANNOTATION] !== t.predicateType || l.size > 4 << 20) continue;
    try {
      const raw = await readAll(await client.fetchBlob(repo, l, signal));
      const e = parseEnvelope(raw, `${client.host}/${repo}@${l.digest}`);
      if (e.payloadType !== IN_TOTO_PAYLOAD_TYPE || !e.body.equals(Buffer.from(t.statement))) continue;
      const bytes = pae(e.payloadType, e.body);
      if (signers.every((s) => s.verifyBytes && e.signatures.some((x) => s.verifyBytes!(bytes, x.sig)))) return raw;
    } catch (err) {
      if (signal?.aborted) throw err;
      // unreadable: a new envelope replaces it
    }
  }
  return undefined;
}

/**
 * Signs each target's statement into a DSSE envelope with every signer that signs bytes, and
 * attaches it both ways (above); then every service signer signs the `.att` tag. `jobs`
 * images at a time; every image settles before a failure is raised.
 */
export async function attestTargets(registries: Registries, targets: readonly AttestTarget[], signers: readonly ImageSigner[], opts: { jobs?: number; signal?: AbortSignal } = {}): Promise<AttestedImage[]> {
  const keySigners = signers.filter((s): s is ImageSigner & Required<Pick<ImageSigner, 'signBytes'>> => typeof s.signBytes === 'function');
  requireKeySigner(signers, 'add a cosign-key signer or --key');
  const services = signers.filter((s) => typeof s.signBytes !== 'function');
  const signal = opts.signal;
  const limit = pLimit(opts.jobs ?? registries.jobs);
  // The empty config is the same two bytes for every referrer: once per repository, mounted
  // from a repository of the same registry that has it already (one request, not two).
  const emptyUploads = new Map<string, Promise<void>>();
  const emptyDone = new Map<string, string>();
  const emptyDesc: Descriptor = { mediaType: EMPTY_CONFIG.mediaType, digest: sha256Of(EMPTY_CONFIG.bytes), size: EMPTY_CONFIG.bytes.length };
  const emptyConfigIn = (client: RegistryClient, repo: string) => {
    const k = `${client.host}/${repo}`;
    let p = emptyUploads.get(k);
    if (!p) {
      const from = emptyDone.get(client.host);
      p = (async () => {
        if (from !== undefined) {
          const m = await client.mountBlob(repo, emptyDesc, from, signal);
          if (m.mounted) return;
          await client.uploadBlob(repo, emptyDesc, async () => Readable.from([Buffer.from(EMPTY_CONFIG.bytes)]), { location: m.location, ...(signal ? { signal } : {}) });
        } else await upload(client, repo, EMPTY_CONFIG.mediaType, EMPTY_CONFIG.bytes, signal);
        if (!emptyDone.has(client.host)) emptyDone.set(client.host, repo);
      })();
      emptyUploads.set(k, p);
    }
    return p;
  };
  // A registry that answered a referrer with OCI-Subject has the referrers API: no index to read.
  const apiHosts = new Set<string>();
  // Two targets about one image in one repository (two predicate types) share its .att tag and
  // referrers index: their read-modify-writes go one after the other.
  const chains = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, job: () => Promise<T>): Promise<T> => {
    const p = (chains.get(key) ?? Promise.resolve()).catch(() => {}).then(job);
    chains.set(key, p);
    return p;
  };
  const attested = await settleAll(
    targets.map((t) =>
      limit(() => serial(`${t.registry}/${t.repository}@${t.digest}`, async (): Promise<AttestedImage> => {
        const client = registries.client(t.registry);
        const repo = t.repository;
        client.forPush(repo);
        const attTag = attestationTag(t.digest);
        // Both read at once: what the .att tag and the referrers index hold now.
        const indexSkipped = apiHosts.has(client.host);
        const indexP = indexSkipped ? Promise.resolve([]) : readReferrersIndex(client, repo, t.digest, signal);
        indexP.catch(() => {}); // awaited below, where a failure is raised
        const existing = await readSignatureManifest(client, repo, attTag, signal);
        // ECDSA signatures differ on every signing: an envelope there with the same statement,
        // signed by every one of these keys, is kept, so a re-run changes nothing.
        const envelope = (await sameEnvelope(client, repo, existing?.manifest.layers ?? [], t, keySigners, signal)) ?? envelopeBytes(signEnvelope(IN_TOTO_PAYLOAD_TYPE, t.statement, keySigners));
        const envDigest = sha256Of(envelope);
        // cosign's .att manifest: this envelope in place of an earlier one of its predicate type.
        const layer: Descriptor = { mediaType: DSSE_MEDIA_TYPE, digest: envDigest, size: envelope.length, annotations: { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: t.predicateType } };
        const others = (existing?.manifest.layers ?? []).filter((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION] !== t.predicateType);
        const artifact = buildSignatureArtifact([...others, layer], existing?.manifest);
        const attChanged = existing?.digest !== artifact.manifest.digest;
        // The OCI referrer about the image.
        const subject: Descriptor = { mediaType: t.mediaType, digest: t.digest, size: t.size };
        const refRaw = referrerManifest({ mediaType: DSSE_MEDIA_TYPE, digest: envDigest, size: envelope.length }, subject, t.predicateType);
        const refDigest = sha256Of(refRaw);
        // The blobs first (the envelope, the referrer's empty config, the .att config), then
        // the manifests that name them, the referrers index last.
        await Promise.all([
          upload(client, repo, DSSE_MEDIA_TYPE, envelope, signal),
          emptyConfigIn(client, repo),
          ...(attChanged ? [upload(client, repo, artifact.config.mediaType, artifact.config.raw, signal)] : []),
        ]);
        const [, put] = await Promise.all([
          attChanged ? client.putManifest(repo, attTag, artifact.manifest, signal) : undefined,
          client.putManifest(repo, refDigest, { mediaType: MediaType.ociManifest, raw: refRaw, digest: refDigest }, signal),
        ]);
        const attDigest = artifact.manifest.digest;
        let referrers: string = 'api';
        if (put.ociSubject !== undefined) apiHosts.add(client.host);
        else {
          await addToReferrersIndex(client, repo, t.digest, { mediaType: MediaType.ociManifest, digest: refDigest, size: refRaw.length, artifactType: IN_TOTO_PAYLOAD_TYPE, annotations: { [INTOTO_PREDICATE_ANNOTATION]: t.predicateType } }, indexSkipped ? readReferrersIndex(client, repo, t.digest, signal) : indexP, signal);
          referrers = `${t.registry}/${repo}:${referrersTag(t.digest)}`;
        }
        return {
          reference: `${t.registry}/${repo}@${t.digest}`,
          digest: t.digest,
          predicateType: t.predicateType,
          attestationTag: `${t.registry}/${repo}:${attTag}`,
          attestationManifest: attDigest,
          attestationManifestSize: artifact.manifest.raw.length,
          referrer: `${t.registry}/${repo}@${refDigest}`,
          referrers,
          signers: keySigners.map((s) => s.name),
          signatures: [],
        };
      })),
    ),
  );
  // Service signers sign the .att tags, each in one request for all of them.
  for (const s of services) {
    const records = await s.signImages(
      attested.map((a, i) => ({ registry: targets[i]!.registry, repository: targets[i]!.repository, digest: a.attestationManifest, tags: [attestationTag(a.digest)], size: a.attestationManifestSize })),
      { registries, ...(signal ? { signal } : {}) },
    );
    records.forEach((r, i) => {
      attested[i]!.signatures.push(r);
      if (r.status === 'added') attested[i]!.signers.push(r.signer);
    });
  }
  return attested;
}
