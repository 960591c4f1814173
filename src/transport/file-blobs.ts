import { createReadStream } from 'node:fs';
import type { Digest } from '../oci/digest.js';
import { verifyingStream } from '../blob/verify-stream.js';
import type { BlobSource } from './image.js';

/**
 * Blobs held in local files (layers berth has just built), falling back to another source
 * (the base image's) for the rest.
 */
export function fileBlobs(files: ReadonlyMap<Digest, string>, origin: string, fallback?: BlobSource): BlobSource {
  return {
    origin,
    async open(desc) {
      const path = files.get(desc.digest);
      if (path !== undefined) return createReadStream(path).pipe(verifyingStream(desc, origin));
      if (!fallback) throw new Error(`${origin}: no blob ${desc.digest}`);
      return fallback.open(desc);
    },
    localPath: (desc) => files.get(desc.digest) ?? fallback?.localPath?.(desc),
  };
}
