import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, symlink, writeFile, chmod } from 'node:fs/promises';
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
