import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { UsageError, type BerthError } from '../errors.js';
import { digestAlgorithm, digestHex, type Digest } from '../oci/digest.js';

/**
 * A pass-through stream that fails at its end, or as soon as too many bytes arrive, unless
 * the bytes have exactly the expected digest and size. The last chunk is held back until the
 * digest is checked, so a reader never receives a whole blob with wrong bytes (an upload of
 * it fails as the source's fault, before the registry could judge it). `where` names the blob's origin in
 * the error; `makeError` lets a remote source report an operational error instead.
 */
export function verifyingStream(
  expected: { digest: Digest; size: number },
  where: string,
  makeError: (message: string) => BerthError = (m) => new UsageError('DIGEST_MISMATCH', m),
): Transform {
  const hash = createHash(digestAlgorithm(expected.digest));
  let seen = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > expected.size) {
        cb(makeError(`${where}: blob ${expected.digest} is larger than its descriptor's ${expected.size} bytes`));
        return;
      }
      hash.update(chunk);
      const previous = held;
      held = chunk;
      cb(null, previous);
    },
    flush(cb: TransformCallback) {
      if (seen !== expected.size) {
        cb(makeError(`${where}: blob ${expected.digest} has ${seen} bytes, its descriptor says ${expected.size}`));
        return;
      }
      const actual = hash.digest('hex');
      if (actual !== digestHex(expected.digest)) {
        cb(makeError(`${where}: blob ${expected.digest} does not match its digest (its content hashes to ${digestAlgorithm(expected.digest)}:${actual})`));
        return;
      }
      cb(null, held);
    },
  });
}
