import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TarParser } from '../../src/blob/tar-read.js';
import { indexTar } from '../../src/transport/tar-index.js';
import { fixChecksum } from '../helpers/tar-mutations.js';
import { rawTar, type RawEntry } from '../helpers/tar-sandbox.js';

const file = (name: string, content = 'x'): RawEntry => ({ name, type: '0', content });

/** `tar` with header field [offset, length] of the block at `block` rewritten (checksum fixed unless told). */
function withField(tar: Buffer, block: number, offset: number, length: number, value: Buffer | string, fix = true): Buffer {
  const out = Buffer.from(tar);
  const h = out.subarray(block * 512, block * 512 + 512);
  h.fill(0, offset, offset + length);
  (typeof value === 'string' ? Buffer.from(value, 'latin1') : value).copy(h, offset, 0, length);
  if (fix) fixChecksum(h);
  return out;
}

function parse(tar: Buffer): string[] {
  const parser = new TarParser({ strictTypes: true, zerosAfterEnd: true });
  const names: string[] = [];
  for (const e of parser.write(tar)) if (e.kind === 'member') names.push(`${e.member.name}:${e.member.size}`);
  parser.end();
  return names;
}

const good = rawTar([file('a', 'hello'), file('b', 'world!')]);

/** An 'x' or 'g' header with these exact record bytes (rawTar's `pax` writes well-formed records only). */
function rawPax(type: 'x' | 'g', records: string, then: RawEntry[]): Buffer {
  const tar = rawTar([{ name: 'PaxHeader', type: 'L', content: records.slice(0, -1) }, ...then]);
  // rawTar wrote an 'L' with records + NUL: turn it into the wanted type, same size
  const out = withField(tar, 0, 156, 1, type);
  const data = Buffer.from(records, 'latin1');
  data.copy(out, 512);
  out.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  fixChecksum(out.subarray(0, 512));
  return out;
}

/** Well-formed PAX records (lengths computed). */
function recs(...pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => {
      const body = ` ${k}=${v}\n`;
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len++;
      return `${len}${body}`;
    })
    .join('');
}

const bad: [string, Buffer, RegExp][] = [
  ['a size of -1000 (the issue\'s example)', withField(good, 0, 124, 12, '-1000'), /size field is not a number \("-1000"\) at byte 0/],
  ['a negative base-256 size', withField(good, 0, 124, 12, Buffer.from('fffffffffffffffffffffc18', 'hex')), /size field out of range \(-1000\)/],
  ['a base-256 size beyond 2^53', withField(good, 0, 124, 12, Buffer.from('807fffffffffffffffffffff', 'hex')), /size field out of range/],
  ['a size with a space inside', withField(good, 0, 124, 12, '   12 34'), /size field is not a number/],
  ['a mode with a non-octal digit', withField(good, 0, 100, 8, '0000689'), /mode field is not a number/],
  ['a uid in base-256 beyond 2^32', withField(good, 0, 108, 8, Buffer.from('8000000100000000', 'hex')), /uid field out of range/],
  ['an mtime of garbage', withField(good, 0, 136, 12, 'yesterday'), /mtime field is not a number/],
  ['a bad checksum', withField(good, 0, 124, 12, '00000000006', false), /bad header checksum at byte 0/],
  ['a checksum field of garbage', withField(good, 0, 148, 8, 'zzzzzz', false), /checksum field is not a number/],
  ['a PAX size of -1', rawPax('x', recs(['size', '-1']), [file('a')]), /PAX size is not a number \("-1"\)/],
  ['a PAX size of 1e3', rawPax('x', recs(['size', '1e3']), [file('a')]), /PAX size is not a number/],
  ['a PAX uid beyond 2^32', rawPax('x', recs(['uid', '4294967296']), [file('a')]), /PAX uid out of range/],
  ['a PAX mtime of garbage', rawPax('x', recs(['mtime', 'soon']), [file('a')]), /PAX mtime is not a time/],
  ['a PAX record whose length is wrong', rawPax('x', '99 path=a\n', [file('a')]), /malformed PAX header/],
  ['a PAX record without a length', rawPax('x', 'path=a\n', [file('a')]), /malformed PAX header/],
  ['a PAX path given twice', rawPax('x', recs(['path', 'a'], ['path', 'b']), [file('a')]), /"path" given twice/],
  ['an empty PAX path', rawPax('x', recs(['path', '']), [file('a')]), /"path" is empty/],
  ['a PAX global path', rawPax('g', recs(['path', '../..']), [file('a')]), /PAX global header sets "path"/],
  ['a PAX global size', rawPax('g', recs(['size', '100']), [file('a')]), /PAX global header sets "size"/],
  ['a GNU sparse member', rawPax('x', recs(['GNU.sparse.major', '1']), [file('a')]), /sparse members are not supported/],
  ['a GNU long name disagreeing with a PAX path', Buffer.concat([rawPax('x', recs(['path', 'a']), []).subarray(0, 1024), rawTar([{ name: '././@LongLink', type: 'L', content: 'b' }, file('c')])]), /GNU long name and PAX path disagree/],
  ['two PAX headers for one member', Buffer.concat([rawPax('x', recs(['path', 'a']), []).subarray(0, 1024), rawPax('x', recs(['path', 'b']), [file('c')])]), /two 'x' headers for one member/],
  ['a PAX header with no member after it', rawPax('x', recs(['path', 'a']), []), /extended header without a member after it/],
  ['an extended header of 2 MiB', withField(rawTar([{ name: 'L', type: 'L', content: 'x' }, file('a')]), 0, 124, 12, (2 << 20).toString(8)), /extended header of 2097152 bytes/],
  ['a symlink with a size', withField(rawTar([{ name: 's', type: '2', linkname: 't' }, file('a')]), 0, 124, 12, '00000001000'), /member of type '2' with a size of 512/],
  ['an unknown member type', withField(good, 0, 156, 1, 'S'), /unsupported member type 'S'/],
  ['a truncated archive', good.subarray(0, 700), /archive ends inside a member|truncated/],
  ['a truncated header', good.subarray(0, 300), /truncated archive/],
  ['data after the end-of-archive marker', Buffer.concat([good, Buffer.from('more')]), /data after the end-of-archive marker/],
  ['a ustar prefix under an unknown version', withField(withField(good, 0, 345, 155, 'dir'), 0, 263, 2, 'xx'), /unknown version/],
];

describe('strict tar headers', () => {
  it('reads a well-formed tar, a lone zero block before the end, and signed checksums', () => {
    expect(parse(good)).toEqual(['a:5', 'b:6']);
    expect(parse(good.subarray(0, good.length - 512))).toEqual(['a:5', 'b:6']);
    expect(parse(good.subarray(0, good.length - 1024))).toEqual(['a:5', 'b:6']);
    // a name byte above 127 and the checksum summed as signed bytes, as old tars did
    const signed = withField(good, 0, 0, 100, Buffer.from([0x61, 0xe9]));
    const h = signed.subarray(0, 512);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i]! > 127 ? h[i]! - 256 : h[i]!);
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(parse(signed)).toEqual(['a\u00e9:5', 'b:6']);
  });

  for (const [what, tar, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parse(tar)).toThrow(message);
    });
  }

  describe('image tarball index', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-tar-read-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('refuses the same header faults as one line naming the file, and a member named twice', async () => {
      const cases: [Buffer, RegExp][] = [
        [bad[0]![1], /: not a valid tar archive \(size field is not a number \("-1000"\) at byte 0\)$/],
        [bad[9]![1], /PAX size is not a number/],
        [rawTar([file('index.json'), file('./index.json')]), /member "index.json" appears twice/],
        [Buffer.concat([good.subarray(0, good.length - 1024), Buffer.alloc(512), Buffer.alloc(512, 1)]), /data after the end-of-archive marker/],
      ];
      for (const [i, [tar, message]] of cases.entries()) {
        const path = join(dir, `t${i}.tar`);
        await writeFile(path, tar);
        const err = (await indexTar(path).catch((e: unknown) => e)) as Error & { code?: string };
        expect(err).toMatchObject({ code: 'BAD_TARBALL' });
        expect(err.message).toMatch(message);
        expect(err.message.startsWith(path)).toBe(true);
        expect(err.message).not.toContain('\n');
      }
    });
  });
});

describe('TarParser at chunk edges', () => {
  it('reads an empty extended header that ends a chunk', () => {
    const tar = rawTar([{ name: 'PaxHeader', type: 'x', pax: {} }, file('a', 'hi')]);
    const parser = new TarParser();
    const names: string[] = [];
    for (const chunk of [tar.subarray(0, 512), tar.subarray(512)]) {
      for (const e of parser.write(chunk)) if (e.kind === 'member') names.push(e.member.name);
    }
    parser.end();
    expect(names).toEqual(['a']);
  });
});
