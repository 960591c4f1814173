import { Readable } from 'node:stream';

/**
 * Hands out consecutive slices of one stream as streams of exact lengths, for chunked
 * uploads: `take(n)` is the next PATCH body. The first `skip` bytes are dropped (resuming
 * an upload the registry already holds part of). `finish()` reads to the stream's end, so a
 * verifying source reports a bad digest before the upload is committed.
 */
export class ByteTaker {
  private readonly it: AsyncIterator<Buffer>;
  private pending: Buffer | undefined;
  private toSkip: number;

  constructor(source: Readable, skip = 0) {
    this.it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.toSkip = skip;
  }

  private async next(): Promise<Buffer | undefined> {
    for (;;) {
      let buf: Buffer;
      if (this.pending) {
        buf = this.pending;
        this.pending = undefined;
      } else {
        const r = await this.it.next();
        if (r.done) return undefined;
        buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      }
      if (this.toSkip > 0) {
        const drop = Math.min(this.toSkip, buf.length);
        this.toSkip -= drop;
        buf = buf.subarray(drop);
      }
      if (buf.length > 0) return buf;
    }
  }

  /** A stream of the next `n` bytes; `onBytes` is told of each piece as it is read. */
  take(n: number, onBytes?: (count: number) => void): Readable {
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      let left = n;
      while (left > 0) {
        const buf = await self.next();
        if (!buf) throw new Error(`the source ended ${left} bytes early`);
        const piece = buf.length > left ? buf.subarray(0, left) : buf;
        if (buf.length > left) self.pending = buf.subarray(left);
        left -= piece.length;
        onBytes?.(piece.length);
        yield piece;
      }
    }
    return Readable.from(gen(), { objectMode: false });
  }

  /** Reads to the end; fails if bytes remain or the source's own checks fail. */
  async finish(): Promise<void> {
    const extra = await this.next();
    if (extra) throw new Error('the source has more bytes than its descriptor says');
  }
}
