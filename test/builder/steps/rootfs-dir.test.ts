import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lstat, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffLayer, extractLayer, snapshot } from '../../../src/builder/steps/rootfs-dir.js';
import { packTar, tempDir } from '../../blob/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-rootfs-dir-')));
afterAll(async () => cleanup());

const source = (buf: Buffer) => (async function* () { yield buf; })();

describe('a working container root folder', () => {
  it('writes a layer with whiteouts; refuses an entry that passes through a symlink (never writes outside the folder)', async () => {
    const root = join(dir, 'root1');
    const outside = join(dir, 'outside');
    await mkdir(root, { recursive: true });
    await mkdir(outside, { recursive: true });
    await extractLayer(source(await packTar([{ name: 'etc', type: 'directory' }, { name: 'etc/a', content: 'a' }, { name: 'etc/b', content: 'b' }, { name: 'bin', type: 'symlink', linkname: 'usr/bin' }])), root, 'layer 0', join(dir, 'spool1'));
    await extractLayer(source(await packTar([{ name: 'etc/.wh.a' }, { name: 'etc/c', content: 'c' }])), root, 'layer 1', join(dir, 'spool2'));
    expect((await snapshot(root)).size).toBe(4); // etc, etc/b, etc/c, bin
    expect(await readlink(join(root, 'bin'))).toBe('usr/bin');
    await rm(join(root, 'bin'));
    const { symlink } = await import('node:fs/promises');
    await symlink(outside, join(root, 'escape'));
    await expect(extractLayer(source(await packTar([{ name: 'escape/pwned', content: 'x' }])), root, 'layer 2', join(dir, 'spool3'))).rejects.toThrow(/passes through a symlink/);
    await expect(lstat(join(outside, 'pwned'))).rejects.toThrow();
  });

  it('diffs: new and changed entries with their parents, deletions as whiteouts, new empty mount points dropped', async () => {
    const root = join(dir, 'root2');
    await mkdir(join(root, 'keep/deep'), { recursive: true });
    await writeFile(join(root, 'keep/deep/same'), 'same');
    await writeFile(join(root, 'gone'), 'x');
    await mkdir(join(root, 'olddir/sub'), { recursive: true });
    const before = await snapshot(root);
    await writeFile(join(root, 'keep/deep/new'), 'new');
    await rm(join(root, 'gone'));
    await rm(join(root, 'olddir'), { recursive: true });
    await mkdir(join(root, 'proc'));
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/hosts'), '');
    const entries = await diffLayer(root, before, await snapshot(root), 1_700_000_000, ['proc', 'etc/hosts', 'etc']);
    expect(entries.map((e) => `${e.type} ${e.path}`).sort()).toEqual(['directory keep', 'directory keep/deep', 'file .wh.gone', 'file .wh.olddir', 'file keep/deep/new'].sort());
    expect(await readFile(join(root, 'keep/deep/new'), 'utf8')).toBe('new');
    // The dropped mount points are gone from the folder too.
    await expect(lstat(join(root, 'proc'))).rejects.toThrow();
  });
});
