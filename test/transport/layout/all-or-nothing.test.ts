/**
 * A command that writes into an OCI layout (or an image tarball) writes all of it or none of
 * it: with one bad input, or a destination it cannot write, the destination is left exactly as
 * it was. A new folder is not created; an existing layout keeps a byte-identical file tree;
 * no work folder or temporary file is left beside it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { copyFile, mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../../helpers/cli.js';
import { run, tempDir } from '../../helpers/tools.js';
import { makeUnwritable, snapshotTree } from '../../helpers/tree.js';
import { archTarball, PLATFORMS } from '../../release/fixtures.js';
import { indexTar } from '../../../src/transport/tar-index.js';
import { readLocation } from '../../../src/transport/location.js';

let dir: string;
let cleanup: () => Promise<void>;
const env = { PATH: process.env.PATH };
let amd64: string;
let arm64: string;
let clash: string;
let corrupt: string;
let truncated: string;
let missing: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-atomic-'));
  const ppc = PLATFORMS.find((p) => p.platform === 'linux/ppc64le')!;
  let ppc64le: string;
  [amd64, arm64, clash, ppc64le] = await Promise.all([
    archTarball(dir, 'app', PLATFORMS[0]!),
    archTarball(dir, 'app', PLATFORMS[1]!),
    archTarball(dir, 'clash', PLATFORMS[0]!),
    archTarball(dir, 'app', ppc),
  ]);
  // The ppc64le image with one byte of its own layer (the last; the first is the static base
  // every image here shares) flipped: the tarball reads fine, and the mismatch shows only when
  // that layer is streamed, mid-write.
  corrupt = join(dir, 'corrupt-ppc64le.tar');
  await copyFile(ppc64le, corrupt);
  const image = await readLocation({ kind: 'tarball', path: ppc64le });
  if (image.kind !== 'image') throw new Error('want an image');
  const layer = (await indexTar(corrupt)).get(`blobs/sha256/${image.manifest.layers.at(-1)!.digest.slice('sha256:'.length)}`)!;
  const bytes = await readFile(corrupt);
  bytes[layer.offset + Math.floor(layer.size / 2)]! ^= 0xff;
  await writeFile(corrupt, bytes);
  truncated = join(dir, 'truncated.tar');
  await copyFile(ppc64le, truncated);
  await truncate(truncated, Math.floor((await stat(truncated)).size / 2));
  missing = join(dir, 'missing.tar');
});
afterAll(() => cleanup());

/** The bad inputs, by name (test.each runs before beforeAll, so the paths are looked up in each test). */
const BAD_INPUTS = ['a missing tarball', 'a corrupt tarball (a layer whose bytes do not match)', 'a truncated tarball', 'a platform clash'];
function badInput(what: string): string {
  const path = { 'a missing tarball': missing, 'a corrupt tarball (a layer whose bytes do not match)': corrupt, 'a truncated tarball': truncated, 'a platform clash': clash }[what];
  if (!path) throw new Error(`no bad input "${what}"`);
  return path;
}

/** Commands writing into `dest` with one bad input among good ones. */
const COMMANDS: [string, (bad: string, dest: string) => string[]][] = [
  ['index', (bad, dest) => ['index', '--image', arm64, '--image', amd64, '--image', bad, '--output', dest]],
  ['release --to (two components)', (bad, dest) => ['release', '--component', `good=${arm64}`, '--component', `app=${amd64}`, '--component', `app=${bad}`, '--tag', 'v1', '--to', dest]],
];

let n = 0;
/** A fresh folder for one case, holding an existing layout `L` (with an image in it) when asked. */
async function caseDir(existing: boolean): Promise<string> {
  const d = join(dir, `case-${++n}`);
  await mkdir(d);
  if (existing) expect((await berth(['copy', arm64, `oci:${join(d, 'L')}:there`], { env })).code).toBe(0);
  return d;
}

function expectOneLine(stderr: string): void {
  expect(stderr).toMatch(/^berth: [^\n]+\n$/);
}

describe.each(COMMANDS)('%s with one bad input changes nothing', (_name, args) => {
  test.each(BAD_INPUTS)('%s, into an existing layout: its file tree is byte-identical', async (what) => {
    const bad = badInput(what);
    const d = await caseDir(true);
    const before = await snapshotTree(d);
    const r = await berth(args(bad, `oci:${join(d, 'L')}`), { env });
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(await snapshotTree(d)).toEqual(before);
  });

  test.each(BAD_INPUTS)('%s, into a new layout: no folder is created', async (what) => {
    const bad = badInput(what);
    const d = await caseDir(false);
    const r = await berth(args(bad, `oci:${join(d, 'new', 'sub', 'L')}`), { env });
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(await snapshotTree(d)).toEqual({ '.': 'dir 755' });
  });
});

test.each(BAD_INPUTS)('index with %s into a new tarball path: nothing is created', async (what) => {
  const bad = badInput(what);
  const d = await caseDir(false);
  const r = await berth(['index', '--image', amd64, '--image', bad, '--output', join(d, 'new', 'idx.tar')], { env });
  expect(r.code).toBe(2);
  expect(await snapshotTree(d)).toEqual({ '.': 'dir 755' });
});

describe('a corrupt input read only while writing: copy and build', () => {
  test('copy of a corrupt tarball into an existing layout and into a new one', async () => {
    const d = await caseDir(true);
    const before = await snapshotTree(d);
    const r = await berth(['copy', corrupt, `oci:${join(d, 'L')}:bad`], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^berth: .*does not match its digest/);
    expect(await snapshotTree(d)).toEqual(before);
    const fresh = await berth(['copy', corrupt, `oci:${join(d, 'new', 'L')}`], { env });
    expect(fresh.code).toBe(2);
    expect(await snapshotTree(d)).toEqual(before);
  });

  test('build on a corrupt base into an existing layout, a new one and a new tarball folder', async () => {
    const d = await caseDir(true);
    const before = await snapshotTree(d);
    for (const out of [`oci:${join(d, 'L')}:built`, `oci:${join(d, 'new', 'L')}`, join(d, 'new', 'x.tar')]) {
      const r = await berth(['build', '--base', corrupt, '--label', 'x=y', '--output', out], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^berth: .*does not match its digest/);
      expect(await snapshotTree(d)).toEqual(before);
    }
  });
});

describe('a destination that cannot be written changes nothing', () => {
  test.each(COMMANDS)('(control: %s with these inputs into a writable layout succeeds)', async (_name, args) => {
    const d = await caseDir(true);
    const r = await berth(args(goodThird(), `oci:${join(d, 'L')}`), { env });
    expect(r.code).toBe(0);
  });

  test.each(COMMANDS)('%s into an existing layout whose folder is read-only', async (_name, args) => {
    const d = await caseDir(true);
    const before = await snapshotTree(d);
    const undo = await makeUnwritable(join(d, 'L'));
    try {
      const r = await berth(args(goodThird(), `oci:${join(d, 'L')}`), { env });
      expect(r.code).not.toBe(0);
    } finally {
      await undo();
    }
    expect(await snapshotTree(d)).toEqual(before);
  });

  test.each(COMMANDS)('%s into an existing layout whose index.json cannot be replaced (blobs already moved in are taken out again)', async (_name, args) => {
    const d = await caseDir(true);
    const before = await snapshotTree(d);
    const index = join(d, 'L', 'index.json');
    await run('chattr', ['+i', index]);
    try {
      const r = await berth(args(goodThird(), `oci:${join(d, 'L')}`), { env });
      expect(r.code).not.toBe(0);
    } finally {
      await run('chattr', ['-i', index]);
    }
    expect(await snapshotTree(d)).toEqual(before);
  });

  test.each(COMMANDS)('%s into a new layout under a read-only folder', async (_name, args) => {
    const d = await caseDir(false);
    const undo = await makeUnwritable(d);
    try {
      const r = await berth(args(goodThird(), `oci:${join(d, 'new', 'L')}`), { env });
      expect(r.code).not.toBe(0);
    } finally {
      await undo();
    }
    expect(await snapshotTree(d)).toEqual({ '.': 'dir 755' });
  });

  test('a layout path under a file, and a file as the layout, are one-line errors, exit 2', async () => {
    const d = await caseDir(false);
    await writeFile(join(d, 'file'), 'x');
    for (const dest of [join(d, 'file', 'L'), join(d, 'file')]) {
      const r = await berth(['index', '--image', amd64, '--output', `oci:${dest}`], { env });
      expect(r.code).toBe(2);
      expectOneLine(r.stderr);
    }
    expect(Object.keys((await snapshotTree(d))!)).toEqual(['.', 'file']);
  });
});

/** A good third input for the commands above (the ppc64le image, intact). */
function goodThird(): string {
  return join(dir, 'app-ppc64le.tar');
}
