/**
 * DSSE envelopes (secure-systems-lab/dsse, v1): a payload, its type, and signatures over
 * PAE(type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload, lengths as
 * ASCII decimal byte counts. The signature scheme is the signer's (ECDSA P-256 / SHA-256 DER
 * for cosign keys, as `cosign attest` signs).
 */
import type { KeyObject } from 'node:crypto';
import { UsageError } from '../errors.js';
import { verifyPayload } from './signature.js';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

export interface Envelope {
  payloadType: string;
  /** base64 of the payload bytes */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** The pre-authentication encoding the signatures cover. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), Buffer.from(payload)]);
}

/** An envelope over `payload`, signed by each signer (keyid, base64 DER signature over the PAE). */
export function signEnvelope(payloadType: string, payload: Uint8Array, signers: readonly { signBytes(bytes: Uint8Array): { keyid: string; sig: string } }[]): Envelope {
  const bytes = pae(payloadType, payload);
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures: signers.map((s) => s.signBytes(bytes)) };
}

/** The envelope's bytes as stored: compact JSON in the field order cosign writes. */
export function envelopeBytes(e: Envelope): Buffer {
  return Buffer.from(JSON.stringify({ payloadType: e.payloadType, payload: e.payload, signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) }), 'utf8');
}

/** Reads an envelope; a wrong shape is bad input naming `where`. */
export function parseEnvelope(raw: Uint8Array, where: string): Envelope & { body: Buffer } {
  let v: Partial<Envelope>;
  try {
    v = JSON.parse(Buffer.from(raw).toString('utf8')) as Partial<Envelope>;
  } catch {
    throw new UsageError('BAD_MANIFEST', `${where}: the attestation is not JSON (a DSSE envelope)`);
  }
  if (typeof v !== 'object' || v === null || typeof v.payloadType !== 'string' || typeof v.payload !== 'string' || !Array.isArray(v.signatures)) {
    throw new UsageError('BAD_MANIFEST', `${where}: not a DSSE envelope (payloadType, payload, signatures)`);
  }
  const signatures = v.signatures.filter((s): s is { keyid: string; sig: string } => typeof s?.sig === 'string').map((s) => ({ keyid: typeof s.keyid === 'string' ? s.keyid : '', sig: s.sig }));
  return { payloadType: v.payloadType, payload: v.payload, signatures, body: Buffer.from(v.payload, 'base64') };
}

/** Whether any of the envelope's signatures is `key`'s over its PAE. */
export function envelopeVerifies(e: Envelope & { body: Buffer }, key: KeyObject): boolean {
  const bytes = pae(e.payloadType, e.body);
  return e.signatures.some((s) => verifyPayload(bytes, s.sig, key));
}
