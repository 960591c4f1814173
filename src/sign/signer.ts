/**
 * The one signer interface, and the one table from berth.yaml's `signing.signers[].type` to
 * what implements it. Every signing path (`berth sign`, `release --sign`, `images push`, the
 * attestations of `--provenance`) takes `ImageSigner`s, so each works with every kind. A new
 * kind is one file implementing `ImageSigner` and one row in SIGNER_KINDS (plus its fields in
 * src/config/signing.ts, which reads berth.yaml).
 */
import type { SignerSpec } from '../config/signing.js';
import { UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Registries } from '../registry/pool.js';
import { openCosignKeySigner } from './cosign-signer.js';
import { openNotarySigner } from './notary.js';

/** Where signatures go: a repository, as `$COSIGN_REPOSITORY` names one. */
export interface SignatureRepository {
  registry: string;
  repository: string;
}

/** A published image (or index) to sign. */
export interface SignTarget {
  registry: string;
  repository: string;
  digest: Digest;
  /** The manifest's size in bytes, when known (a notary service needs it). */
  size?: number;
  /** Tags that name it (a notary service signs tags). */
  tags?: readonly string[];
}

/** What one signing run shares. */
export interface SignRun {
  registries: Registries;
  /** `-a KEY=VALUE`: a cosign payload's `optional` section. */
  annotations?: Readonly<Record<string, string>>;
  /** Store cosign signatures here instead of beside each image. */
  signatureRepository?: SignatureRepository;
  /** Images signed at once (default: the registries' jobs). */
  jobs?: number;
  signal?: AbortSignal;
}

/** What a signer did for one target. */
export interface SignatureRecord {
  signer: string;
  type: string;
  /** `added`: signed now; `present`: the same signature was there; `skipped`: this signer cannot sign it (`reason`). */
  status: 'added' | 'present' | 'skipped';
  /** Where the signature is: `registry/repo:sha256-<hex>.sig`, or the service's origin. */
  where: string;
  /** The signature manifest's digest after the write (cosign). */
  manifest?: Digest;
  reason?: string;
}

export interface ImageSigner {
  readonly name: string;
  readonly type: SignerSpec['type'];
  /** For reports: `cosign-key release-key`, `notary svc (https://sign.example)`. */
  readonly description: string;
  /** Signs published images; one record per target, in order. */
  signImages(targets: readonly SignTarget[], run: SignRun): Promise<SignatureRecord[]>;
  /** A detached signature over `bytes` (a DSSE envelope's); absent for a signer that signs only through a service. */
  signBytes?(bytes: Uint8Array): { keyid: string; sig: string };
  /** Whether `sig` (base64) is this signer's over `bytes`; absent where the signer cannot tell. */
  verifyBytes?(bytes: Uint8Array, sig: string): boolean;
}

/**
 * A provenance attestation is a DSSE envelope signed with a key: bad input when no signer has
 * one. `none` says why there are no signers at all; `hint` how to add one.
 */
export function requireKeySigner(signers: readonly ImageSigner[], hint: string, none?: string): void {
  if (signers.some((s) => typeof s.signBytes === 'function')) return;
  throw new UsageError('BAD_FLAG', `--provenance: the attestation is a DSSE envelope signed with a key, and no signer here has one (${signers.map((s) => s.description).join(', ') || none || 'none'}); ${hint}`);
}

/** What opening a signer may read: berth.yaml's folder (relative paths), the environment, and how to reach a service. */
export interface SignerContext {
  configFile: string;
  env: Readonly<Record<string, string | undefined>>;
}

export type SignerFactory = (spec: SignerSpec, ctx: SignerContext) => Promise<ImageSigner>;

/** berth.yaml's signer types and what implements each. */
export const SIGNER_KINDS: Readonly<Record<SignerSpec['type'], SignerFactory>> = {
  'cosign-key': openCosignKeySigner,
  notary: openNotarySigner,
};

/**
 * Opens berth.yaml's signers: keys read and decrypted, a service's credentials read and its
 * address checked, so a signer that cannot sign fails before anything is published.
 */
export async function openSigners(specs: readonly SignerSpec[], ctx: SignerContext): Promise<ImageSigner[]> {
  return Promise.all(specs.map((s) => SIGNER_KINDS[s.type](s, ctx)));
}
