/**
 * berth sign / verify / keygen: cosign-compatible signatures ("simple signing" payloads,
 * ECDSA P-256, the `sha256-<hex>.sig` manifest), keys in cosign's and PEM formats, and the
 * signers berth.yaml configures. See docs/sign.md.
 */
import { UsageError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import type { SignatureRepository } from './signer.js';

export { COSIGN_KEY_LABEL, KEY_FILE_FORMATS, SIGSTORE_KEY_LABEL, decryptCosignKey, encryptCosignKey, generateKeyFiles, loadPrivateKey, loadPublicKey, pemBlocks, publicKeyPem, type KeyFileFormat } from './keys.js';
export { SIMPLE_SIGNING_MEDIA_TYPE, buildSignatureArtifact, parseSignatureManifest, signatureLayer, signatureTag, type SignatureArtifact, type SignatureManifest } from './signature-manifest.js';
export { COSIGN_SIGNATURE_TYPE, annotationMismatches, dockerReferenceOf, encodePayload, goJsonString, parsePayload, type SimpleSigningPayload } from './payload.js';
export { resolveImage, resolveTargets, signImages, signTargets, type ImageTarget, type SignedImage, type SignOptions } from './sign.js';
export { SIGNER_KINDS, openSigners, requireKeySigner, type ImageSigner, type SignatureRecord, type SignatureRepository, type SignerContext, type SignRun, type SignTarget } from './signer.js';
export { cosignKeySigner, keyIdOf } from './cosign-signer.js';
export { SIGNATURE_ANNOTATION, signPayload, verifyPayload } from './signature.js';
export { loadSigners, publicKeyFromFile, repoOf, runKinds, selectSigners, signerFromFile, type RunKind, type Selection } from './signers.js';
export { verificationError, verifyImage, verifyLayer, type FailedCheck, type LayerVerdict, type RejectedSignature, type VerifiedSignature, type VerifyOptions, type VerifyResult } from './verify-signature.js';
export { writeKeyPair } from './keygen.js';

/** `$COSIGN_REPOSITORY`: where signatures are stored instead of beside each image. */
export function signatureRepositoryFrom(env: Readonly<Record<string, string | undefined>>): SignatureRepository | undefined {
  const v = env.COSIGN_REPOSITORY;
  if (v === undefined || v === '') return undefined;
  if (/[@]/.test(v) || /:[^/]*$/.test(v.split('/').slice(1).join('/'))) throw new UsageError('BAD_REFERENCE', `COSIGN_REPOSITORY: "${v}" names a tag or digest; give a repository (registry/path)`);
  const ref = parseReference(`${v}:x`, { what: 'COSIGN_REPOSITORY' });
  return { registry: ref.registry, repository: ref.repository };
}
