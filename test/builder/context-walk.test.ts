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
