import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Digest } from '../oci/digest.js';

/** What a content-addressed blob is known by: its sha256 and its length in bytes. */
export interface BlobId {
  digest: Digest;
  size: number;
}

/** A running sha256 and byte count. `result()` may be called once, after the last `update`. */
export class BlobHasher {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  get size(): number {
    return this.bytes;
  }

  result(): BlobId {
    return { digest: `sha256:${this.hash.digest('hex')}` as Digest, size: this.bytes };
  }
}

/**
 * A `stream.pipeline` stage that passes chunks through unchanged while feeding `hasher`:
 * `pipeline(src, tapHasher(h), dest)`, then `h.result()`.
 */
export function tapHasher(hasher: BlobHasher) {
  return async function* tap(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      hasher.update(chunk);
      yield chunk;
    }
  };
}

/** The same tap as a classic Transform, for code that pipes streams by hand. */
export class HashingPassThrough extends Transform {
  readonly hasher = new BlobHasher();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hasher.update(chunk);
    callback(null, chunk);
  }
}

/** Digest and size of everything `source` yields (a Readable is an AsyncIterable). */
export async function hashStream(source: AsyncIterable<Uint8Array>): Promise<BlobId> {
  const hasher = new BlobHasher();
  for await (const chunk of source) hasher.update(chunk);
  return hasher.result();
}
