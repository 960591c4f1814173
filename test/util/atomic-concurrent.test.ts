/**
 * Concurrent writers of one path (issue 22: a copy of the atomic write used a temp name fixed
 * per process, so two writers shared it; another did not clean up). Whatever the interleaving,
 * a reader sees one writer's whole file, and when all are done the folder holds the file and
 * nothing else: no half file, no stray temp. In one process (parallel image builds) and in two
 * (two berth runs on one cache).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { isTempName, placeFileAtomic, tempPathFor, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-atomic-race-'));
});
afterAll(async () => cleanup());

const SIZE = 256 * 1024;
/** Writer `i`'s content: SIZE bytes of the letter for `i`, so a mix of two shows. */
const payload = (i: number) => Buffer.alloc(SIZE, 0x41 + (i % 26));

/** Whole: SIZE bytes, all one letter. */
function whole(b: Buffer): boolean {
  return b.length === SIZE && b.every((c) => c === b[0]);
}

describe('concurrent atomic writers of one path', () => {
  test('in one process: every read is one whole file, and only the file is left', async () => {
    const d = join(dir, 'one-process');
    await mkdir(d);
    const path = join(d, 'record.json');
    let writing = true;
    const seen: Buffer[] = [];
    const reader = (async () => {
      while (writing) {
        const b = await readFile(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
        if (b) seen.push(b);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let round = 0; round < 10; round++) await writeFileAtomic(path, payload(w * 10 + round));
    });
    await Promise.all(writers);
    writing = false;
    await reader;
    expect(seen.filter((b) => !whole(b)).length).toBe(0);
    expect(whole(await readFile(path))).toBe(true);
    expect(await readdir(d)).toEqual(['record.json']);
  });

  test('in two processes (one async, one synchronous): one whole file, no temp left', async () => {
    const d = join(dir, 'two-processes');
    await mkdir(d);
    const path = join(d, 'status.cache');
    const atomic = pathToFileURL(join(REPO_ROOT, 'dist/util/atomic.js')).href;
    const script = (sync: boolean, letter: number) => `
      const { writeFileAtomic, writeFileAtomicSync } = await import(${JSON.stringify(atomic)});
      for (let i = 0; i < 40; i++) {
        const b = Buffer.alloc(${SIZE}, ${letter} + (i % 2));
        ${sync ? 'writeFileAtomicSync' : 'await writeFileAtomic'}(${JSON.stringify(path)}, b);
      }`;
    const run = promisify(execFile);
    await Promise.all([run(process.execPath, ['--input-type=module', '-e', script(false, 0x61)]), run(process.execPath, ['--input-type=module', '-e', script(true, 0x71)])]);
    const b = await readFile(path);
    expect(whole(b)).toBe(true);
    expect(await readdir(d)).toEqual(['status.cache']);
  });

  test('placeFileAtomic: concurrent placements of one path leave one whole copy; a failed one leaves no temp', async () => {
    const d = join(dir, 'place');
    const src = join(dir, 'place-src');
    await mkdir(d);
    await mkdir(src);
    const files = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const f = join(src, `layer-${i}`);
        writeFileAtomicSync(f, payload(i));
        return f;
      }),
    );
    await Promise.all(files.map((f) => placeFileAtomic(f, join(d, 'blob'))));
    expect(whole(await readFile(join(d, 'blob')))).toBe(true);
    await expect(placeFileAtomic(join(src, 'absent'), join(d, 'blob2'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(d)).toEqual(['blob']);
    // The sources stay where they were.
    expect((await readdir(src)).sort()).toEqual(files.map((f) => f.slice(src.length + 1)).sort());
  });

  test('writeFileAtomicSync: a failure throws Node\'s error and leaves no temp file', async () => {
    const d = join(dir, 'sync-fail');
    await mkdir(d);
    // A folder where the file should go: the rename fails after the temp file was written.
    await mkdir(join(d, 'taken'));
    expect(() => writeFileAtomicSync(join(d, 'taken'), 'x')).toThrow(expect.objectContaining({ code: 'EISDIR' }) as unknown as Error);
    expect(await readdir(d)).toEqual(['taken']);
  });

  test('isTempName: names tempPathFor gives, and no others', () => {
    expect(isTempName(tempPathFor('/cache/blobs/0123abcd'))).toBe(true);
    expect(isTempName('0123abcd')).toBe(false);
    expect(isTempName('.0123abcd.tmp')).toBe(false);
    expect(isTempName('record.json')).toBe(false);
  });
});
