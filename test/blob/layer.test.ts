import { execFile } from 'node:child_process';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addExistingLayer, buildLayer, type LayerInfo } from '../../src/blob/layer.js';
import type { TarEntry } from '../../src/blob/tar.js';
import { OperationalError, UsageError } from '../../src/errors.js';
import { packTar, pseudoRandomBytes, run, sh, sha256sum, tempDir } from './helpers.js';

const exists = (path: string) => access(path).then(() => true, () => false);
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Digests and sizes of a gzipped layer file, computed with coreutils and gzip. */
async function measure(path: string): Promise<LayerInfo> {
  const tar = `${path}.tar`;
  await sh(`gzip -dc '${path}' > '${tar}'`);
  return {
    digest: (await sha256sum(path)) as LayerInfo['digest'],
    diffID: (await sha256sum(tar)) as LayerInfo['diffID'],
    size: (await stat(path)).size,
    uncompressedSize: (await stat(tar)).size,
  };
}

describe('layers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let entries: TarEntry[];
  const stamp = { uid: 0, gid: 0, mtime: 1_600_000_000 };
  let count = 0;
  const out = () => join(dir, `out-${count++}.tar.gz`);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const big = join(dir, 'big.bin');
    await writeFile(big, pseudoRandomBytes(3 * 1024 * 1024 + 77, 29));
    entries = [
      { ...stamp, path: 'app', type: 'directory', mode: 0o755 },
      { ...stamp, path: 'app/big.bin', type: 'file', mode: 0o755, size: 3 * 1024 * 1024 + 77, source: big },
      { ...stamp, path: 'app/hello.txt', type: 'file', mode: 0o644, source: Buffer.from('hello\n') },
      { ...stamp, path: 'app/link', type: 'symlink', mode: 0o777, linkname: 'hello.txt' },
    ];
  });
  afterAll(() => cleanup());

  describe('buildLayer', () => {
    it('returns the digest, diffID and sizes that gzip and sha256sum find', async () => {
      const path = out();
      const info = await buildLayer(entries, { outPath: path });
      expect(info).toEqual(await measure(path));
      const listing = await sh(`tar -tzvf '${path}'`);
      expect(listing.trim().split('\n').map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual([
        'app/',
        'app/big.bin',
        'app/hello.txt',
        'app/link -> hello.txt',
      ]);
    });

    it('is byte-identical across runs, levels apart, and in another process with other threads', async () => {
      const a = out();
      const b = out();
      const infoA = await buildLayer(entries, { outPath: a });
      await buildLayer([...entries].reverse(), { outPath: b, concurrency: 1 });
      expect((await readFile(b)).equals(await readFile(a))).toBe(true);

      const script = `
        import { buildLayer } from ${JSON.stringify(join(REPO, 'dist/blob/layer.js'))};
        const entries = JSON.parse(process.argv[1], (k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data) : v));
        console.log(JSON.stringify(await buildLayer(entries, { outPath: process.argv[2] })));`;
      const c = out();
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(entries), c], {
        env: { ...process.env, UV_THREADPOOL_SIZE: '9', NODE_OPTIONS: '' },
      });
      expect(JSON.parse(stdout)).toEqual(infoA);

      const level6 = await buildLayer(entries, { outPath: out(), level: 6 });
      expect(level6.diffID).toBe(infoA.diffID);
      expect(level6.digest).not.toBe(infoA.digest);
    });

    it('removes the output and fails with an OperationalError when a file changes during the build', async () => {
      const path = out();
      const grown = [...entries, { ...stamp, path: 'late', type: 'file' as const, mode: 0o644, size: 1, source: join(dir, 'big.bin') }];
      await expect(buildLayer(grown, { outPath: path })).rejects.toThrow(OperationalError);
      expect(await exists(path)).toBe(false);
    });
  });

  describe('addExistingLayer', () => {
    let plainTar: string;
    beforeAll(async () => {
      const src = join(dir, 'src');
      await sh(`mkdir -p '${src}/etc' '${src}/usr/bin' && echo conf > '${src}/etc/app.conf' && head -c 300000 /usr/bin/env > '${src}/usr/bin/tool' && ln -s /usr/share/zoneinfo/UTC '${src}/etc/localtime'`);
      plainTar = join(dir, 'plain.tar');
      await run('tar', ['-cf', plainTar, '-C', src, '.']);
    });

    it('gzips a plain tar, keeping its bytes as the diffID', async () => {
      const path = out();
      const info = await addExistingLayer(plainTar, path);
      expect(info).toEqual(await measure(path));
      expect(info.diffID).toBe(await sha256sum(plainTar));
      expect((await run('gzip', ['-dc', path])).equals(await readFile(plainTar))).toBe(true);
    });

    it('keeps a gzip byte for byte and takes the diffID from its content (detected by magic, not name)', async () => {
      const gz = join(dir, 'layer.tar'); // misleading name on purpose
      await sh(`gzip -9 -c '${plainTar}' > '${gz}'`);
      const path = out();
      const info = await addExistingLayer(gz, path);
      expect((await readFile(path)).equals(await readFile(gz))).toBe(true);
      expect(info).toEqual(await measure(path));
      expect(info.diffID).toBe(await sha256sum(plainTar));
    });

    it('keeps a multi-member gzip (as pigz or cat a.gz b.gz make) whole', async () => {
      const tarBytes = await readFile(plainTar);
      const half = 10240;
      const gz = join(dir, 'multi.tgz');
      await writeFile(gz, Buffer.concat([gzipSync(tarBytes.subarray(0, half)), gzipSync(tarBytes.subarray(half))]));
      const path = out();
      const info = await addExistingLayer(gz, path);
      expect(info.diffID).toBe(await sha256sum(plainTar));
      expect((await readFile(path)).equals(await readFile(gz))).toBe(true);
    });

    const unsafe: [string, Parameters<typeof packTar>[0], string][] = [
      ['an absolute path', [{ name: '/etc/passwd' }], '/etc/passwd'],
      ['.. above the root', [{ name: '../evil' }], '../evil'],
      ['.. in the middle climbing out', [{ name: 'a/', type: 'directory' }, { name: 'a/../../evil' }], 'a/../../evil'],
      ['a hardlink out of the root', [{ name: 'x', type: 'link', linkname: '../../etc/shadow' }], '../../etc/shadow'],
      ['a hardlink to an absolute path', [{ name: 'x', type: 'link', linkname: '/etc/shadow' }], '/etc/shadow'],
      ['a write through a symlink pointing out', [{ name: 'evil', type: 'symlink', linkname: '../../..' }, { name: 'evil/x' }], 'evil/x'],
      ['a write through a chain of symlinks', [{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: '../..' }, { name: 'a/x' }], 'a/x'],
      ['a write through a symlink in a subdirectory', [{ name: 'd/', type: 'directory' }, { name: 'd/up', type: 'symlink', linkname: '../..' }, { name: 'd/up/x' }], 'd/up/x'],
      ['a symlink reached through another symlink', [{ name: 'd', type: 'symlink', linkname: 'sub' }, { name: 'sub/', type: 'directory' }, { name: 'd/up', type: 'symlink', linkname: '../..' }, { name: 'sub/up/x' }], 'sub/up/x'],
      ['a hardlink through a symlink pointing out', [{ name: 'evil', type: 'symlink', linkname: '../..' }, { name: 'h', type: 'link', linkname: 'evil/etc/passwd' }], 'evil/etc/passwd'],
      // GNU tar with --absolute-names (and any extractor without GNU tar's delayed symlinks)
      // writes through a symlink with an absolute target onto the host's root.
      ['a write through an absolute symlink', [{ name: 'etc2', type: 'symlink', linkname: '/etc' }, { name: 'etc2/x' }], 'etc2/x'],
      // GNU tar keeps a symlink to a directory when a directory member names it, then writes through it.
      ['a symlink pointing out named again as a directory, then written through', [{ name: 'evil', type: 'symlink', linkname: '../..' }, { name: 'evil/', type: 'directory' }, { name: 'evil/x' }], 'evil/'],
      // Python's tarfile links with os.link, which follows symlinks: x becomes the outside file.
      ['a hard link to a symlink pointing out', [{ name: 'up', type: 'symlink', linkname: '../../..' }, { name: 'x', type: 'link', linkname: 'up' }], 'x'],
      // The symlink stays inside where it is; its hard link one level up (the same symlink) does not.
      ['a write through a hard link that moves a symlink up a level', [{ name: 'd/', type: 'directory' }, { name: 'd/in', type: 'symlink', linkname: '../d' }, { name: 'h', type: 'link', linkname: 'd/in' }, { name: 'h/x' }], 'h/x'],
      ['a symlink loop written through', [{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }, { name: 'a/x' }], 'a/x'],
    ];
    for (const [what, members, named] of unsafe) {
      for (const gzipped of [false, true]) {
        it(`rejects ${what} (${gzipped ? 'gzip' : 'tar'}), leaving no output`, async () => {
          const tarBytes = await packTar(members);
          const src = join(dir, `unsafe-${count++}`);
          await writeFile(src, gzipped ? gzipSync(tarBytes) : tarBytes);
          const path = out();
          const err = await addExistingLayer(src, path).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(UsageError);
          expect(err).toMatchObject({ code: 'UNSAFE_PATH' });
          expect((err as Error).message).toContain(src);
          expect((err as Error).message).toContain(`"${named}"`);
          expect(await exists(path)).toBe(false);
        });
      }
    }

    const safe: [string, Parameters<typeof packTar>[0]][] = [
      ['an absolute symlink on its own', [{ name: 'etc/', type: 'directory' }, { name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' }]],
      ['a write through a relative symlink inside the root', [{ name: 'usr/lib/', type: 'directory' }, { name: 'lib', type: 'symlink', linkname: 'usr/lib' }, { name: 'lib/x' }]],
      ['./-prefixed names and .. that stays inside', [{ name: './', type: 'directory' }, { name: './a/', type: 'directory' }, { name: './a/../b' }]],
      ['a symlink pointing out that nothing is written through', [{ name: 'up', type: 'symlink', linkname: '../../..' }, { name: 'x' }]],
      ['a hard link to a symlink that stays inside', [{ name: 'd/', type: 'directory' }, { name: 'd/in', type: 'symlink', linkname: '../d' }, { name: 'e/', type: 'directory' }, { name: 'e/h', type: 'link', linkname: 'd/in' }, { name: 'e/h/x' }]],
    ];
    for (const [what, members] of safe) {
      it(`accepts ${what}`, async () => {
        const src = join(dir, `safe-${count++}`);
        await writeFile(src, await packTar(members));
        const path = out();
        const info = await addExistingLayer(src, path);
        expect(info.diffID).toBe(await sha256sum(src));
      });
    }

    const corrupt: [string, () => Promise<Buffer>][] = [
      ['a truncated tar', async () => (await readFile(plainTar)).subarray(0, 2000)],
      ['a truncated gzip', async () => gzipSync(await readFile(plainTar)).subarray(0, 3000)],
      ['a gzip with a corrupted body', async () => {
        const gz = gzipSync(await readFile(plainTar));
        gz.fill(0x55, 40, 80);
        return gz;
      }],
      ['random bytes', async () => pseudoRandomBytes(4096, 31, 0)],
      ['a gzip of something that is not a tar', async () => gzipSync(pseudoRandomBytes(4096, 37, 0))],
      ['an empty file', async () => Buffer.alloc(0)],
      ['a gzip of nothing', async () => gzipSync(Buffer.alloc(0))],
      ['a zstd frame', async () => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])],
    ];
    for (const [what, make] of corrupt) {
      it(`fails with BAD_TARBALL on ${what}, leaving no output`, async () => {
        const src = join(dir, `corrupt-${count++}`);
        await writeFile(src, await make());
        const path = out();
        const err = await addExistingLayer(src, path).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UsageError);
        expect(err).toMatchObject({ code: 'BAD_TARBALL' });
        expect((err as Error).message).toContain(src);
        expect(await exists(path)).toBe(false);
      });
    }

    it('fails with UNREADABLE on a missing file', async () => {
      const missing = join(dir, 'nope.tar');
      const path = out();
      await expect(addExistingLayer(missing, path)).rejects.toMatchObject({ code: 'UNREADABLE', message: `--layer ${missing}: no such file or directory` });
      expect(await exists(path)).toBe(false);
    });
  });
});
