import { Transform } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import { formatPlatform } from '../oci/platform.js';
import type { Reporter } from '../registry/transfer-events.js';
import type { WritableContent } from './content.js';

/**
 * The content with every layer read reporting its progress, as a push does: a plan per image
 * (`REPO PLATFORM`), bytes as they arrive, and each blob as it is read whole. A layer shared by
 * several images is counted in the first.
 */
export function reportDownloads(content: WritableContent, reporter: Reporter, repo: string): WritableContent {
  const counted = new Set<Digest>();
  const images = content.images.map(({ image, platform }) => {
    const group = `${repo} ${formatPlatform(platform)}`;
    const mine = image.manifest.layers.filter((l) => !counted.has(l.digest) && counted.add(l.digest));
    reporter({ type: 'plan', group, blobs: mine.length, bytes: mine.reduce((n, l) => n + l.size, 0) });
    const reports = new Set(mine.map((l) => l.digest));
    const source = image.blobs;
    const blobs = {
      ...source,
      async open(desc: Parameters<typeof source.open>[0]) {
        const stream = await source.open(desc);
        if (!reports.has(desc.digest)) return stream;
        let done = 0;
        return stream.pipe(
          new Transform({
            transform(chunk: Buffer, _enc, cb) {
              done += chunk.length;
              reporter({ type: 'bytes', group, digest: desc.digest, size: desc.size, done });
              cb(null, chunk);
            },
            flush(cb) {
              reporter({ type: 'blob', group, digest: desc.digest, size: desc.size, how: 'downloaded' });
              cb();
            },
          }),
        );
      },
    };
    return { image: { ...image, blobs }, platform };
  });
  return { ...content, images };
}
