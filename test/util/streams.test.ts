/** src/util/streams.ts: one way to read a whole stream, whatever kind of stream it is. */
import { describe, expect, test } from '@jest/globals';
import { Readable } from 'node:stream';
import { readAll } from '../../src/util/streams.js';

describe('readAll', () => {
  test('a Node stream, an async iterable and a web stream give the same bytes', async () => {
    const parts = [Buffer.from('con'), Buffer.from([0, 255]), Buffer.from('fig')];
    const want = Buffer.concat(parts);
    expect(await readAll(Readable.from(parts))).toEqual(want);
    expect(
      await readAll(
        (async function* () {
          for (const p of parts) yield new Uint8Array(p);
        })(),
      ),
    ).toEqual(want);
    expect(await readAll(Readable.toWeb(Readable.from(parts)) as unknown as AsyncIterable<Uint8Array>)).toEqual(want);
  });

  test('an empty stream is an empty buffer; a failing one rejects with its error', async () => {
    expect(await readAll(Readable.from([]))).toEqual(Buffer.alloc(0));
    const broken = new Readable({ read() {} });
    setImmediate(() => {
      broken.push('half');
      broken.destroy(new Error('connection reset'));
    });
    await expect(readAll(broken)).rejects.toThrow('connection reset');
  });
});
