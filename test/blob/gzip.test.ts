import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createGzipStream, parallelGzip, type GzipOptions } from '../../src/blob/gzip.js';
import { pseudoRandomBytes, run, sh, tempDir } from './helpers.js';

/** Gzips `data` fed in pieces of the given sizes (cycled). */
async function gzip(data: Buffer, options: GzipOptions = {}, pieceSizes: number[] = [65536]): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const n = pieceSizes[i % pieceSizes.length]!;
    pieces.push(data.subarray(offset, offset + n));
    offset += n;
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), parallelGzip(options), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('parallel gzip', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  const chunkSize = 64 * 1024;
  let n = 0;
  /** Decompresses with the gzip program, which also checks the CRC-32 and length in the trailer. */
  async function gunzipWithGzip(compressed: Buffer): Promise<Buffer> {
    const file = join(dir, `out-${n++}.gz`);
    await writeFile(file, compressed);
    await sh(`gzip -t '${file}'`);
    return run('gzip', ['-dc', file]);
  }

  const sizes = { empty: 0, 'one byte': 1, 'chunk - 1': chunkSize - 1, chunk: chunkSize, 'chunk + 1': chunkSize + 1, 'many chunks': 7 * chunkSize + 12345 };
  for (const [name, size] of Object.entries(sizes)) {
    it(`round-trips ${name} (${size} bytes) through gzip -d and node's gunzip`, async () => {
      const data = pseudoRandomBytes(size, size + 1);
      const compressed = await gzip(data, { chunkSize });
      expect((await gunzipWithGzip(compressed)).equals(data)).toBe(true);
      expect(gunzipSync(compressed).equals(data)).toBe(true);
    });
  }

  it('writes a fixed header: no name, mtime 0, XFL 0, OS 255, one member', async () => {
    const data = pseudoRandomBytes(3 * chunkSize, 5);
    const compressed = await gzip(data, { chunkSize });
    // RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS
    expect([...compressed.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    // gzip -lv reports the trailer: CRC-32 (here checked against Python's zlib) and ISIZE
    const file = join(dir, 'listed.gz');
    await writeFile(file, compressed);
    const [method, crc, , , , , uncompressed] = (await sh(`gzip -lv '${file}'`)).split('\n')[1]!.trim().split(/\s+/);
    const pythonCrc = (await sh(`python3 -c "import sys, zlib; print('%08x' % zlib.crc32(open(sys.argv[1], 'rb').read()))" <(gzip -dc '${file}')`)).trim();
    expect({ method, crc, uncompressed }).toEqual({ method: 'defla', crc: pythonCrc, uncompressed: String(data.length) });
  });

  it('gives the same bytes however the input is cut and however many chunks run at once', async () => {
    const data = pseudoRandomBytes(5 * chunkSize + 999, 11);
    const reference = await gzip(data, { chunkSize, concurrency: 1 }, [chunkSize]);
    for (const [concurrency, pieces] of [
      [2, [1, 7, 4096, 100_000]],
      [3, [333_333]],
      [8, [chunkSize - 1, chunkSize + 1]],
    ] as const) {
      expect((await gzip(data, { chunkSize, concurrency }, [...pieces])).equals(reference)).toBe(true);
    }
  });

  it('gives the same bytes on every run with the default 1 MiB chunks', async () => {
    const data = pseudoRandomBytes(3.5 * 1024 * 1024, 13);
    const a = await gzip(data);
    const b = await gzip(data, {}, [12345]);
    expect(b.equals(a)).toBe(true);
    expect((await gunzipWithGzip(a)).equals(data)).toBe(true);
  });

  it('honours the level: 0 stores, 6 and 9 work and compress harder than 1', async () => {
    const data = pseudoRandomBytes(4 * chunkSize, 17, 0.8);
    const bySize: Record<number, number> = {};
    for (const level of [0, 1, 6, 9]) {
      const compressed = await gzip(data, { chunkSize, level });
      expect((await gunzipWithGzip(compressed)).equals(data)).toBe(true);
      bySize[level] = compressed.length;
    }
    expect(bySize[0]).toBeGreaterThan(data.length);
    expect(bySize[6]).toBeLessThan(bySize[1]!);
    expect(bySize[9]).toBeLessThanOrEqual(bySize[6]!);
  });

  it('compresses across chunk boundaries: repeated chunks cost almost nothing after the first', async () => {
    // 16 KiB of noise repeated: alone, each 32 KiB chunk would deflate to about 16 KiB;
    // primed with the chunk before, every chunk after the first is all matches.
    const block = pseudoRandomBytes(16 * 1024, 19, 0);
    const data = Buffer.concat(Array.from({ length: 16 }, () => block));
    const compressed = await gzip(data, { chunkSize: 32 * 1024 });
    expect(compressed.length).toBeLessThan(2 * block.length);
    expect(gunzipSync(compressed).equals(data)).toBe(true);
  });

  it('reads no further ahead than the chunks in flight', async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield pseudoRandomBytes(chunkSize, i);
      }
    }
    const gz = parallelGzip({ chunkSize, concurrency: 2 })(source());
    await gz.next(); // header
    await gz.next(); // first deflated chunk
    expect(pulled).toBeLessThanOrEqual(3);
    await gz.return(undefined);
  });

  it('works as a Duplex stream', async () => {
    const data = pseudoRandomBytes(2 * chunkSize + 5, 23);
    const out: Buffer[] = [];
    await pipeline(Readable.from([data]), createGzipStream({ chunkSize }), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    });
    expect(gunzipSync(Buffer.concat(out)).equals(data)).toBe(true);
  });

  it('rejects a level outside 0..9', () => {
    expect(() => parallelGzip({ level: 10 })).toThrow(RangeError);
    expect(() => parallelGzip({ level: -1 })).toThrow(RangeError);
  });
});
