import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

/**
 * Whether the file at `path` holds exactly the blob `expected`: its size is checked first (a
 * stat), then its digest (one read). A missing file does not match; other errors are thrown.
 */
export async function fileMatches(path: string, expected: { digest: Digest; size: number }): Promise<boolean> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return false;
    size = s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (size !== expected.size) return false;
  const hash = createHash(digestAlgorithm(expected.digest));
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex') === digestHex(expected.digest);
}
