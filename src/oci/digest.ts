import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/**
 * A content digest such as `sha256:9f86d0…`, checked on creation. It is a branded string, so
 * it serialises as itself in JSON and compares with `===`, but only `parseDigest` and
 * `sha256Of` make one.
 */
export type Digest = string & { readonly __digest: unique symbol };

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

export function isDigest(value: string): value is Digest {
  const m = DIGEST_RE.exec(value);
  return m !== null && m[2]!.length === HEX_LENGTH[m[1] as DigestAlgorithm];
}

/** Parse `algorithm:hex`; `what` names the input in the error ("--base digest", "index.json"). */
export function parseDigest(value: string, what = 'digest'): Digest {
  if (!isDigest(value)) {
    throw new UsageError('BAD_DIGEST', `${what}: "${value}" is not a valid digest (want sha256:<64 lowercase hex>)`);
  }
  return value;
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function sha256Of(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

export function digestFromHex(algorithm: DigestAlgorithm, hex: string): Digest {
  return parseDigest(`${algorithm}:${hex}`);
}
