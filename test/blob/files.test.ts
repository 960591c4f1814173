import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { collectFileEntries, parseFileSpec, type FileSpec } from '../../src/blob/files.js';
import { buildLayer } from '../../src/blob/layer.js';
import { UsageError } from '../../src/errors.js';
import { sh, tempDir } from './helpers.js';
import { berthAsNobody, IS_ROOT } from '../helpers/fs-conditions.js';
import { berthBin } from '../helpers/cli.js';

/**
 * Makes the same tree twice over: files written in the given order under the given umask,
 * with the given mtime, so only umask, readdir order and timestamps differ between copies.
 */
const SERVER = '#!/bin/sh\necho serving\n';
const HELPER = '#!/bin/sh\n';
const APP_YAML = 'port: 8080\n';
const size = (s: string) => Buffer.byteLength(s);

async function makeTree(root: string, opts: { umask: number; mtime: number; reverse: boolean }): Promise<void> {
  const files: [string, string, boolean][] = [
    ['bin/server', SERVER, true],
    ['bin/helper', HELPER, true],
    ['conf/app.yaml', APP_YAML, false],
    ['conf/deep/nested/x.txt', 'x\n', false],
    ...Array.from({ length: 40 }, (_, i): [string, string, boolean] => [`many/f${String(i).padStart(2, '0')}`, `file ${i}\n`, false]),
  ];
  const old = process.umask(opts.umask);
  try {
    for (const [rel, content, exec] of opts.reverse ? [...files].reverse() : files) {
      const path = join(root, rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, content, { mode: exec ? 0o777 : 0o666 });
      await utimes(path, opts.mtime, opts.mtime);
    }
    await symlink('../bin/server', join(root, 'conf', 'server-link'));
  } finally {
    process.umask(old);
  }
}

describe('--file specs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  describe('parseFileSpec', () => {
    it('parses SRC:DEST and SRC:DEST:MODE', () => {
      expect(parseFileSpec('bin/x:/app/x')).toEqual({ src: 'bin/x', dest: '/app/x' });
      expect(parseFileSpec('bin/x:/app/x:0755')).toEqual({ src: 'bin/x', dest: '/app/x', mode: 0o755 });
      expect(parseFileSpec('bin/x:/app/x:4711')).toEqual({ src: 'bin/x', dest: '/app/x', mode: 0o4711 });
      expect(parseFileSpec('bin/x:/app//./x')).toEqual({ src: 'bin/x', dest: '/app/x' });
      expect(parseFileSpec('bin/x:/app/')).toEqual({ src: 'bin/x', dest: '/app/' });
      expect(parseFileSpec('bin/x:/app/x', '/work')).toEqual({ src: 'bin/x', dest: '/app/x', cwd: '/work' });
    });

    const bad: [string, RegExp][] = [
      ['bin/x', /expected SRC:DEST\[:MODE\]/],
      ['bin/x:app/x', /DEST "app\/x" must be an absolute path/],
      ['bin/x:/app/../etc/x', /must not contain '\.\.'/],
      ['bin/x:/app/x:rwx', /MODE "rwx" is not an octal mode/],
      ['bin/x:/app/x:0888', /MODE "0888"/],
      ['bin/x:/app/x:17777', /MODE "17777"/],
      ['bin/x:/app/x:0755:extra', /too many ':'/],
      [':/app/x', /SRC is empty/],
    ];
    for (const [text, message] of bad) {
      it(`rejects ${JSON.stringify(text)} with a one-line BAD_FLAG naming it`, () => {
        const err = (() => {
          try {
            parseFileSpec(text);
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(err).toBeInstanceOf(UsageError);
        expect(err).toMatchObject({ code: 'BAD_FLAG' });
        expect((err as Error).message).toMatch(message);
        expect((err as Error).message.startsWith(`--file ${text}: `)).toBe(true);
        expect((err as Error).message).not.toContain('\n');
      });
    }
  });

  describe('collectFileEntries', () => {
    let tree: string;
    beforeAll(async () => {
      tree = join(dir, 'tree');
      await makeTree(tree, { umask: 0o022, mtime: 1_000_000, reverse: false });
    });

    it('adds a directory recursively, with parents, normalised modes, symlinks kept, stamp applied', async () => {
      const entries = await collectFileEntries([parseFileSpec(`${tree}/bin:/usr/local/bin`), parseFileSpec(`${tree}/conf:/etc/app`)], { uid: 7, gid: 8, mtime: 42 });
      const summary = entries.filter((e) => !e.path.startsWith('etc/app/deep')).map((e) => [e.path, e.type, e.mode.toString(8), e.size ?? e.linkname ?? '']);
      expect(summary).toEqual([
        ['etc', 'directory', '755', ''],
        ['etc/app', 'directory', '755', ''],
        ['etc/app/app.yaml', 'file', '644', size(APP_YAML)],
        ['etc/app/server-link', 'symlink', '777', '../bin/server'],
        ['usr', 'directory', '755', ''],
        ['usr/local', 'directory', '755', ''],
        ['usr/local/bin', 'directory', '755', ''],
        ['usr/local/bin/helper', 'file', '755', size(HELPER)],
        ['usr/local/bin/server', 'file', '755', size(SERVER)],
      ]);
      expect(entries.map((e) => e.path)).toContain('etc/app/deep/nested/x.txt');
      for (const e of entries) expect([e.uid, e.gid, e.mtime]).toEqual([7, 8, 42]);
      expect(entries.find((e) => e.path === 'usr/local/bin/server')!.source).toBe(join(tree, 'bin/server'));
    });

    it('applies MODE to a file, and to every file of a directory', async () => {
      const entries = await collectFileEntries([
        parseFileSpec(`${tree}/conf/app.yaml:/a.yaml:0600`),
        parseFileSpec(`${tree}/bin:/b:0700`),
      ]);
      const modes = Object.fromEntries(entries.map((e) => [e.path, e.mode.toString(8)]));
      expect(modes).toEqual({ 'a.yaml': '600', b: '755', 'b/helper': '700', 'b/server': '700' });
    });

    it('puts a file inside a DEST ending in /, follows a SRC that is a symlink, and resolves SRC against cwd', async () => {
      const entries = await collectFileEntries([parseFileSpec('conf/server-link:/srv/', tree), parseFileSpec('conf/app.yaml:/srv/app.yaml', tree)]);
      expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
        ['srv', 'directory', undefined],
        ['srv/app.yaml', 'file', size(APP_YAML)],
        ['srv/server-link', 'file', size(SERVER)],
      ]);
    });

    it('builds byte-identical layers whatever the umask, file mtimes and creation order', async () => {
      const a = join(dir, 'copy-a');
      const b = join(dir, 'copy-b');
      await makeTree(a, { umask: 0o022, mtime: 1_000_000, reverse: false });
      await makeTree(b, { umask: 0o077, mtime: 1_500_000_000, reverse: true });
      const build = async (root: string, out: string) =>
        buildLayer(await collectFileEntries([{ src: '.', dest: '/app', cwd: root }, parseFileSpec(`${root}/bin/server:/usr/bin/server`)], { mtime: 0 }), { outPath: join(dir, out) });
      const infoA = await build(a, 'a.tgz');
      const infoB = await build(b, 'b.tgz');
      expect(infoB).toEqual(infoA);
      const listing = await sh(`tar -tzvf '${join(dir, 'a.tgz')}'`);
      expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* 1970-01-01 00:00 app\/bin\/server$/m);
      expect(listing).toMatch(/^-rw-r--r-- 0\/0 .* app\/conf\/app.yaml$/m);
    });

    const conflicts: [string, string[]][] = [
      ['two specs with the same DEST', ['bin/server:/app/x', 'bin/helper:/app/x']],
      ['two directory specs with the same DEST', ['bin:/app', 'conf:/app']],
      ['a file where another spec needs a directory', ['bin/server:/app', 'bin/helper:/app/helper']],
      ["a file inside another spec's directory", ['bin:/app', 'conf/app.yaml:/app/server']],
      ['a path under a symlink of another spec', ['conf:/etc', 'bin/helper:/etc/server-link/x']],
    ];
    for (const [what, texts] of conflicts) {
      it(`rejects ${what}`, async () => {
        const specs = texts.map((t) => parseFileSpec(t, tree));
        await expect(collectFileEntries(specs)).rejects.toMatchObject({ code: 'BAD_FLAG', message: expect.stringMatching(/^--file .* and --file .* both write \//) });
      });
    }

    it('merges two specs that only share parent directories', async () => {
      const entries = await collectFileEntries([parseFileSpec('bin/server:/app/bin/server', tree), parseFileSpec('conf:/app/conf', tree)]);
      expect(entries.filter((e) => e.path === 'app')).toHaveLength(1);
    });

    it('names the flag and path of a missing SRC', async () => {
      await expect(collectFileEntries([parseFileSpec('bin/nope:/x', tree)])).rejects.toMatchObject({ code: 'UNREADABLE', message: '--file bin/nope: no such file or directory' });
    });

    it('refuses a FIFO inside a directory, naming it', async () => {
      const withFifo = join(dir, 'with-fifo');
      await mkdir(withFifo);
      await promisify(execFile)('mkfifo', [join(withFifo, 'pipe')]);
      await expect(collectFileEntries([parseFileSpec('with-fifo:/x', dir)])).rejects.toMatchObject({ code: 'UNREADABLE', message: expect.stringContaining('with-fifo/pipe') });
    });

    // Root reads any file whatever its mode, so berth runs as nobody (setpriv) for this check;
    // another user runs it directly. Either way the test runs, with the CLI as a user meets it.
    it('names an unreadable file inside a directory (as root: berth run as nobody)', async () => {
      const locked = join(dir, 'locked');
      await mkdir(locked);
      await writeFile(join(locked, 'secret'), 's');
      await chmod(join(locked, 'secret'), 0);
      await chmod(dir, 0o755); // nobody may walk to it, not read it
      const out = join(dir, 'out');
      await mkdir(out);
      await chmod(out, 0o777);
      const argv = ['build', '--base', 'scratch', '--file', 'locked:/x', '--output', join(out, 'x.tar')];
      const r = IS_ROOT ? await berthAsNobody(argv, { cwd: dir }) : await berthBin(argv, { cwd: dir });
      expect(r).toEqual({ code: 2, stdout: '', stderr: 'berth: --file locked/secret: permission denied\n' });
      expect(await readdir(out)).toEqual([]);
    });

    it('accepts an empty spec list', async () => {
      const specs: FileSpec[] = [];
      expect(await collectFileEntries(specs)).toEqual([]);
    });
  });
});
