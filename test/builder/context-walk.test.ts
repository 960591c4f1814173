/**
 * The build and the content hash of `berth images` read one list of context files
 * (src/builder/context-walk.ts): what `COPY . /ctx/` puts in the image is exactly what the
 * hash covers, on a context with ignored folders, `!` re-includes inside them, symlinks
 * (dangling, to a folder, inside an ignored folder), empty folders and a FIFO.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { ignoreFilter, walkContext } from '../../src/builder/context-walk.js';
import { readIgnore } from '../../src/builder/dockerfile-build.js';
import { IgnoreRules } from '../../src/dockerfile/dockerignore.js';
import { contextTree, readMembers } from '../../src/builder/rootfs.js';
import { folderFiles } from '../../src/folders/folder-files.js';
import { berth } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let ctx: string;

const IGNORE = ['# build outputs and vendored code, some of it kept', 'vendor', '!vendor/keep/**', '!vendor/one.txt', 'build/', '*.log', '!important.log', 'empty-ignored', ''].join('\n');

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-ctxwalk-'));
  ctx = join(dir, 'ctx');
  const files: Record<string, string> = {
    Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
    '.dockerignore': IGNORE,
    'a.txt': 'a',
    'run.sh': '#!/bin/sh\n',
    'debug.log': 'dropped',
    'important.log': 'kept',
    'docs/readme.md': 'r',
    'docs/debug.log': '* does not cross /: kept',
    'vendor/drop.txt': 'x',
    'vendor/one.txt': 'kept by its exception',
    'vendor/keep/x.go': 'package x',
    'vendor/keep/sub/y.go': 'package y',
    'vendor/deep/drop.go': 'x',
    'build/out.bin': 'x',
  };
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(ctx, p, '..'), { recursive: true });
    await writeFile(join(ctx, p), c);
  }
  await chmod(join(ctx, 'run.sh'), 0o755);
  await mkdir(join(ctx, 'empty'));
  await mkdir(join(ctx, 'empty-ignored'));
  await mkdir(join(ctx, 'vendor', 'keep', 'empty'));
  await symlink('a.txt', join(ctx, 'link'));
  await symlink('nowhere', join(ctx, 'dangling'));
  await symlink('docs', join(ctx, 'linkdir'));
  await symlink('../../a.txt', join(ctx, 'vendor', 'keep', 'up'));
  await symlink('../a.txt', join(ctx, 'vendor', 'gone'));
  execFileSync('mkfifo', [join(ctx, 'pipe')]);
}, 30_000);
afterAll(async () => cleanup());

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

interface Seen {
  kind: 'file' | 'dir' | 'symlink';
  content?: string;
}

/** The entries under /ctx of the one layer `COPY . /ctx/` made, by path below /ctx. */
async function builtContext(): Promise<Map<string, Seen>> {
  const layout = join(dir, 'layout');
  const r = await berth(['build', '--dockerfile', join(ctx, 'Dockerfile'), '--context', ctx, '--platform', 'linux/amd64', '--output', `oci:${layout}:x`]);
  expect(r.stderr).toContain('(native)');
  expect(r.code).toBe(0);
  const blob = async (digest: string) => join(layout, 'blobs', 'sha256', digest.replace('sha256:', ''));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(await blob(index.manifests[0]!.digest), 'utf8')) as { layers: { digest: string }[] };
  expect(manifest.layers).toHaveLength(1);
  const members = await readMembers(createReadStream(await blob(manifest.layers[0]!.digest)), 'the COPY layer', undefined, 'm');
  const out = new Map<string, Seen>();
  for (const m of members) {
    if (!m.path.startsWith('ctx/')) continue;
    const path = m.path.slice('ctx/'.length);
    if (m.type === 'file') out.set(path, { kind: 'file', content: sha(m.source as Uint8Array) });
    else if (m.type === 'symlink') out.set(path, { kind: 'symlink', content: m.linkname });
    else if (m.type === 'directory') out.set(path, { kind: 'dir' });
    else throw new Error(`unexpected ${m.type} ${m.path} in the layer`);
  }
  return out;
}

describe('one context walk for the build and the content hash', () => {
  it('COPY . puts in the image exactly the files, symlinks and folders the content hash covers', async () => {
    const rules = await readIgnore(join(ctx, 'Dockerfile'), ctx);
    const hashed = await folderFiles(ctx, ignoreFilter(rules));
    const built = await builtContext();

    const leaves = (m: Iterable<[string, Seen]>) => [...m].filter(([, s]) => s.kind !== 'dir').sort(([a], [b]) => (a < b ? -1 : 1));
    expect(leaves(built)).toEqual(leaves(hashed.map((f) => [f.path, { kind: f.kind, content: f.content! }])));
    // Folders: the hash's, and in the image also the parents of what an exception re-includes.
    const hashedDirs = hashed.filter((f) => f.kind === 'dir').map((f) => f.path).sort();
    const builtDirs = [...built].filter(([, s]) => s.kind === 'dir').map(([p]) => p).sort();
    expect(builtDirs.filter((d) => !hashedDirs.includes(d))).toEqual(['vendor', 'vendor/keep']);
    expect(hashedDirs.filter((d) => !builtDirs.includes(d))).toEqual([]);

    // What the case is about, named.
    const paths = hashed.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['vendor/one.txt', 'vendor/keep/x.go', 'vendor/keep/sub/y.go', 'vendor/keep/empty', 'vendor/keep/up', 'important.log', 'docs/debug.log', 'empty', 'link', 'dangling', 'linkdir', '.dockerignore', 'Dockerfile']));
    for (const gone of ['vendor', 'vendor/keep', 'vendor/drop.txt', 'vendor/deep', 'vendor/deep/drop.go', 'vendor/gone', 'build', 'build/out.bin', 'debug.log', 'empty-ignored', 'pipe']) expect(paths).not.toContain(gone);
  }, 60_000);

  it('contextTree and folderFiles list the same paths as walkContext, with or without the ignore file', async () => {
    const rules = await readIgnore(join(ctx, 'Dockerfile'), ctx);
    for (const filter of [ignoreFilter(rules), {}]) {
      const walked = (await walkContext(ctx, filter)).map((e) => e.path);
      expect([...(await contextTree(ctx, filter)).nodes.keys()]).toEqual(walked);
      expect((await folderFiles(ctx, filter)).map((f) => f.path)).toEqual(walked);
    }
  });
});

describe('walkContext and ignoreFilter on their own', () => {
  let small: string;
  beforeAll(async () => {
    small = join(dir, 'small');
    await mkdir(join(small, 'b'), { recursive: true });
    await mkdir(join(small, 'd', 'x'), { recursive: true });
    await writeFile(join(small, 'a'), 'a');
    await writeFile(join(small, 'b', 'y'), 'yyy');
    await chmod(join(small, 'b', 'y'), 0o600);
    await chmod(join(small, 'b'), 0o750);
    await writeFile(join(small, 'x'), 'a file named x');
    await writeFile(join(small, 'd', 'x', 'in'), 'in');
    await symlink('a', join(small, 'l'));
    execFileSync('mkfifo', [join(small, 'p')]);
  });

  it('each entry: path, where it is, kind, mode, size, a symlink\'s target; folders before their contents, names sorted, FIFOs left out', async () => {
    const entries = await walkContext(small);
    expect(entries.map((e) => [e.path, e.abs, e.kind, e.mode.toString(8), e.kind === 'dir' ? 'dir' : e.size, e.linkname])).toEqual([
      ['a', join(small, 'a'), 'file', '644', 1, undefined],
      ['b', join(small, 'b'), 'dir', '750', 'dir', undefined],
      ['b/y', join(small, 'b/y'), 'file', '600', 3, undefined],
      ['d', join(small, 'd'), 'dir', '755', 'dir', undefined],
      ['d/x', join(small, 'd/x'), 'dir', '755', 'dir', undefined],
      ['d/x/in', join(small, 'd/x/in'), 'file', '644', 2, undefined],
      ['l', join(small, 'l'), 'symlink', '777', 1, 'a'],
      ['x', join(small, 'x'), 'file', '644', 14, undefined],
    ]);
  });

  it('a filter is told whether a path is a folder; a left-out folder is walked only when asked', async () => {
    const calls: string[] = [];
    const excluded = (p: string, isDir: boolean) => {
      calls.push(`${p}:${isDir}`);
      return isDir && p.endsWith('x');
    };
    expect((await walkContext(small, { excluded })).map((e) => e.path)).toEqual(['a', 'b', 'b/y', 'd', 'l', 'x']);
    expect(calls).toEqual(['a:false', 'b:true', 'b/y:false', 'd:true', 'd/x:true', 'l:false', 'x:false']);
    expect((await walkContext(small, { excluded, descendExcluded: true })).map((e) => e.path)).toEqual(['a', 'b', 'b/y', 'd', 'd/x/in', 'l', 'x']);
  });

  it('a folder that cannot be listed: the caller\'s error, else readdir\'s own', async () => {
    const missing = join(dir, 'no-such-context');
    await expect(walkContext(missing, { unreadable: (d, err) => new Error(`cannot list ${d} (${(err as NodeJS.ErrnoException).code})`) })).rejects.toThrow(`cannot list ${missing} (ENOENT)`);
    await expect(walkContext(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('ignoreFilter: what the rules match, or what `also` leaves out; exceptions make left-out folders walked', () => {
    const rules = IgnoreRules.parse('*.log\n!keep.log\n');
    const filter = ignoreFilter(rules, (p) => p === 'secret');
    expect(['a.log', 'keep.log', 'secret', 'a.txt'].map((p) => filter.excluded!(p, false))).toEqual([true, false, true, false]);
    expect(filter.descendExcluded).toBe(true);
    const plain = ignoreFilter(IgnoreRules.parse('*.log\n'));
    expect(['a.log', 'secret'].map((p) => plain.excluded!(p, false))).toEqual([true, false]);
    expect(plain.descendExcluded).toBe(false);
  });
});
