import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmod, link, lstat, mkdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as rootfsModule from '../../../src/builder/rootfs.js';
import { diffLayer, extractLayer, layerMembers, snapshot, writeTree } from '../../../src/builder/steps/rootfs-dir.js';
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

describe('extractLayer: what lands in the folder', () => {
  const { FsTree } = rootfsModule;
  const fresh = async (name: string) => {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    return root;
  };
  const listing = async (root: string) => [...(await snapshot(root))].map(([p, s]) => `${s.type} ${p}${s.linkname ? ` -> ${s.linkname}` : ''}`);

  it('an opaque whiteout empties its folder of what lower layers put there, before or after it in the archive; at the root too', async () => {
    const root = await fresh('opaque');
    await extractLayer(source(await packTar([{ name: 'd', type: 'directory' }, { name: 'd/old', content: 'o' }, { name: 'e', type: 'directory' }, { name: 'e/old' }, { name: 'top' }])), root, 'layer 0', join(dir, 'sp-o0'));
    await extractLayer(source(await packTar([{ name: 'd/new', content: 'n' }, { name: 'd/.wh..wh..opq' }, { name: 'e/.wh..wh..opq' }, { name: 'e/new' }])), root, 'layer 1', join(dir, 'sp-o1'));
    expect(await listing(root)).toEqual(['directory d', 'file d/new', 'directory e', 'file e/new', 'file top']);
    await extractLayer(source(await packTar([{ name: 'kept', content: 'k' }, { name: '.wh..wh..opq' }])), root, 'layer 2', join(dir, 'sp-o2'));
    expect(await listing(root)).toEqual(['file kept']);
  });

  it('modes and owners as the layer says; a symlink changes nothing of its target; a folder replaces a file and a file a folder; devices and the root entry are left out', async () => {
    const root = await fresh('meta');
    const members = await extractLayer(
      source(
        await packTar([
          { name: './', type: 'directory', mode: 0o700 },
          { name: 'f', content: 'f', mode: 0o600, uid: 1234, gid: 5678 },
          { name: 'l', type: 'symlink', linkname: 'f', mode: 0o777, uid: 7, gid: 8 },
          { name: 'dangling', type: 'symlink', linkname: 'nowhere', mode: 0o777 },
          { name: 'was-file', content: 'x' },
          { name: 'was-dir', type: 'directory' },
          { name: 'was-dir/inner', content: 'i' },
          { name: 'd', type: 'directory', mode: 0o710, uid: 1, gid: 2 },
          { name: 'null', type: 'character-device' },
        ]),
      ),
      root,
      'layer 0',
      join(dir, 'sp-m0'),
    );
    expect(members.map((m) => `${m.type} ${m.path}`)).toEqual(['directory ', 'file f', 'symlink l', 'symlink dangling', 'file was-file', 'directory was-dir', 'file was-dir/inner', 'directory d', 'other null']);
    expect(((await lstat(root)).mode & 0o7777).toString(8)).toBe('755');
    await extractLayer(source(await packTar([{ name: 'was-file', type: 'directory', mode: 0o750 }, { name: 'was-dir', content: 'now a file', mode: 0o640 }])), root, 'layer 1', join(dir, 'sp-m1'));
    const seen = await snapshot(root);
    const meta = (p: string) => {
      const s = seen.get(p)!;
      return `${s.type} ${s.mode.toString(8)} ${s.uid}:${s.gid}${s.linkname ? ` -> ${s.linkname}` : ''}`;
    };
    expect([...seen.keys()]).toEqual(['d', 'dangling', 'f', 'l', 'was-dir', 'was-file']);
    expect(['d', 'f', 'l', 'was-dir', 'was-file'].map(meta)).toEqual(['directory 710 1:2', 'file 600 1234:5678', 'symlink 777 7:8 -> f', 'file 640 0:0', 'directory 750 0:0']);
    expect(await readFile(join(root, 'was-dir'), 'utf8')).toBe('now a file');
  });

  it('a hard link into a folder is the same file; a large file comes through its spool copy whole', async () => {
    const root = await fresh('links');
    const big = 'b'.repeat(200_000);
    await extractLayer(
      source(await packTar([{ name: 'sub', type: 'directory' }, { name: 'sub/target', content: 'shared' }, { name: 'h', type: 'link', linkname: 'sub/target' }, { name: 'big', content: big }])),
      root,
      'layer 0',
      join(dir, 'sp-l0'),
    );
    expect((await lstat(join(root, 'h'))).ino).toBe((await lstat(join(root, 'sub/target'))).ino);
    expect(await readFile(join(root, 'h'), 'utf8')).toBe('shared');
    expect(await readFile(join(root, 'big'), 'utf8')).toBe(big);
  });

  it('an entry under a file or under a symlink deeper down is refused, naming the path it passes through', async () => {
    const root = await fresh('refuse');
    // The link leads to a folder of this test's own (never a host folder such as /etc): a
    // mutant of the code under test that follows it must do no harm outside the test.
    const outside = join(dir, 'refuse-outside');
    await mkdir(outside, { recursive: true });
    await extractLayer(source(await packTar([{ name: 'f', content: 'f' }, { name: 'd', type: 'directory' }, { name: 'd/s', type: 'symlink', linkname: outside }])), root, 'layer 0', join(dir, 'sp-r0'));
    await expect(extractLayer(source(await packTar([{ name: 'f/x', content: 'x' }])), root, 'layer 1', join(dir, 'sp-r1'))).rejects.toThrow(
      new Error('layer 1: f passes through a file (f); berth writes no layer entry through one'),
    );
    await expect(extractLayer(source(await packTar([{ name: 'd/s/e/x', content: 'x' }])), root, 'layer 2', join(dir, 'sp-r2'))).rejects.toThrow(
      new Error('layer 2: d/s/e passes through a symlink (d/s); berth writes no layer entry through one'),
    );
  });

  it('writeTree writes a tree\'s files below a folder of it: contents from memory, a file or a function, links inside it', async () => {
    const tree = new FsTree('rootfs');
    const onDisk = join(dir, 'on-disk');
    await writeFile(onDisk, 'from a file');
    tree.set('other', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, source: Buffer.from('o') });
    tree.set('sub', { type: 'directory', mode: 0o750, uid: 1, gid: 2 });
    tree.set('sub/mem', { type: 'file', mode: 0o640, uid: 3, gid: 4, size: 3, source: Buffer.from('mem') });
    tree.set('sub/disk', { type: 'file', mode: 0o600, uid: 0, gid: 0, size: 11, source: onDisk });
    tree.set('sub/fn', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 2, source: async () => (async function* () { yield Buffer.from('f'); yield Buffer.from('n'); })() });
    tree.set('sub/empty', { type: 'file', mode: 0o644, uid: 0, gid: 0 });
    tree.set('sub/deep', { type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    tree.set('sub/deep/t', { type: 'file', mode: 0o640, uid: 3, gid: 4, size: 1, source: Buffer.from('t') });
    tree.set('sub/h', { type: 'hardlink', mode: 0o640, uid: 3, gid: 4, linkname: 'sub/deep/t' });
    tree.set('sub/l', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'mem' });
    const out = join(dir, 'tree-out');
    await writeTree(tree, out, 'sub', 'RUN --mount source');
    expect(await listing(out)).toEqual(['directory deep', 'file deep/t', 'file disk', 'file empty', 'file fn', 'file h', 'symlink l -> mem', 'file mem']);
    expect(await Promise.all(['mem', 'disk', 'fn', 'empty', 'h', 'l'].map((p) => readFile(join(out, p), 'utf8')))).toEqual(['mem', 'from a file', 'fn', '', 't', 'mem']);
    expect((await lstat(join(out, 'h'))).ino).toBe((await lstat(join(out, 'deep/t'))).ino);
    const whole = join(dir, 'tree-whole');
    await writeTree(tree, whole, '', 'RUN --mount source');
    expect((await listing(whole)).slice(0, 3)).toEqual(['file other', 'directory sub', 'directory sub/deep']);
    expect(((await lstat(join(whole, 'sub'))).mode & 0o7777).toString(8)).toBe('750');
    expect((await lstat(join(whole, 'sub/h'))).ino).toBe((await lstat(join(whole, 'sub/deep/t'))).ino);
  });

  it('layerMembers reads a layer file, gzip or not', async () => {
    const tarFile = join(dir, 'members.tar.gz');
    await writeFile(tarFile, gzipSync(await packTar([{ name: 'a', content: 'a', mode: 0o600 }, { name: 'b', type: 'symlink', linkname: 'a' }])));
    const members = await layerMembers(tarFile, 'the layer', join(dir, 'sp-lm'));
    expect(members.map((m) => [m.path, m.type, m.mode.toString(8), m.linkname, m.size])).toEqual([
      ['a', 'file', '600', '', 1],
      ['b', 'symlink', '644', 'a', 0],
    ]);
  });
});

describe('snapshot and diffLayer: what a RUN changed', () => {
  const EPOCH = 1_700_000_000;
  const fresh = async (name: string) => {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    return root;
  };

  it('snapshot: each path lstat\'ed, symlinks not followed, a FIFO as "other"', async () => {
    const root = await fresh('snap');
    await mkdir(join(root, 'd'));
    await writeFile(join(root, 'd/f'), 'abc');
    await chmod(join(root, 'd/f'), 0o640);
    await symlink('d/f', join(root, 'l'));
    execFileSync('mkfifo', [join(root, 'p')]);
    await chmod(join(root, 'p'), 0o644);
    const seen = await snapshot(root);
    expect([...seen].map(([p, s]) => [p, s.type, s.mode.toString(8), s.size, s.linkname, s.nlink])).toEqual([
      ['d', 'directory', '755', expect.any(Number), undefined, 2],
      ['d/f', 'file', '640', 3, undefined, 1],
      ['l', 'symlink', '777', 3, 'd/f', 1],
      ['p', 'other', '644', 0, undefined, 1],
    ]);
    // A FIFO is no part of a layer.
    expect(await diffLayer(root, new Map(), seen, EPOCH, [])).toEqual(expect.not.arrayContaining([expect.objectContaining({ path: 'p' })]));
  });

  it('any one field that differs makes a path changed', async () => {
    const root = await fresh('fields');
    await writeFile(join(root, 'f'), 'x');
    const after = await snapshot(root);
    const s = after.get('f')!;
    expect(await diffLayer(root, new Map(after), after, EPOCH, [])).toEqual([]);
    for (const change of [{ type: 'symlink' }, { mode: 0o600 }, { uid: 5 }, { gid: 5 }, { size: 9 }, { mtime: s.mtime + 1n }, { ctime: s.ctime + 1n }, { ino: s.ino + 1n }, { linkname: 'x' }] as Partial<typeof s>[]) {
      const before = new Map(after).set('f', { ...s, ...change });
      expect([Object.keys(change)[0], (await diffLayer(root, before, after, EPOCH, [])).map((e) => e.path)]).toEqual([Object.keys(change)[0], ['f']]);
    }
  });

  it('entries: parents first, names in byte order, old mtimes kept and new ones clamped, hard links to the first path, empty files without content, whiteouts for what went', async () => {
    const root = await fresh('entries');
    await mkdir(join(root, 'old/sub'), { recursive: true });
    await writeFile(join(root, 'old/sub/gone'), 'g');
    await mkdir(join(root, 'tree/inner'), { recursive: true });
    await writeFile(join(root, 'tree/inner/x'), 'x');
    const before = await snapshot(root);
    await rm(join(root, 'old/sub/gone'));
    await rm(join(root, 'tree'), { recursive: true });
    await writeFile(join(root, 'tree'), 'a file now');
    await mkdir(join(root, 'new'));
    await writeFile(join(root, 'new/b'), 'bb');
    await link(join(root, 'new/b'), join(root, 'new/a'));
    await writeFile(join(root, 'new/Z'), '');
    await utimes(join(root, 'new/Z'), EPOCH - 500, EPOCH - 500);
    const entries = await diffLayer(root, before, await snapshot(root), EPOCH, []);
    const sub = await lstat(join(root, 'old/sub'));
    expect(entries.map((e) => ({ ...e }))).toEqual([
      { path: 'new', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH },
      { path: 'new/Z', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: EPOCH - 500, size: 0 },
      { path: 'new/a', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: EPOCH, size: 2, source: join(root, 'new/a') },
      { path: 'new/b', type: 'hardlink', linkname: 'new/a', mode: 0o644, uid: 0, gid: 0, mtime: EPOCH },
      { path: 'old', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH },
      { path: 'old/sub', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: Math.min(EPOCH, Math.floor(sub.mtimeMs / 1000)) },
      { path: 'tree', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: EPOCH, size: 10, source: join(root, 'tree') },
      { path: 'old/sub/.wh.gone', type: 'file', mode: 0, uid: 0, gid: 0, mtime: EPOCH, size: 0 },
    ]);
  });

  it('mount points: dropped only when new and empty (a folder once what filled it went), from the folder too; a symlink, a file with content or one already there stays', async () => {
    const root = await fresh('stubs');
    await mkdir(join(root, 'proc'));
    const before = await snapshot(root);
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/hosts'), '');
    await writeFile(join(root, 'etc/hostname'), 'box\n');
    await mkdir(join(root, 'run'));
    await writeFile(join(root, 'run/.keep'), '');
    await mkdir(join(root, 'dev'));
    await writeFile(join(root, 'dev/shm'), '');
    await symlink('../run/resolv.conf', join(root, 'resolv.conf'));
    const entries = await diffLayer(root, before, await snapshot(root), EPOCH, ['proc', 'dev', 'etc', 'run', 'etc/hosts', 'etc/hostname', 'resolv.conf', 'dev/shm']);
    expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual(['directory etc', 'file etc/hostname', 'symlink resolv.conf', 'directory run', 'file run/.keep']);
    expect(await snapshot(root).then((s) => [...s.keys()])).toEqual(['etc', 'etc/hostname', 'proc', 'resolv.conf', 'run', 'run/.keep']);
  });
});

describe('extractLayer: parents a layer does not list', () => {
  it('are made as folders, 0755 and root\'s', async () => {
    const root = join(dir, 'parents');
    await mkdir(root, { recursive: true });
    await extractLayer(source(await packTar([{ name: 'n1/n2/f', content: 'deep', mode: 0o600 }])), root, 'layer 0', join(dir, 'sp-p0'));
    expect([...(await snapshot(root))].map(([p, s]) => `${s.type} ${p} ${s.mode.toString(8)} ${s.uid}:${s.gid}`)).toEqual(['directory n1 755 0:0', 'directory n1/n2 755 0:0', 'file n1/n2/f 600 0:0']);
    expect(await readFile(join(root, 'n1/n2/f'), 'utf8')).toBe('deep');
  });
});

describe('extractLayer: an opaque whiteout after what its layer put in the folder (bug fix)', () => {
  it('hides every lower-layer path under the folder, however deep, and nothing of its own layer', async () => {
    const root = join(dir, 'opaque-late');
    await mkdir(root, { recursive: true });
    await extractLayer(source(await packTar([{ name: 'd', type: 'directory' }, { name: 'd/sub', type: 'directory' }, { name: 'd/sub/old', content: 'lower' }, { name: 'd/bare', type: 'directory' }, { name: 'd/bare/old', content: 'lower' }, { name: 'd/gone', content: 'lower' }])), root, 'layer 0', join(dir, 'sp-ol0'));
    // The folders d/sub (listed) and d/bare (not listed, only a file in it) come before the marker.
    await extractLayer(source(await packTar([{ name: 'd/sub', type: 'directory', mode: 0o700 }, { name: 'd/sub/new', content: 'upper' }, { name: 'd/bare/new', content: 'upper' }, { name: 'd/.wh..wh..opq' }])), root, 'layer 1', join(dir, 'sp-ol1'));
    expect([...(await snapshot(root)).keys()]).toEqual(['d', 'd/bare', 'd/bare/new', 'd/sub', 'd/sub/new']);
    expect(((await lstat(join(root, 'd/sub'))).mode & 0o7777).toString(8)).toBe('700');
  });
});

describe('rootfs-dir: whiteouts of folders and of nothing, spools not made yet, byte order', () => {
  it('a whiteout removes a whole folder, and one of a path not there is no error; the spool folder is made', async () => {
    const root = join(dir, 'wh-dir');
    await mkdir(root, { recursive: true });
    await extractLayer(source(await packTar([{ name: 'd', type: 'directory' }, { name: 'd/sub', type: 'directory' }, { name: 'd/sub/f', content: 'f' }, { name: 'keep', content: 'k' }])), root, 'layer 0', join(dir, 'not-yet', 'spool-0'));
    await extractLayer(source(await packTar([{ name: '.wh.d' }, { name: '.wh.never-there' }])), root, 'layer 1', join(dir, 'not-yet', 'spool-1'));
    expect([...(await snapshot(root)).keys()]).toEqual(['keep']);
  });

  it('diffLayer: paths in byte order ("x-z" before "x/y"), so the first of a hard-link group by bytes holds the content', async () => {
    const root = join(dir, 'bytes');
    await mkdir(root, { recursive: true });
    const before = await snapshot(root);
    await mkdir(join(root, 'x'));
    await writeFile(join(root, 'x/y'), 'shared');
    await link(join(root, 'x/y'), join(root, 'x-z'));
    await writeFile(join(root, 'x.w'), 'w');
    const entries = await diffLayer(root, before, await snapshot(root), EPOCH_S, []);
    expect(entries.map((e) => `${e.type} ${e.path}${e.linkname ? ` -> ${e.linkname}` : ''}`)).toEqual(['directory x', 'file x-z', 'file x.w', 'hardlink x/y -> x-z']);
  });
});
const EPOCH_S = 1_700_000_000;

describe('snapshot: names in order whatever order they were made in', () => {
  it('lists each folder\'s names sorted, a folder before its contents', async () => {
    const root = join(dir, 'snap-order');
    await mkdir(root, { recursive: true });
    for (const name of ['z', 'a', 'm']) await mkdir(join(root, name));
    for (const name of ['y', 'b']) await writeFile(join(root, 'm', name), name);
    expect([...(await snapshot(root)).keys()]).toEqual(['a', 'm', 'm/b', 'm/y', 'z']);
  });
});
