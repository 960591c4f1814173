/**
 * The "simple signing" payload cosign signs (cosign's specs/SIGNATURE_SPEC.md, the format of
 * containers/image's containers-signature(5)): what is signed is this JSON document, and it
 * names the image by its manifest digest. berth writes the same bytes cosign does — Go's
 * encoding/json: fields in struct order, `optional` keys sorted, `"optional":null` when there
 * are no annotations, `<`, `>`, `&`, U+2028 and U+2029 escaped — so a payload berth writes and
 * one cosign writes for the same image and annotations are byte for byte the same.
 */
import { UsageError } from '../errors.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { isObject } from '../oci/descriptor.js';
import { DOCKER_HUB, type Reference } from '../oci/reference.js';

/** `critical.type` of a cosign image signature. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: the repository that was signed (informative only). */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`: the image the signature is for. */
  digest: string;
  /** `critical.type`. */
  type: string;
  /** `optional`: the annotations given with `-a` (cosign's are strings; others are kept as read). */
  optional: Record<string, unknown> | null;
}

/** A JSON string as Go's encoding/json writes it (HTML-safe escaping). */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The repository name cosign puts in `docker-reference` (go-containerregistry's
 * `Repository.Name()`): `registry/repository`, with Docker Hub spelled `index.docker.io`.
 */
export function dockerReferenceOf(ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${ref.registry === DOCKER_HUB ? 'index.docker.io' : ref.registry}/${ref.repository}`;
}

/** The payload bytes for an image, as cosign writes them. */
export function encodePayload(dockerReference: string, digest: Digest, annotations: Readonly<Record<string, string>> = {}): Uint8Array {
  const keys = Object.keys(annotations).sort(goKeyOrder);
  const optional = keys.length === 0 ? 'null' : `{${keys.map((k) => `${goJsonString(k)}:${goJsonString(annotations[k]!)}`).join(',')}}`;
  const text =
    `{"critical":{"identity":{"docker-reference":${goJsonString(dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJsonString(digest)}},` +
    `"type":${goJsonString(COSIGN_SIGNATURE_TYPE)}},"optional":${optional}}`;
  return Buffer.from(text, 'utf8');
}

/** Go sorts map keys by their UTF-8 bytes. */
function goKeyOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Reads a payload, checking its shape: `critical.image.docker-manifest-digest` must be a
 * digest and `critical.type` the cosign type. Throws a UsageError saying what is wrong (the
 * caller names the layer).
 */
export function parsePayload(raw: Uint8Array): SimpleSigningPayload {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw new UsageError('BAD_MANIFEST', 'the payload is not JSON');
  }
  const critical = isObject(doc) ? doc.critical : undefined;
  if (!isObject(doc) || !isObject(critical)) throw new UsageError('BAD_MANIFEST', 'the payload has no "critical" section');
  const image = critical.image;
  const identity = critical.identity;
  const digest = isObject(image) ? image['docker-manifest-digest'] : undefined;
  if (typeof digest !== 'string' || !isDigest(digest)) throw new UsageError('BAD_MANIFEST', 'the payload names no critical.image.docker-manifest-digest');
  if (critical.type !== COSIGN_SIGNATURE_TYPE) throw new UsageError('BAD_MANIFEST', `the payload's critical.type is ${JSON.stringify(critical.type ?? null)}, not "${COSIGN_SIGNATURE_TYPE}"`);
  const ref = isObject(identity) ? identity['docker-reference'] : undefined;
  const optional = doc.optional;
  if (optional !== undefined && optional !== null && !isObject(optional)) throw new UsageError('BAD_MANIFEST', 'the payload\'s "optional" is not an object');
  return { dockerReference: typeof ref === 'string' ? ref : '', digest, type: critical.type, optional: (optional as Record<string, unknown> | undefined) ?? null };
}

/**
 * The annotations `want` that `optional` lacks or holds with another value (cosign compares
 * them as strings, so `-a n=1` matches a signed `"n":"1"` and not `"n":1`).
 */
export function annotationMismatches(optional: Record<string, unknown> | null, want: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    const have = optional?.[k];
    if (have !== v) out.push(have === undefined ? `${k} is not there` : `${k} is ${JSON.stringify(have)}, not ${JSON.stringify(v)}`);
  }
  return out;
}
