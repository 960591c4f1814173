/**
 * The signature scheme: ECDSA P-256 over the SHA-256 of the payload bytes, DER-encoded and
 * base64'd into the layer annotation (cosign's SIGNATURE_SPEC: "ECDSA-P256", the hash the
 * registry uses).
 */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** The base64 DER signature of `payload`. */
export function signPayload(payload: Uint8Array, key: KeyObject): string {
  return cryptoSign('sha256', payload, { key, dsaEncoding: 'der' }).toString('base64');
}

/** Whether `signature` (base64 DER, as in the annotation) is `key`'s over `payload`. */
export function verifyPayload(payload: Uint8Array, signature: string, key: KeyObject): boolean {
  const der = Buffer.from(signature.replace(/\s+/g, ''), 'base64');
  if (der.length === 0) return false;
  try {
    return cryptoVerify('sha256', payload, { key, dsaEncoding: 'der' }, der);
  } catch {
    return false;
  }
}
