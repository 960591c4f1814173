/**
 * Verification as cosign's spec states it: find the signature manifest by tag
 * (`sha256-<hex>.sig` of the image's digest), and for each layer check that the payload blob
 * is what its descriptor names (digest and size), that the signature in
 * `dev.cosignproject.cosign/signature` is the key's over those bytes, that the payload's
 * `critical.image.docker-manifest-digest` is the image's digest, its `critical.type` is
 * cosign's, and that every annotation asked for is in `optional` with that value. An image
 * verifies when at least one layer passes every check; each layer that fails says which check.
 */
import type { KeyObject } from 'node:crypto';
import pLimit from 'p-limit';
import { OperationalError } from '../errors.js';
import { sha256Of, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Reference } from '../oci/reference.js';
import { RegistryError } from '../registry/registry-error.js';
import type { Registries } from '../registry/pool.js';
import { SIMPLE_SIGNING_MEDIA_TYPE, signatureTag } from './signature-manifest.js';
import { annotationMismatches, parsePayload, type SimpleSigningPayload } from './payload.js';
import { resolveImage, readSignatureManifest, type SignatureRepository } from './sign.js';
import { SIGNATURE_ANNOTATION, verifyPayload } from './signature.js';
import { readAll } from '../util/streams.js';

/** Which check a signature failed. */
export type FailedCheck = 'layer' | 'signature' | 'payload' | 'digest' | 'annotations';

export type LayerVerdict = { ok: true; payload: SimpleSigningPayload } | { ok: false; check: FailedCheck; reason: string };

const short = (d: string) => `${d.slice(0, 19)}…`;

/**
 * The checks of one signature layer, given the payload bytes fetched for it. Pure: the same
 * rules verify a layer read from a registry and one kept in a file.
 */
export function verifyLayer(desc: Descriptor, payload: Uint8Array, key: KeyObject, imageDigest: string, annotations: Readonly<Record<string, string>> = {}): LayerVerdict {
  if (desc.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return { ok: false, check: 'layer', reason: `is ${desc.mediaType}, not a simple-signing payload` };
  if (payload.length !== desc.size || sha256Of(payload) !== desc.digest) return { ok: false, check: 'layer', reason: `payload does not match the layer's digest ${desc.digest}` };
  const signature = desc.annotations?.[SIGNATURE_ANNOTATION];
  if (!signature) return { ok: false, check: 'signature', reason: `has no ${SIGNATURE_ANNOTATION} annotation` };
  if (!verifyPayload(payload, signature, key)) return { ok: false, check: 'signature', reason: 'the signature does not verify with the key (signed with another key, or the payload was changed)' };
  let parsed: SimpleSigningPayload;
  try {
    parsed = parsePayload(payload);
  } catch (err) {
    return { ok: false, check: 'payload', reason: (err as Error).message };
  }
  if (parsed.digest !== imageDigest) return { ok: false, check: 'digest', reason: `signs ${parsed.digest}, not this image's ${imageDigest}` };
  const wrong = annotationMismatches(parsed.optional, annotations);
  if (wrong.length > 0) return { ok: false, check: 'annotations', reason: `annotation mismatch: ${wrong.join(', ')}` };
  return { ok: true, payload: parsed };
}

export interface VerifiedSignature {
  layer: Digest;
  payload: SimpleSigningPayload;
  /** The payload as signed, for printing. */
  text: string;
}

export interface RejectedSignature {
  layer: Digest;
  check: FailedCheck;
  reason: string;
}

export interface VerifyResult {
  /** `registry/repo@digest` */
  reference: string;
  digest: Digest;
  /** `registry/repo:sha256-<hex>.sig` */
  signatureTag: string;
  verified: VerifiedSignature[];
  rejected: RejectedSignature[];
}

export interface VerifyOptions {
  annotations?: Readonly<Record<string, string>>;
  signatureRepository?: SignatureRepository;
  signal?: AbortSignal;
}

/**
 * Reads an image's signatures and checks each against `key`. Returns what verified and what
 * did not (never throws for a signature that fails); throws when the image or its signature
 * manifest cannot be found (OperationalError, NOT_FOUND / NO_SIGNATURES) or the registry fails.
 */
export async function verifyImage(registries: Registries, ref: Reference, key: KeyObject, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const signal = opts.signal;
  const repoName = `${ref.registry}/${ref.repository}`;
  // A digest is used as given (cosign does the same: it reads only the signatures); a tag is resolved.
  const digest = ref.digest ?? (await resolveImage(registries, ref, signal)).digest;
  const sigRepo = opts.signatureRepository ?? ref;
  const client = registries.client(sigRepo.registry);
  const tag = signatureTag(digest);
  const where = `${sigRepo.registry}/${sigRepo.repository}:${tag}`;
  const found = await readSignatureManifest(client, sigRepo.repository, tag, signal);
  if (!found || found.manifest.layers.length === 0) {
    if (ref.digest) await resolveImage(registries, ref, signal);
    throw new OperationalError('NO_SIGNATURES', `${repoName}@${digest}: no signatures found (${where} ${found ? 'has no layers' : 'does not exist'})`);
  }
  const limit = pLimit(registries.jobs);
  const verdicts = await Promise.all(
    found.manifest.layers.map((desc) =>
      limit(async (): Promise<{ desc: Descriptor; payload?: Buffer; verdict: LayerVerdict }> => {
        if (desc.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) return { desc, verdict: verifyLayer(desc, new Uint8Array(0), key, digest) };
        let payload: Buffer;
        try {
          payload = await readAll(await client.fetchBlob(sigRepo.repository, desc, signal));
        } catch (err) {
          if (err instanceof RegistryError && err.code === 'NOT_FOUND') return { desc, verdict: { ok: false, check: 'layer', reason: 'payload blob is missing from the registry' } };
          if (err instanceof OperationalError && err.code === 'DIGEST_MISMATCH') return { desc, verdict: { ok: false, check: 'layer', reason: `payload does not match the layer's digest ${desc.digest}` } };
          throw err;
        }
        return { desc, payload, verdict: verifyLayer(desc, payload, key, digest, opts.annotations) };
      }),
    ),
  );
  const verified: VerifiedSignature[] = [];
  const rejected: RejectedSignature[] = [];
  for (const { desc, payload, verdict } of verdicts) {
    if (verdict.ok) verified.push({ layer: desc.digest, payload: verdict.payload, text: Buffer.from(payload!).toString('utf8') });
    else rejected.push({ layer: desc.digest, check: verdict.check, reason: verdict.reason });
  }
  return { reference: `${repoName}@${digest}`, digest, signatureTag: where, verified, rejected };
}

/** The one-line failure for a result with nothing verified, naming each layer's failed check. */
export function verificationError(result: VerifyResult, keyName: string): OperationalError {
  const why = result.rejected.map((r) => `layer ${short(r.layer)} ${r.check === 'layer' ? '' : `(${r.check}) `}${r.reason}`).join('; ');
  return new OperationalError('VERIFY_FAILED', `${result.reference}: no signature verifies with ${keyName}: ${why}`);
}

