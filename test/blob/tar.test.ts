import { lstat, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OperationalError } from '../../src/errors.js';
import { encodeHeader } from '../../src/blob/tar-header.js';
import { createTarStream, sortTarEntries, type TarEntry } from '../../src/blob/tar.js';
import { pseudoRandomBytes, run, sh, tempDir } from './helpers.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Member headers as Python's tarfile module reads them (an independent tar reader). */
async function pythonMembers(tarPath: string): Promise<Record<string, unknown>[]> {
  const script = `
import json, sys, tarfile
out = []
with tarfile.open(sys.argv[1], format=tarfile.PAX_FORMAT, encoding='utf-8') as t:
    for m in t.getmembers():
        out.append(dict(name=m.name, type=m.type.decode(), mode=m.mode, uid=m.uid, gid=m.gid, uname=m.uname,
                        gname=m.gname, mtime=m.mtime, size=m.size, linkname=m.linkname,
                        devmajor=m.devmajor, devminor=m.devminor, pax=sorted(m.pax_headers.keys())))
print(json.dumps(out))
`;
  return JSON.parse((await run('python3', ['-c', script, tarPath])).toString('utf8'));
}

describe('tar writer', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let binPath: string;
  const binContent = pseudoRandomBytes(100_000, 3);
  const T = 1_700_000_000;
  const base = { uid: 0, gid: 0, mtime: T };
  const splitPath = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}/file.txt`; // > 100 bytes, fits ustar prefix+name
  const paxPath = `${'x'.repeat(120)}/${'y'.repeat(120)}`; // last part > 100 bytes: needs PAX
  const longTarget = 'z'.repeat(150);
  let entries: TarEntry[];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    binPath = join(dir, 'bin');
    await writeFile(binPath, binContent);
    entries = [
      { ...base, path: 'app', type: 'directory', mode: 0o755 },
      { ...base, path: 'app/bin', type: 'file', mode: 0o755, size: binContent.length, source: binPath },
      { ...base, path: 'app/data.txt', type: 'file', mode: 0o644, source: Buffer.from('hello\n') },
      { ...base, path: 'app/empty', type: 'file', mode: 0o600 },
      { ...base, path: 'app/link', type: 'symlink', mode: 0o777, linkname: 'data.txt' },
      { ...base, path: 'app/hard', type: 'hardlink', mode: 0o644, linkname: 'app/data.txt' },
      { ...base, path: 'app/longlink', type: 'symlink', mode: 0o777, linkname: longTarget },
      { ...base, path: 'app/café', type: 'file', mode: 0o644, source: Buffer.from('crème\n') },
      { ...base, path: 'app-owned', type: 'file', mode: 0o4755, uid: 1000, gid: 2000, mtime: 0, source: Buffer.from('x') },
      { ...base, path: splitPath, type: 'file', mode: 0o644, source: Buffer.from('split\n') },
      { ...base, path: paxPath, type: 'file', mode: 0o644, source: Buffer.from('pax\n') },
      { ...base, path: 'streamed', type: 'file', mode: 0o644, size: 5, source: async () => Readable.from([Buffer.from('ab'), Buffer.from('cde')]) },
    ];
  });
  afterAll(() => cleanup());

  it('writes exactly the given headers, sorted by path bytes, PAX only where ustar cannot hold a field', async () => {
    const tarPath = join(dir, 'out.tar');
    await writeFile(tarPath, await collect(createTarStream(entries)));
    const members = await pythonMembers(tarPath);

    const byteOrder = entries.map((e) => e.path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(members.map((m) => m.name)).toEqual(byteOrder);

    const typeFlag = { file: '0', directory: '5', symlink: '2', hardlink: '1' };
    const needsPax: Record<string, string[]> = { [paxPath]: ['path'], 'app/longlink': ['linkpath'], 'app/café': ['path'] };
    for (const e of entries) {
      const m = members.find((x) => x.name === e.path)!;
      const size = e.type !== 'file' ? 0 : e.source instanceof Uint8Array ? e.source.length : (e.size ?? 0);
      expect(m).toEqual({
        name: e.path,
        type: typeFlag[e.type],
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        uname: '',
        gname: '',
        mtime: e.mtime,
        size,
        linkname: e.linkname ?? '',
        devmajor: 0,
        devminor: 0,
        pax: needsPax[e.path] ?? [],
      });
    }
  });

  it('is read and extracted by GNU tar without warnings', async () => {
    const tarPath = join(dir, 'gnu.tar');
    const out = join(dir, 'extracted');
    await writeFile(tarPath, await collect(createTarStream(entries)));
    const listing = await sh(`tar -tvf '${tarPath}' 2>&1`);
    expect(listing).not.toMatch(/^tar:/m);
    expect(listing).toContain('0/0');
    expect(listing).toContain('1000/2000');
    await sh(`mkdir '${out}' && tar -xf '${tarPath}' -C '${out}' 2>&1`);
    expect((await readFile(join(out, 'app/bin'))).equals(binContent)).toBe(true);
    expect(await readFile(join(out, 'app/data.txt'), 'utf8')).toBe('hello\n');
    expect(await readFile(join(out, 'app/café'), 'utf8')).toBe('crème\n');
    expect(await readFile(join(out, splitPath), 'utf8')).toBe('split\n');
    expect(await readFile(join(out, paxPath), 'utf8')).toBe('pax\n');
    expect(await readFile(join(out, 'streamed'), 'utf8')).toBe('abcde');
    expect(await readlink(join(out, 'app/link'))).toBe('data.txt');
    expect(await readlink(join(out, 'app/longlink'))).toBe(longTarget);
    expect((await stat(join(out, 'app/hard'))).ino).toBe((await stat(join(out, 'app/data.txt'))).ino);
    expect((await lstat(join(out, 'app/empty'))).size).toBe(0);
  });

  it('gives the same bytes whatever the order of the entries', async () => {
    const a = await collect(createTarStream(entries));
    const b = await collect(createTarStream([...entries].reverse()));
    const c = await collect(createTarStream([...entries.slice(5), ...entries.slice(0, 5)]));
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(true);
  });

  it('ends with two zero blocks and pads every member to 512 bytes', async () => {
    const bytes = await collect(createTarStream([{ ...base, path: 'f', type: 'file', mode: 0o644, source: Buffer.from('abc') }]));
    expect(bytes.length).toBe(512 + 512 + 1024);
    expect(bytes.subarray(512, 515).toString()).toBe('abc');
    expect(bytes.subarray(515).every((b) => b === 0)).toBe(true);
  });

  it('fails naming the file when a source grew or shrank after it was measured', async () => {
    const grown = join(dir, 'grown');
    await writeFile(grown, 'twelve bytes');
    const grew = collect(createTarStream([{ ...base, path: 'g', type: 'file', mode: 0o644, size: 5, source: grown }]));
    await expect(grew).rejects.toThrow(OperationalError);
    await expect(grew).rejects.toThrow(grown);
    const shrank = collect(createTarStream([{ ...base, path: 'g', type: 'file', mode: 0o644, size: 50, source: grown }]));
    await expect(shrank).rejects.toThrow(grown);
  });

  it('fails naming the entry when a streamed source has the wrong length', async () => {
    const entry = (n: number): TarEntry => ({ ...base, path: 'blobs/x', type: 'file', mode: 0o644, size: n, source: async () => Readable.from([Buffer.from('abc')]) });
    await expect(collect(createTarStream([entry(2)]))).rejects.toThrow(/blobs\/x.*more than the 2 bytes/);
    await expect(collect(createTarStream([entry(4)]))).rejects.toThrow(/blobs\/x.*only 3 of the 4 bytes/);
  });

  it('fails with an OperationalError when a source cannot be opened', async () => {
    const missing = join(dir, 'gone');
    const stream = createTarStream([{ ...base, path: 'g', type: 'file', mode: 0o644, size: 1, source: missing }]);
    await expect(collect(stream)).rejects.toThrow(OperationalError);
  });

  it('rejects entries that are not normalised, repeated, or inconsistent', () => {
    const file = (path: string): TarEntry => ({ ...base, path, type: 'file', mode: 0o644 });
    for (const bad of ['/abs', './rel', 'a/../b', 'a//b', 'dir/', '']) expect(() => sortTarEntries([file(bad)])).toThrow(TypeError);
    expect(() => sortTarEntries([file('a'), file('a')])).toThrow(/twice/);
    expect(() => sortTarEntries([{ ...file('a'), mode: 0o10000 }])).toThrow(/mode/);
    expect(() => sortTarEntries([{ ...file('a'), type: 'symlink' }])).toThrow(/linkname/);
    expect(() => sortTarEntries([{ ...file('a'), size: 3, source: Buffer.from('ab') }])).toThrow(/size/);
    expect(sortTarEntries([{ ...file('b'), size: 3, source: '/any/path' }, file('a')]).map((e) => e.path)).toEqual(['a', 'b']);
  });

  it('moves a size or id too big for ustar into sorted PAX records', () => {
    const bytes = encodeHeader({ name: 'big', typeflag: '0', mode: 0o644, uid: 0o10000000, gid: 0, size: 2 ** 33, mtime: 0, linkname: '' });
    // One PAX header block, one block of records, then the ustar header.
    expect(bytes.length).toBe(3 * 512);
    expect(bytes[156]).toBe('x'.charCodeAt(0));
    const records = bytes.subarray(512, 1024).toString('latin1').replace(/\0+$/, '');
    expect(records).toBe(`${' size=8589934592\n'.length + 2} size=8589934592\n${' uid=2097152\n'.length + 2} uid=2097152\n`);
    for (const line of records.trimEnd().split('\n')) expect(Buffer.byteLength(`${line}\n`)).toBe(parseInt(line, 10));
  });
});
