/**
 * Reading attestations back: `berth verify --attestation TYPE --key K REF` checks each DSSE
 * envelope of the image's `sha256-<hex>.att` manifest (the signature over its PAE with the key,
 * the payload an in-toto statement of the predicate type, the image's digest among its
 * subjects, every `--require key=value`); `berth inspect --attestations REF` lists what is
 * attached to an image (signatures, attestations, referrers).
 */
import type { KeyObject } from 'node:crypto';
import { OperationalError, UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Reference } from '../oci/reference.js';
import { RegistryError } from '../registry/registry-error.js';
import type { Registries } from '../registry/pool.js';
import { attestationTag, INTOTO_PREDICATE_ANNOTATION, PREDICATE_TYPE_ANNOTATION, referrersTag } from './attest.js';
import { DSSE_MEDIA_TYPE, envelopeVerifies, parseEnvelope } from './dsse.js';
import { signatureTag } from './signature-manifest.js';
import { IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE } from './provenance-statement.js';
import { readSignatureManifest, resolveImage } from './sign.js';
import { readAll } from '../util/streams.js';

export interface VerifiedAttestation {
  layer: Digest;
  statement: Record<string, unknown>;
}

export interface AttestationVerdict {
  reference: string;
  digest: Digest;
  attestationTag: string;
  verified: VerifiedAttestation[];
  rejected: { layer: Digest; check: 'signature' | 'payload' | 'type' | 'subject' | 'require'; reason: string }[];
}

/** `--require` shorthands: where in a provenance statement each looks. */
const ALIASES: Record<string, string> = {
  'builder.id': 'predicate.runDetails.builder.id',
  buildType: 'predicate.buildDefinition.buildType',
  dockerfile: 'predicate.buildDefinition.externalParameters.dockerfile',
  target: 'predicate.buildDefinition.externalParameters.target',
};

/** The text of `key` in a statement: a shorthand (`builder.id`, `commit`, `clean`...), else a dotted path from the statement, else from its predicate. */
export function statementValue(statement: Record<string, unknown>, key: string): string | undefined {
  const deps = ((statement.predicate as { buildDefinition?: { resolvedDependencies?: { digest?: Record<string, string>; annotations?: Record<string, string> }[] } } | undefined)?.buildDefinition?.resolvedDependencies ?? []);
  const git = deps.find((d) => d.digest?.gitCommit !== undefined);
  if (key === 'commit') return git?.digest?.gitCommit;
  if (key === 'clean') return git?.annotations?.clean;
  const walk = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), statement);
  const found = walk(ALIASES[key] ?? key) ?? walk(`predicate.${key}`) ?? walk(`predicate.buildDefinition.externalParameters.${key}`);
  if (found === undefined || found === null) return undefined;
  return typeof found === 'object' ? JSON.stringify(found) : String(found);
}

/** `key=value` pairs, checked: a key is not empty. */
export function parseRequirements(values: readonly string[]): [string, string][] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError('BAD_FLAG', `--require: "${v}" is not KEY=VALUE (such as builder.id=https://berth.dev/builder/v1 or commit=<sha>)`);
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}

/** Checks the attestations of `ref` of `predicateType` against `key`; never throws for one that fails (see `rejected`). */
export async function verifyAttestations(registries: Registries, ref: Reference, key: KeyObject, opts: { predicateType: string; require?: readonly [string, string][]; signal?: AbortSignal }): Promise<AttestationVerdict> {
  const signal = opts.signal;
  const digest = ref.digest ?? (await resolveImage(registries, ref, signal)).digest;
  const client = registries.client(ref.registry);
  const tag = attestationTag(digest);
  const where = `${ref.registry}/${ref.repository}:${tag}`;
  const found = await readSignatureManifest(client, ref.repository, tag, signal);
  const wanted = (found?.manifest.layers ?? []).filter((l) => l.mediaType === DSSE_MEDIA_TYPE && (l.annotations?.[PREDICATE_TYPE_ANNOTATION] ?? opts.predicateType) === opts.predicateType);
  if (wanted.length === 0) {
    if (ref.digest) await resolveImage(registries, ref, signal);
    throw new OperationalError('NO_SIGNATURES', `${ref.registry}/${ref.repository}@${digest}: no ${opts.predicateType} attestation (${where} ${found ? 'holds none' : 'does not exist'})`);
  }
  const verdict: AttestationVerdict = { reference: `${ref.registry}/${ref.repository}@${digest}`, digest, attestationTag: where, verified: [], rejected: [] };
  for (const l of wanted) {
    let raw: Buffer;
    try {
      raw = await readAll(await client.fetchBlob(ref.repository, l, signal));
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'NOT_FOUND') {
        verdict.rejected.push({ layer: l.digest, check: 'payload', reason: 'the envelope blob is missing from the registry' });
        continue;
      }
      throw err;
    }
    let e;
    try {
      e = parseEnvelope(raw, `${ref.registry}/${ref.repository}@${l.digest}`);
    } catch (err) {
      verdict.rejected.push({ layer: l.digest, check: 'payload', reason: (err as Error).message });
      continue;
    }
    if (!envelopeVerifies(e, key)) {
      verdict.rejected.push({ layer: l.digest, check: 'signature', reason: 'no signature of the envelope verifies with the key' });
      continue;
    }
    let statement: Record<string, unknown>;
    try {
      statement = JSON.parse(e.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      verdict.rejected.push({ layer: l.digest, check: 'payload', reason: 'the payload is not JSON' });
      continue;
    }
    if (e.payloadType !== IN_TOTO_PAYLOAD_TYPE || typeof statement._type !== 'string' || !statement._type.startsWith('https://in-toto.io/Statement/')) {
      verdict.rejected.push({ layer: l.digest, check: 'payload', reason: `not an in-toto statement (payloadType ${e.payloadType}, _type ${String(statement._type)}; want ${STATEMENT_TYPE})` });
      continue;
    }
    if (statement.predicateType !== opts.predicateType) {
      verdict.rejected.push({ layer: l.digest, check: 'type', reason: `its predicateType is ${String(statement.predicateType)}, not ${opts.predicateType}` });
      continue;
    }
    const hex = digest.slice('sha256:'.length);
    const subjects = Array.isArray(statement.subject) ? (statement.subject as { digest?: { sha256?: string } }[]) : [];
    if (!subjects.some((s) => s.digest?.sha256 === hex)) {
      verdict.rejected.push({ layer: l.digest, check: 'subject', reason: `its subjects (${subjects.map((s) => `sha256:${s.digest?.sha256 ?? '?'}`).join(', ') || 'none'}) do not include this image's ${digest}` });
      continue;
    }
    const failed = (opts.require ?? []).map(([k, v]) => [k, v, statementValue(statement, k)] as const).filter(([, v, got]) => got !== v);
    if (failed.length) {
      verdict.rejected.push({ layer: l.digest, check: 'require', reason: failed.map(([k, v, got]) => `${k} is ${got === undefined ? 'absent' : JSON.stringify(got)}, not ${JSON.stringify(v)}`).join('; ') });
      continue;
    }
    verdict.verified.push({ layer: l.digest, statement });
  }
  return verdict;
}

/** The one-line failure for a verdict with nothing verified: exit 2 when the attestation holds but says something else (subject, --require), else 1. */
export function attestationError(v: AttestationVerdict, keyName: string): Error {
  const why = v.rejected.map((r) => `layer ${r.layer.slice(0, 19)}… (${r.check}) ${r.reason}`).join('; ');
  const message = `${v.reference}: no attestation verifies with ${keyName}: ${why}`;
  return v.rejected.every((r) => r.check === 'subject' || r.check === 'require' || r.check === 'type') ? new UsageError('VERIFY_FAILED', message) : new OperationalError('VERIFY_FAILED', message);
}

export interface Attached {
  reference: string;
  digest: Digest;
  /** cosign signatures: `sha256-<hex>.sig`, one entry per layer. */
  signatures: { tag: string; layers: Descriptor[] } | undefined;
  /** cosign attestations: `sha256-<hex>.att`, one entry per layer with its predicate type. */
  attestations: { tag: string; layers: { digest: Digest; predicateType?: string }[] } | undefined;
  /** OCI referrers, from the referrers tag schema's index. */
  referrers: { tag: string; manifests: { digest: string; artifactType?: string; predicateType?: string }[] } | undefined;
}

/** What is attached to `ref`: its `.sig`, `.att` and referrers index, each absent when there is none. */
export async function listAttached(registries: Registries, ref: Reference, signal?: AbortSignal): Promise<Attached> {
  const digest = ref.digest ?? (await resolveImage(registries, ref, signal)).digest;
  const client = registries.client(ref.registry);
  const name = `${ref.registry}/${ref.repository}`;
  const sig = await readSignatureManifest(client, ref.repository, signatureTag(digest), signal);
  const att = await readSignatureManifest(client, ref.repository, attestationTag(digest), signal);
  let referrers: Attached['referrers'];
  try {
    const m = await client.getManifest(ref.repository, referrersTag(digest), signal);
    const idx = JSON.parse(Buffer.from(m.raw).toString('utf8')) as { manifests?: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] };
    referrers = { tag: `${name}:${referrersTag(digest)}`, manifests: (idx.manifests ?? []).map((d) => ({ digest: d.digest, ...(d.artifactType ? { artifactType: d.artifactType } : {}), ...(d.annotations?.[INTOTO_PREDICATE_ANNOTATION] ? { predicateType: d.annotations[INTOTO_PREDICATE_ANNOTATION] } : {}) })) };
  } catch (err) {
    if (!(err instanceof RegistryError && err.code === 'NOT_FOUND')) throw err;
  }
  return {
    reference: `${name}@${digest}`,
    digest,
    signatures: sig ? { tag: `${name}:${signatureTag(digest)}`, layers: sig.manifest.layers } : undefined,
    attestations: att ? { tag: `${name}:${attestationTag(digest)}`, layers: att.manifest.layers.map((l) => ({ digest: l.digest, ...(l.annotations?.[PREDICATE_TYPE_ANNOTATION] ? { predicateType: l.annotations[PREDICATE_TYPE_ANNOTATION] } : {}) })) } : undefined,
    referrers,
  };
}
