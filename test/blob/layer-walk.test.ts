import { gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { walkLayer, type LayerEntry } from '../../src/blob/layer-walk.js';
import { TarParser } from '../../src/blob/tar-read.js';
import { createTarStream, type TarEntry } from '../../src/blob/tar.js';
import { rawTar } from '../helpers/tar-sandbox.js';

async function bytesOf(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of createTarStream(entries)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const base = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };
const sample: TarEntry[] = [
  { ...base, path: 'etc', type: 'directory', mode: 0o755 },
  { ...base, path: 'etc/hosts', type: 'file', source: Buffer.from('127.0.0.1 localhost\n') },
  { ...base, path: 'lib', type: 'symlink', linkname: 'usr/lib' },
  { ...base, path: 'usr/lib/libz.so', type: 'file', source: Buffer.alloc(70_000, 7) },
  { ...base, path: `long/${'n'.repeat(120)}/${'m'.repeat(120)}`, type: 'file', source: Buffer.from('deep') },
  { ...base, path: 'etc/hosts.bak', type: 'hardlink', linkname: 'etc/hosts' },
];

/** Chunks as a stream would hand them: `sizes` cut the bytes, cycling. */
async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let i = 0;
  for (let k = 0; i < bytes.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

async function walk(source: AsyncIterable<Uint8Array>): Promise<{ entries: LayerEntry[]; data: Map<string, Buffer> }> {
  const entries: LayerEntry[] = [];
  const data = new Map<string, Buffer[]>();
  await walkLayer(source, 'test layer', {
    entry: (e) => {
      entries.push(e);
      data.set(e.path, []);
    },
    data: (chunk) => {
      data.get(entries.at(-1)!.path)!.push(Buffer.from(chunk));
    },
  });
  return { entries, data: new Map([...data].map(([k, v]) => [k, Buffer.concat(v)])) };
}

describe('walkLayer', () => {
  it('lists a layer berth wrote, plain or gzipped, with each member where it lands and its bytes', async () => {
    const tar = await bytesOf(sample);
    for (const source of [chunked(tar, [100_000]), chunked(gzipSync(tar), [333])]) {
      const { entries, data } = await walk(source);
      expect(entries.map((e) => [e.path, e.type])).toEqual([
        ['etc', '5'],
        ['etc/hosts', '0'],
        ['etc/hosts.bak', '1'],
        ['lib', '2'],
        [`long/${'n'.repeat(120)}/${'m'.repeat(120)}`, '0'],
        ['usr/lib/libz.so', '0'],
      ]);
      expect(data.get('etc/hosts')!.toString()).toBe('127.0.0.1 localhost\n');
      expect(data.get('usr/lib/libz.so')!.equals(Buffer.alloc(70_000, 7))).toBe(true);
    }
  });

  it('gives the path through the layer\'s own symlinks', async () => {
    const tar = rawTar([{ name: 'usr/lib/', type: '5' }, { name: 'lib', type: '2', linkname: 'usr/lib' }, { name: 'lib/x', type: '0', content: 'x' }]);
    const { entries } = await walk(chunked(tar, [512]));
    expect(entries.map((e) => e.path)).toEqual(['usr/lib', 'lib', 'usr/lib/x']);
  });

  it('refuses an unsafe layer before handing over the unsafe member', async () => {
    const tar = rawTar([{ name: 's', type: '2', linkname: '../..' }, { name: 'h', type: '1', linkname: 's' }, { name: 'h/x', type: '0', content: 'x' }]);
    const seen: string[] = [];
    await expect(walkLayer(chunked(tar, [1 << 20]), 'image x layer 1', { entry: (e) => void seen.push(e.path) })).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
      message: expect.stringMatching(/^image x layer 1: hardlink "h" -> "s" links symlink/),
    });
    expect(seen).toEqual(['s']);
  });

  it('refuses a corrupt layer with one line', async () => {
    const tar = await bytesOf(sample);
    tar.write('-1000', 124 + 512, 'latin1');
    await expect(walk(chunked(tar, [4096]))).rejects.toMatchObject({ code: 'BAD_TARBALL', message: expect.stringMatching(/^test layer: not a valid tar archive \(bad header checksum at byte 512\)$/) });
    await expect(walk(chunked(gzipSync(tar).subarray(0, 100), [4096]))).rejects.toMatchObject({ code: 'BAD_TARBALL' });
    await expect(walk(chunked(Buffer.alloc(0), [1]))).rejects.toMatchObject({ code: 'BAD_TARBALL', message: 'test layer: contains no tar data' });
  });
});

describe('TarParser', () => {
  it('gives the same members and data however the bytes are cut', async () => {
    const tar = await bytesOf(sample);
    const whole = (parser: TarParser, chunks: Iterable<Buffer>) => {
      const members: { header: string; data: Buffer[]; ended: boolean }[] = [];
      for (const c of chunks) {
        for (const e of parser.write(c)) {
          if (e.kind === 'member') members.push({ header: `${e.member.name} ${e.member.type} ${e.member.size} ${e.member.linkname} ${e.member.offset}`, data: [], ended: false });
          else if (e.kind === 'data') members.at(-1)!.data.push(Buffer.from(e.chunk));
          else members.at(-1)!.ended = true;
        }
      }
      parser.end();
      return members.map((m) => ({ header: m.header, data: Buffer.concat(m.data).toString('base64'), ended: m.ended }));
    };
    const expected = whole(new TarParser(), [tar]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        const parts: Buffer[] = [];
        let i = 0;
        for (let k = 0; i < tar.length; k++) {
          parts.push(tar.subarray(i, i + sizes[k % sizes.length]!));
          i += sizes[k % sizes.length]!;
        }
        expect(whole(new TarParser(), parts)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});
