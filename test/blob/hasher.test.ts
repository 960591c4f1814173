import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BlobHasher, HashingPassThrough, hashStream, tapHasher } from '../../src/blob/hasher.js';
import { pseudoRandomBytes, sha256sum, tempDir } from './helpers.js';

describe('hasher', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  const data = pseudoRandomBytes(3 * 65536 + 17, 7);
  const pieces = [data.subarray(0, 1), data.subarray(1, 70000), data.subarray(70000, 70000), data.subarray(70000)];

  it('matches sha256sum and counts bytes across uneven chunks', async () => {
    const file = join(dir, 'data');
    await writeFile(file, data);
    const hasher = new BlobHasher();
    for (const p of pieces) hasher.update(p);
    expect(hasher.result()).toEqual({ digest: await sha256sum(file), size: data.length });
  });

  it('taps a pipeline without changing what flows through', async () => {
    const hasher = new BlobHasher();
    const seen: Uint8Array[] = [];
    await pipeline(Readable.from(pieces), tapHasher(hasher), async (source: AsyncIterable<Uint8Array>) => {
      for await (const chunk of source) seen.push(chunk);
    });
    expect(Buffer.concat(seen).equals(data)).toBe(true);
    expect(hasher.result()).toEqual(await hashStream(Readable.from([data])));
  });

  it('works as a Transform', async () => {
    const tap = new HashingPassThrough();
    const seen: Uint8Array[] = [];
    await pipeline(Readable.from(pieces), tap, async (source: AsyncIterable<Uint8Array>) => {
      for await (const chunk of source) seen.push(chunk);
    });
    expect(Buffer.concat(seen).equals(data)).toBe(true);
    const file = join(dir, 'data2');
    await writeFile(file, data);
    expect(tap.hasher.result()).toEqual({ digest: await sha256sum(file), size: data.length });
  });

  it('hashes the empty blob', async () => {
    expect(await hashStream(Readable.from([]))).toEqual({ digest: await sha256sum('/dev/null'), size: 0 });
  });
});
