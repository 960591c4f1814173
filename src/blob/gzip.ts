import { availableParallelism } from 'node:os';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/**
 * Deterministic gzip that uses every core, the way pigz does. The input is cut into chunks of
 * a fixed size; each chunk is deflated on its own on libuv's threadpool, primed with the last
 * 32 KiB of the chunk before it and ended with a sync flush (the last one with a finish), and
 * the pieces are written in order inside one gzip member. Chunk boundaries depend only on the
 * input, so the output is the same bytes whatever the timing or the number of threads.
 */

export interface GzipOptions {
  /** zlib level, 0 (store) to 9. Default 1, best speed, as go-containerregistry does. */
  level?: number;
  /** Input bytes per independently deflated chunk. Changing it changes the output bytes. */
  chunkSize?: number;
  /** Chunks compressing at once: bounds memory, not output. */
  concurrency?: number;
}

export const DEFAULT_GZIP_LEVEL = 1;
export const DEFAULT_GZIP_CHUNK_SIZE = 1 << 20;
const WINDOW_SIZE = 32 * 1024;
const MIN_CHUNK_SIZE = WINDOW_SIZE;

/**
 * Header of the single member: no name, no comment, mtime 0, XFL 0, OS 255 ("unknown"),
 * so nothing about the machine or the moment leaks into the bytes.
 */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** In-flight chunks: enough to keep each core busy, leaving one threadpool thread for file I/O. */
export function defaultGzipConcurrency(): number {
  const threadpool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() + 1, threadpool - 1));
}

/** A `stream.pipeline` stage: `pipeline(src, parallelGzip({level: 1}), dest)`. */
export function parallelGzip(options: GzipOptions = {}) {
  const level = options.level ?? DEFAULT_GZIP_LEVEL;
  const chunkSize = options.chunkSize ?? DEFAULT_GZIP_CHUNK_SIZE;
  const concurrency = options.concurrency ?? defaultGzipConcurrency();
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level must be 0..9, not ${level}`);
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE) throw new RangeError(`gzip chunk size must be >= ${MIN_CHUNK_SIZE}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('gzip concurrency must be >= 1');

  return async function* gzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    yield GZIP_HEADER;
    const chunker = new FixedChunker(chunkSize);
    const inFlight: Promise<Buffer>[] = [];
    let dictionary: Buffer | undefined;
    let crc = 0;
    let length = 0;
    const dispatch = (chunk: Buffer, last: boolean) => {
      crc = zlib.crc32(chunk, crc);
      length += chunk.length;
      const deflated = deflateChunk(chunk, dictionary, level, last);
      deflated.catch(() => {}); // rejections surface when awaited in order; don't leave them unhandled meanwhile
      inFlight.push(deflated);
      dictionary = chunk.subarray(Math.max(0, chunk.length - WINDOW_SIZE));
    };
    try {
      for await (const piece of source) {
        for (const chunk of chunker.push(piece)) {
          dispatch(chunk, false);
          if (inFlight.length >= concurrency) yield await inFlight.shift()!;
        }
      }
      dispatch(chunker.rest(), true);
      while (inFlight.length > 0) yield await inFlight.shift()!;
    } finally {
      inFlight.length = 0;
    }
    yield trailer(crc, length);
  };
}

/** The same as a Duplex stream, for code that pipes by hand. */
export function createGzipStream(options: GzipOptions = {}): Duplex {
  return Duplex.from(parallelGzip(options));
}

function deflateChunk(chunk: Buffer, dictionary: Buffer | undefined, level: number, last: boolean): Promise<Buffer> {
  const options: zlib.ZlibOptions = {
    level,
    windowBits: 15,
    memLevel: 9,
    strategy: zlib.constants.Z_DEFAULT_STRATEGY,
    finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    // One output buffer big enough for the whole chunk saves round trips to the threadpool.
    chunkSize: chunk.length + (chunk.length >>> 8) + 1024,
    ...(dictionary ? { dictionary } : {}),
  };
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(chunk, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function trailer(crc: number, length: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(crc >>> 0, 0);
  bytes.writeUInt32LE(length % 2 ** 32, 4);
  return bytes;
}

/** Re-cuts a byte stream into chunks of exactly `size` bytes (the rest comes from `rest()`). */
class FixedChunker {
  private buffer: Buffer;
  private filled = 0;

  constructor(private readonly size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  *push(piece: Uint8Array): Generator<Buffer> {
    let offset = 0;
    while (offset < piece.length) {
      const n = Math.min(this.size - this.filled, piece.length - offset);
      this.buffer.set(piece.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.size) {
        const full = this.buffer;
        this.buffer = Buffer.allocUnsafe(this.size);
        this.filled = 0;
        yield full;
      }
    }
  }

  rest(): Buffer {
    return this.buffer.subarray(0, this.filled);
  }
}
