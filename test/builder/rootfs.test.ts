import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { contextTree, FsTree, imageTree, PathEscape, readMembers, type FsNode } from '../../src/builder/rootfs.js';
import { IgnoreRules } from '../../src/dockerfile/dockerignore.js';
import { ignoreFilter } from '../../src/builder/context-walk.js';
import type { Image } from '../../src/transport/image.js';
import { packTar } from '../blob/helpers.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('berth-rootfs-')));
afterAll(async () => cleanup());

const d = (): FsNode => ({ type: 'directory', mode: 0o755, uid: 0, gid: 0 });
const l = (target: string): FsNode => ({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: target });

function merged(kind: 'rootfs' | 'context' = 'rootfs'): FsTree {
  const t = new FsTree(kind);
  for (const [p, n] of Object.entries({ usr: d(), 'usr/bin': d(), 'usr/lib': d(), bin: l('usr/bin'), lib: l('/usr/lib'), 'usr/bin/sh': l('busybox'), loop: l('loop') })) t.nodes.set(p, n);
  return t;
}

/** An Image whose layers are the given tar archives (only what imageTree reads). */
function imageOf(layers: Buffer[]): Image {
  const byDigest = new Map(layers.map((b, i) => [`sha256:${String(i).padStart(64, '0')}`, b]));
  return {
    kind: 'image',
    manifest: { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:x', size: 0 }, layers: [...byDigest.keys()].map((digest) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: 0 })) },
    blobs: { origin: 'test', open: async (desc: { digest: string }) => (async function* () { yield byDigest.get(desc.digest)!; })() },
  } as unknown as Image;
}

describe('FsTree.resolve', () => {
  it('follows symlinked folders of a merged /usr, relative and absolute, and the last part only when asked', () => {
    const t = merged();
    expect(t.resolve('bin/tool')).toBe('usr/bin/tool');
    expect(t.resolve('lib/x/y')).toBe('usr/lib/x/y');
    expect(t.resolve('bin/sh')).toBe('usr/bin/busybox');
    expect(t.resolve('bin/sh', false)).toBe('usr/bin/sh');
    expect(t.resolve('bin', false)).toBe('bin');
  });

  it('stops `..` at the root of a file system, and refuses leaving a context', () => {
    expect(merged().resolve('../../bin/x')).toBe('usr/bin/x');
    const ctx = new FsTree('context');
    ctx.nodes.set('out', l('../elsewhere'));
    expect(() => ctx.resolve('out/x')).toThrow(PathEscape);
    expect(() => ctx.resolve('../x')).toThrow(/leads outside the build context/);
  });

  it('refuses a symlink loop after 40 hops instead of running for ever', () => {
    expect(() => merged().resolve('loop/x')).toThrow(/too many symlinks/);
  });
});

describe('imageTree', () => {
  it('applies whiteouts and opaque folders layer by layer, keeping what the same layer adds', async () => {
    const lower = await packTar([{ name: 'a/', type: 'directory' }, { name: 'a/x', content: 'x' }, { name: 'a/y', content: 'y' }, { name: 'd/', type: 'directory' }, { name: 'd/old', content: 'old' }, { name: 'bin', type: 'symlink', linkname: 'usr/bin' }]);
    const upper = await packTar([{ name: 'a/.wh.x', content: '' }, { name: 'd/', type: 'directory', mode: 0o700, uid: 5, gid: 6 }, { name: 'd/.wh..wh..opq', content: '' }, { name: 'd/new', content: 'new' }]);
    const tree = await imageTree(imageOf([lower, upper]));
    expect([...tree.nodes.keys()].sort()).toEqual(['a', 'a/y', 'bin', 'd', 'd/new']);
    expect(tree.get('d')).toEqual({ type: 'directory', mode: 0o700, uid: 5, gid: 6 });
    expect(tree.get('bin')).toMatchObject({ type: 'symlink', linkname: 'usr/bin' });
    expect((await tree.readSmall('d/new'))?.toString()).toBe('new');
  });

  it('lists a layer\'s members in archive order, devices as `other`', async () => {
    const tar = await packTar([{ name: 'f', content: 'f', uid: 3, gid: 4, mode: 0o600 }, { name: 'p', type: 'fifo' }]);
    const members = await readMembers((async function* () { yield tar; })(), 'test', undefined, 'm');
    expect(members.map((m) => `${m.path} ${m.type} ${m.mode.toString(8)} ${m.uid}:${m.gid}`)).toEqual(['f file 600 3:4', 'p other 644 0:0']);
  });
});

describe('contextTree', () => {
  it('reads a context with git\'s modes, owners 0, symlinks as links, and walks into an ignored folder only for exceptions', async () => {
    const root = join(dir, 'ctx');
    await mkdir(join(root, 'skip', 'deep'), { recursive: true });
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(root, 'run.sh'), 0o700);
    await writeFile(join(root, 'data'), 'd');
    await chmod(join(root, 'data'), 0o600);
    await symlink('data', join(root, 'link'));
    await writeFile(join(root, 'skip', 'deep', 'keep.txt'), 'k');
    await writeFile(join(root, 'skip', 'drop.txt'), 'x');
    const rules = IgnoreRules.parse('skip\n!skip/deep/keep.txt\n');
    const tree = await contextTree(root, ignoreFilter(rules));
    expect([...tree.nodes.keys()].sort()).toEqual(['data', 'link', 'run.sh', 'skip/deep/keep.txt']);
    expect(tree.get('run.sh')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    expect(tree.get('data')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(tree.get('link')).toMatchObject({ type: 'symlink', linkname: 'data' });
  });
});

describe('FsTree: get, set, deleteTree, under, clone', () => {
  const f = (content: string): FsNode => ({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.length, source: Buffer.from(content) });
  function tree(): FsTree {
    const t = new FsTree('rootfs');
    for (const [p, n] of Object.entries({ a: d(), 'a/x': f('x'), 'a/sub': d(), 'a/sub/y': f('y'), ab: f('ab'), b: f('b') })) t.nodes.set(p, n);
    return t;
  }

  it('gives the root as a folder 0755 0:0, and nothing for a path it lacks', () => {
    expect(tree().get('')).toEqual({ type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    expect(tree().get('nope')).toBeUndefined();
    expect(tree().get('a/x')).toEqual(f('x'));
  });

  it('replaces a folder and what is under it by a file, keeps what is under a folder set over a folder', () => {
    const t = tree();
    t.set('a', f('now a file'));
    expect([...t.nodes.keys()].sort()).toEqual(['a', 'ab', 'b']);
    expect(t.get('a')).toEqual(f('now a file'));
    const u = tree();
    u.set('a', { type: 'directory', mode: 0o700, uid: 1, gid: 2 });
    expect([...u.nodes.keys()].sort()).toEqual(['a', 'a/sub', 'a/sub/y', 'a/x', 'ab', 'b']);
    expect(u.get('a')).toEqual({ type: 'directory', mode: 0o700, uid: 1, gid: 2 });
    const v = tree();
    v.set('b', l('a'));
    expect([...v.nodes.keys()].sort()).toEqual(['a', 'a/sub', 'a/sub/y', 'a/x', 'ab', 'b']);
    expect(v.get('b')).toEqual(l('a'));
  });

  it('deletes a folder with what is under it (not its siblings that share a prefix), or only what is under it', () => {
    const t = tree();
    t.deleteTree('a');
    expect([...t.nodes.keys()].sort()).toEqual(['ab', 'b']);
    const u = tree();
    u.deleteTree('a', false);
    expect([...u.nodes.keys()].sort()).toEqual(['a', 'ab', 'b']);
    const v = tree();
    v.deleteTree('a/sub');
    expect([...v.nodes.keys()].sort()).toEqual(['a', 'a/x', 'ab', 'b']);
    const w = tree();
    w.deleteTree('b');
    expect([...w.nodes.keys()].sort()).toEqual(['a', 'a/sub', 'a/sub/y', 'a/x', 'ab']);
    const all = tree();
    all.deleteTree('');
    expect([...all.nodes.keys()]).toEqual([]);
  });

  it('deletes only the file itself when the path is a file, whatever names start with it', () => {
    const t = new FsTree('rootfs');
    t.nodes.set('f', f('f'));
    t.nodes.set('f/odd', f('o')); // not a tree a layer gives, but deleteTree of a file must not reach under it
    t.deleteTree('f');
    expect([...t.nodes.keys()]).toEqual(['f/odd']);
    const u = new FsTree('rootfs');
    u.nodes.set('gone/odd', f('o'));
    u.deleteTree('gone');
    expect([...u.nodes.keys()]).toEqual(['gone/odd']);
  });

  it('lists what is under a folder, recursively and sorted, without the folder or its prefix-sharing siblings', () => {
    const t = new FsTree('rootfs');
    for (const p of ['b', 'a/z', 'a', 'ab', 'a/m/n', 'a/m']) t.nodes.set(p, f(p));
    expect(t.under('a')).toEqual(['a/m', 'a/m/n', 'a/z']);
    expect(t.under('')).toEqual(['a', 'a/m', 'a/m/n', 'a/z', 'ab', 'b']);
    expect(t.under('a/m')).toEqual(['a/m/n']);
    expect(t.under('b')).toEqual([]);
  });

  it('clones into a tree of the same kind that changes apart from the original', () => {
    const t = tree();
    const c = t.clone();
    expect(c.kind).toBe('rootfs');
    expect(new FsTree('context').clone().kind).toBe('context');
    expect([...c.nodes.entries()]).toEqual([...t.nodes.entries()]);
    c.nodes.delete('b');
    c.nodes.set('new', f('n'));
    expect([...t.nodes.keys()].sort()).toEqual(['a', 'a/sub', 'a/sub/y', 'a/x', 'ab', 'b']);
  });
});

describe('FsTree.resolve: messages and limits', () => {
  it('ignores `.` and empty parts', () => {
    expect(merged().resolve('./usr//bin/./x/')).toBe('usr/bin/x');
    expect(merged().resolve('')).toBe('');
    expect(merged().resolve('/')).toBe('');
  });

  it('goes up with `..` inside a tree, and through a link whose target has `..`', () => {
    const t = merged();
    t.nodes.set('usr/bin/up', l('../lib'));
    expect(t.resolve('usr/bin/../lib/z')).toBe('usr/lib/z');
    expect(t.resolve('usr/bin/up/z')).toBe('usr/lib/z');
    expect(t.resolve('bin/up/z')).toBe('usr/lib/z');
  });

  it('names the symlink that leads out of a context, and the innermost one when links chain', () => {
    const ctx = new FsTree('context');
    ctx.nodes.set('out', l('../elsewhere'));
    ctx.nodes.set('abs', l('/etc'));
    ctx.nodes.set('via', l('abs'));
    ctx.nodes.set('in', l('sub/../file'));
    const message = (p: string) => {
      try {
        return ctx.resolve(p);
      } catch (err) {
        return `${(err as Error).constructor.name}: ${(err as Error).message}`;
      }
    };
    expect(message('out/x')).toBe('PathEscape: goes through symlink out -> ../elsewhere, which leads outside the build context');
    expect(message('abs/passwd')).toBe('PathEscape: goes through symlink abs -> /etc, which leads outside the build context');
    expect(message('via/passwd')).toBe('PathEscape: goes through symlink abs -> /etc, which leads outside the build context');
    expect(message('../x')).toBe('PathEscape: leads outside the build context');
    expect(message('a/../../x')).toBe('PathEscape: leads outside the build context');
    expect(message('in')).toBe('file');
    expect(message('out')).toBe('PathEscape: goes through symlink out -> ../elsewhere, which leads outside the build context');
    expect(ctx.resolve('out', false)).toBe('out');
  });

  it('restarts an absolute link at the root of a file system, and keeps `..` at the root there', () => {
    const t = new FsTree('rootfs');
    t.nodes.set('a', d());
    t.nodes.set('a/abs', l('/b/c'));
    t.nodes.set('a/up', l('../../../d'));
    expect(t.resolve('a/abs/x')).toBe('b/c/x');
    expect(t.resolve('a/up/x')).toBe('d/x');
  });

  it('follows a chain of 40 symlinks, refuses 41 with its message', () => {
    const chain = (n: number) => {
      const t = new FsTree('rootfs');
      for (let i = 0; i < n; i++) t.nodes.set(`l${i}`, l(`l${i + 1}`));
      return t;
    };
    expect(chain(40).resolve('l0/x')).toBe('l40/x');
    expect(() => chain(41).resolve('l0/x')).toThrow(new PathEscape('passes through too many symlinks'));
    const ctx = new FsTree('context');
    ctx.nodes.set('loop', l('loop'));
    expect(() => ctx.resolve('loop')).toThrow(new PathEscape('passes through too many symlinks'));
  });
});

describe('FsTree.readSmall', () => {
  it('reads a file kept in memory or on disk, through symlinks; nothing for a folder, a link, a missing path or an opener', async () => {
    const onDisk = join(dir, 'small-on-disk');
    await writeFile(onDisk, 'disk bytes');
    const t = new FsTree('rootfs');
    t.nodes.set('etc', d());
    t.nodes.set('etc/mem', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, source: Buffer.from('mem') });
    t.nodes.set('etc/disk', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, source: onDisk });
    t.nodes.set('etc/opener', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, source: (async () => { throw new Error('not to be opened'); }) as never });
    t.nodes.set('etc/none', { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0 });
    t.nodes.set('etc/hard', { type: 'hardlink', mode: 0o644, uid: 0, gid: 0, linkname: 'etc/mem' });
    t.nodes.set('link', l('etc/mem'));
    t.nodes.set('etcl', l('etc'));
    expect((await t.readSmall('etc/mem'))?.toString()).toBe('mem');
    expect((await t.readSmall('etc/disk'))?.toString()).toBe('disk bytes');
    expect((await t.readSmall('link'))?.toString()).toBe('mem');
    expect((await t.readSmall('etcl/disk'))?.toString()).toBe('disk bytes');
    expect(await t.readSmall('etc/opener')).toBeUndefined();
    expect(await t.readSmall('etc/none')).toBeUndefined();
    expect(await t.readSmall('etc/hard')).toBeUndefined();
    expect(await t.readSmall('etc')).toBeUndefined();
    expect(await t.readSmall('missing')).toBeUndefined();
  });
});

describe('readMembers: types, modes, names, where content goes', () => {
  const one = (b: Buffer) => (async function* () { yield b; })();

  it('maps each tar type, keeps permission bits with setuid/sticky, sizes only files, and decodes UTF-8 names', async () => {
    const tar = await packTar([
      { name: 'dir/', type: 'directory', mode: 0o1777, uid: 1, gid: 2 },
      { name: 'dir/sétuid', content: 'abc', mode: 0o4755 },
      { name: 'dir/ln', type: 'symlink', linkname: 'sétuid' },
      { name: 'dir/hard', type: 'link', linkname: 'dir/sétuid' },
      { name: 'dev', type: 'character-device' },
    ]);
    const members = await readMembers(one(tar), 'test', undefined, 'p');
    expect(members.map(({ source, ...m }) => ({ ...m, source: source === undefined ? undefined : Buffer.from(source as Uint8Array).toString() }))).toEqual([
      { path: 'dir', type: 'directory', mode: 0o1777, uid: 1, gid: 2, size: 0, linkname: '', source: undefined },
      { path: 'dir/sétuid', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 3, linkname: '', source: 'abc' },
      { path: 'dir/ln', type: 'symlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'sétuid', source: undefined },
      { path: 'dir/hard', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'dir/sétuid', source: undefined },
      { path: 'dev', type: 'other', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: '', source: undefined },
    ]);
  });

  it('keeps a file of 64 KiB in memory, writes a larger one to extractTo under prefix and number, drops it without extractTo', async () => {
    const small = 'a'.repeat(64 << 10);
    const big = 'b'.repeat((64 << 10) + 1);
    const tar = await packTar([{ name: 'small', content: small }, { name: 'big1', content: big }, { name: 'big2', content: `${big}c` }, { name: 'empty', content: '' }]);
    const out = join(dir, 'extract');
    await mkdir(out, { recursive: true });
    const members = await readMembers(one(tar), 'test', out, 'pre-');
    expect(members.map((m) => [m.path, m.size, typeof m.source])).toEqual([['small', 65536, 'object'], ['big1', 65537, 'string'], ['big2', 65538, 'string'], ['empty', 0, 'object']]);
    expect(Buffer.from(members[0]!.source as Uint8Array).toString()).toBe(small);
    expect(members[1]!.source).toBe(join(out, 'pre-0'));
    expect(members[2]!.source).toBe(join(out, 'pre-1'));
    expect(await readFile(join(out, 'pre-0'), 'utf8')).toBe(big);
    expect(await readFile(join(out, 'pre-1'), 'utf8')).toBe(`${big}c`);
    expect(Buffer.from(members[3]!.source as Uint8Array).length).toBe(0);
    const dropped = await readMembers(one(tar), 'test', undefined, 'pre-');
    expect(dropped.map((m) => [m.path, m.size, m.source === undefined])).toEqual([['small', 65536, false], ['big1', 65537, true], ['big2', 65538, true], ['empty', 0, false]]);
  });
});

describe('imageTree: layers in order, where errors point', () => {
  it('names the layer that is not a tar: origin, index and digest', async () => {
    const good = await packTar([{ name: 'f', content: 'f' }]);
    await expect(imageTree(imageOf([good, Buffer.alloc(0)]))).rejects.toThrow(`test layer 1 (sha256:${'1'.padStart(64, '0')}): contains no tar data`);
  });

  it('writes large files of each layer apart (l<i>-<n>) with extractTo, and a later layer\'s file wins', async () => {
    const big = (c: string) => c.repeat((64 << 10) + 1);
    const lower = await packTar([{ name: 'x', content: big('1') }, { name: 'y', content: big('2') }]);
    const upper = await packTar([{ name: 'x', content: big('3') }]);
    const out = join(dir, 'image-extract');
    await mkdir(out, { recursive: true });
    const tree = await imageTree(imageOf([lower, upper]), out);
    expect(tree.get('x')).toMatchObject({ type: 'file', size: 65537, source: join(out, 'l1-0') });
    expect(tree.get('y')).toMatchObject({ type: 'file', size: 65537, source: join(out, 'l0-1') });
    expect((await readFile(join(out, 'l0-0'), 'utf8'))[0]).toBe('1');
    const plain = await imageTree(imageOf([lower]));
    expect(plain.get('x')).toEqual({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: 65537 });
  });
});

describe('applyMembers', () => {
  const m = (path: string, type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other', extra: Partial<{ mode: number; uid: number; gid: number; size: number; linkname: string; source: Buffer }> = {}) =>
    ({ path, type, mode: 0o644, uid: 0, gid: 0, size: 0, linkname: '', ...extra });

  it('whiteouts a folder with its contents, an opaque marker at the root clears what earlier layers had', async () => {
    const { applyMembers } = await import('../../src/builder/rootfs.js');
    const t = new FsTree('rootfs');
    applyMembers(t, [m('a', 'directory'), m('a/x', 'file'), m('ab', 'file'), m('c', 'file')]);
    applyMembers(t, [m('.wh.a', 'file')]);
    expect([...t.nodes.keys()].sort()).toEqual(['ab', 'c']);
    applyMembers(t, [m('new', 'file'), m('.wh..wh..opq', 'file'), m('later', 'file')]);
    expect([...t.nodes.keys()].sort()).toEqual(['later', 'new']);
  });

  it('skips the root and devices, keeps a folder\'s contents when the folder comes again, replaces a folder by a file', async () => {
    const { applyMembers } = await import('../../src/builder/rootfs.js');
    const t = new FsTree('rootfs');
    applyMembers(t, [m('', 'directory', { mode: 0o700 }), m('d', 'directory'), m('d/f', 'file', { size: 2, source: Buffer.from('hi') }), m('e', 'directory'), m('e/g', 'file'), m('dev', 'other')]);
    applyMembers(t, [m('d', 'directory', { mode: 0o750, uid: 3, gid: 4 }), m('e', 'file', { mode: 0o600, uid: 5, gid: 6, size: 0 })]);
    expect([...t.nodes.keys()].sort()).toEqual(['d', 'd/f', 'e']);
    expect(t.get('')).toEqual({ type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    expect(t.get('d')).toEqual({ type: 'directory', mode: 0o750, uid: 3, gid: 4 });
    expect(t.get('d/f')).toEqual({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: 2, source: Buffer.from('hi') });
    expect(t.get('e')).toEqual({ type: 'file', mode: 0o600, uid: 5, gid: 6, size: 0 });
  });

  it('normalizes a hard link\'s target to a tree path, keeps a symlink\'s as written, and replaces a folder by a link', async () => {
    const { applyMembers } = await import('../../src/builder/rootfs.js');
    const t = new FsTree('rootfs');
    applyMembers(t, [m('dir', 'directory'), m('dir/x', 'file')]);
    applyMembers(t, [m('h', 'hardlink', { linkname: '/./usr//bin/x', mode: 0o755, uid: 1, gid: 2 }), m('s', 'symlink', { linkname: '/./usr//bin/x', mode: 0o777 }), m('dir', 'symlink', { linkname: 'elsewhere', mode: 0o777 })]);
    expect(t.get('h')).toEqual({ type: 'hardlink', mode: 0o755, uid: 1, gid: 2, linkname: 'usr/bin/x' });
    expect(t.get('s')).toEqual({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '/./usr//bin/x' });
    expect(t.get('dir')).toEqual({ type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'elsewhere' });
    expect(t.get('dir/x')).toBeUndefined();
  });
});

describe('contextTree: nodes', () => {
  it('gives folders 0755, symlinks 0777 with their target, files their size and path on disk', async () => {
    const root = join(dir, 'ctx-nodes');
    await mkdir(join(root, 'sub'), { recursive: true });
    await chmod(join(root, 'sub'), 0o700);
    await writeFile(join(root, 'sub', 'f'), 'five!');
    await chmod(join(root, 'sub', 'f'), 0o744);
    await writeFile(join(root, 'g'), 'gg');
    await chmod(join(root, 'g'), 0o611);
    await symlink('/abs/target', join(root, 'ln'));
    const tree = await contextTree(root);
    expect(tree.kind).toBe('context');
    expect(Object.fromEntries([...tree.nodes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))).toEqual({
      g: { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 2, source: join(root, 'g') },
      ln: { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '/abs/target' },
      sub: { type: 'directory', mode: 0o755, uid: 0, gid: 0 },
      'sub/f': { type: 'file', mode: 0o755, uid: 0, gid: 0, size: 5, source: join(root, 'sub', 'f') },
    });
  });
});

describe('readMembers: contiguous files', () => {
  it('reads a contiguous file (type 7) as a file with its content', async () => {
    const tarStream = (await import('tar-stream')).default;
    const pack = tarStream.pack();
    pack.entry({ name: 'c', type: 'contiguous-file', mode: 0o600, size: 2 }, 'hi');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const members = await readMembers((async function* () { yield Buffer.concat(chunks); })(), 'test', undefined, 'p');
    expect(members.map((m) => ({ ...m, source: Buffer.from(m.source as Uint8Array).toString() }))).toEqual([{ path: 'c', type: 'file', mode: 0o600, uid: 0, gid: 0, size: 2, linkname: '', source: 'hi' }]);
  });
});

describe('contextTree: an unreadable context', () => {
  it('says which folder it could not read, as a usage error', async () => {
    const { UsageError } = await import('../../src/errors.js');
    const missing = join(dir, 'no-such-context');
    const err = await contextTree(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as InstanceType<typeof UsageError>).code).toBe('UNREADABLE');
    expect((err as Error).message).toBe(`build context ${missing}: no such file or directory`);
    expect((err as Error).cause).toMatchObject({ code: 'ENOENT' });
  });
});

describe('applyMembers: an opaque whiteout after the layer\'s own entries', () => {
  const m = (path: string, type: 'file' | 'directory') => ({ path, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, linkname: '' });

  it('hides only lower layers\' paths: the folders on the way to what the layer wrote stay, as rootfs-dir extracts it', async () => {
    const { applyMembers } = await import('../../src/builder/rootfs.js');
    const t = new FsTree('rootfs');
    applyMembers(t, [m('d', 'directory'), m('d/bare', 'directory'), m('d/bare/old', 'file'), m('d/sub', 'directory'), m('d/sub/old', 'file'), m('d/keep', 'file'), m('e', 'file')]);
    // The upper layer lists d/sub but not d/bare, and its marker comes last (tar order is free).
    applyMembers(t, [m('d/sub', 'directory'), m('d/sub/new', 'file'), m('d/bare/new', 'file'), m('d/.wh..wh..opq', 'file')]);
    expect([...t.nodes.keys()].sort()).toEqual(['d', 'd/bare', 'd/bare/new', 'd/sub', 'd/sub/new', 'e']);
  });
});
