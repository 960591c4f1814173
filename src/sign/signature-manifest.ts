/**
 * The signature artifact cosign stores beside an image (SIGNATURE_SPEC, "Tag-based discovery"
 * and "OCI Image Manifest V1"): an image manifest tagged `sha256-<hex>.sig`, one layer per
 * signature — the payload blob, media type `application/vnd.dev.cosign.simplesigning.v1+json`,
 * its signature in the `dev.cosignproject.cosign/signature` annotation — and the config
 * go-containerregistry derives for such an image from `empty.Image`:
 *
 *   {"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],
 *    "os":"","rootfs":{"type":"layers","diff_ids":["sha256:<payload>"]},"config":{}}
 *
 * Bytes are written as Go's encoding/json writes them, so berth's manifest for a given set of
 * layers is the one cosign would push.
 */
import { UsageError } from '../errors.js';
import { digestHex, sha256Of, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { parseManifestOrIndex } from '../oci/manifest.js';
import { MediaType } from '../oci/mediatype.js';
import { goJsonString } from './payload.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The tag the signatures of `digest` live under: `sha256-<hex>.sig`. */
export function signatureTag(digest: Digest): string {
  return `${digest.slice(0, digest.indexOf(':'))}-${digestHex(digest)}.sig`;
}

/** A stored document: exact bytes, their digest, and media type. */
export interface Stored {
  mediaType: string;
  digest: Digest;
  raw: Uint8Array;
}

export interface SignatureArtifact {
  manifest: Stored;
  config: Stored;
}

/** What an existing signature manifest holds that a rewrite keeps. */
export interface SignatureManifest {
  mediaType: string;
  configMediaType: string;
  layers: Descriptor[];
  /** The config's `created` (cosign records the signing time only when asked). */
  created: string;
}

function goMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${goJsonString(k)}:${goJsonString(m[k]!)}`).join(',')}}`;
}

/** A descriptor as go-containerregistry's v1.Descriptor marshals it (its field order). */
function goDescriptor(d: Descriptor): string {
  const parts = [`"mediaType":${goJsonString(d.mediaType)}`, `"size":${d.size}`, `"digest":${goJsonString(d.digest)}`];
  if (d.urls && d.urls.length > 0) parts.push(`"urls":[${d.urls.map(goJsonString).join(',')}]`);
  if (d.annotations && Object.keys(d.annotations).length > 0) parts.push(`"annotations":${goMap(d.annotations)}`);
  if (d.artifactType) parts.push(`"artifactType":${goJsonString(d.artifactType)}`);
  return `{${parts.join(',')}}`;
}

/** The descriptor of a signature layer: the payload, with its signature (and any other annotations cosign puts there). */
export function signatureLayer(payload: Uint8Array, annotations: Readonly<Record<string, string>>): Descriptor {
  return { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: payload.length, digest: sha256Of(payload), annotations: { ...annotations } };
}

/**
 * The manifest and config for a signature image holding `layers`, in the media types of the
 * manifest it replaces (OCI unless that one was Docker's, as cosign with
 * COSIGN_DOCKER_MEDIA_TYPES writes).
 */
export function buildSignatureArtifact(layers: readonly Descriptor[], base?: Pick<SignatureManifest, 'mediaType' | 'configMediaType' | 'created'>): SignatureArtifact {
  const created = base?.created ?? ZERO_TIME;
  const configText =
    `{"architecture":"","created":${goJsonString(created)},"history":[${layers.map(() => `{"created":"${ZERO_TIME}"}`).join(',')}],` +
    `"os":"","rootfs":{"type":"layers","diff_ids":[${layers.map((l) => goJsonString(l.digest)).join(',')}]},"config":{}}`;
  const configRaw = Buffer.from(configText, 'utf8');
  const config: Stored = { mediaType: base?.configMediaType ?? MediaType.ociConfig, digest: sha256Of(configRaw), raw: configRaw };
  const mediaType = base?.mediaType ?? MediaType.ociManifest;
  const manifestText =
    `{"schemaVersion":2,"mediaType":${goJsonString(mediaType)},` +
    `"config":${goDescriptor({ mediaType: config.mediaType, size: configRaw.length, digest: config.digest })},` +
    `"layers":[${layers.map(goDescriptor).join(',')}]}`;
  const raw = Buffer.from(manifestText, 'utf8');
  return { manifest: { mediaType, digest: sha256Of(raw), raw }, config };
}

/** Reads an existing signature manifest (and, when given, its config for `created`). */
export function parseSignatureManifest(raw: Uint8Array, where: string, mediaType: string | undefined, configRaw?: Uint8Array): SignatureManifest {
  const parsed = parseManifestOrIndex(raw, where, mediaType);
  if (parsed.kind !== 'manifest') throw new UsageError('BAD_MANIFEST', `${where}: is an index, not a signature manifest`);
  let created = ZERO_TIME;
  if (configRaw) {
    try {
      const c = JSON.parse(Buffer.from(configRaw).toString('utf8')) as { created?: unknown };
      if (typeof c.created === 'string') created = c.created;
    } catch {
      // an unreadable config is replaced; the layers are what matter
    }
  }
  return { mediaType: parsed.mediaType, configMediaType: parsed.manifest.config.mediaType, layers: parsed.manifest.layers, created };
}
