/**
 * src/util/atomic.ts in-process (mutation testing found it held only by CLI tests): a file
 * appears whole or not at all, a failure leaves no temp file and no folder it created, and a
 * folder, device or FIFO is refused as a file output.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { refuseNonFile, streamToFileAtomic, tempPathFor, withLock, writeFileAtomic } from '../../src/util/atomic.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-atomic-'));
});
afterAll(async () => cleanup());

describe('atomic writes', () => {
  test('tempPathFor: a hidden sibling named after the file', () => {
    const t = tempPathFor('/out/app.tar');
    expect(t).toMatch(new RegExp(`^/out/\\.app\\.tar\\.tmp-${process.pid}-[0-9a-f]{8}$`));
    expect(tempPathFor('/out/app.tar')).not.toBe(t);
  });

  test('writeFileAtomic and streamToFileAtomic write the whole file, replacing an old one', async () => {
    const d = join(dir, 'ok');
    await mkdir(d);
    await writeFile(join(d, 'f'), 'old');
    await writeFileAtomic(join(d, 'f'), 'new bytes');
    expect(await readFile(join(d, 'f'), 'utf8')).toBe('new bytes');
    await streamToFileAtomic(join(d, 's'), Readable.from([Buffer.from('a'), Buffer.from('b')]));
    expect(await readFile(join(d, 's'), 'utf8')).toBe('ab');
    expect((await readdir(d)).sort()).toEqual(['f', 's']);
  });

  test('a failing source leaves neither the file nor a temp file, and the first error is thrown', async () => {
    const d = join(dir, 'fail');
    await mkdir(d);
    const source = new Readable({ read() {} });
    setImmediate(() => {
      source.push('part');
      source.destroy(new Error('source broke'));
    });
    await expect(streamToFileAtomic(join(d, 'x'), source)).rejects.toThrow('source broke');
    await expect(writeFileAtomic(join(d, 'missing', 'y'), 'z')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(d)).toEqual([]);
  });

  test('refuseNonFile: a folder (EISDIR) or a device is refused; a file or nothing passes', async () => {
    await expect(refuseNonFile(dir)).rejects.toMatchObject({ code: 'EISDIR', syscall: 'open', path: dir });
    await expect(refuseNonFile('/dev/null')).rejects.toMatchObject({ code: 'BAD_PATH', exitCode: 2, message: 'cannot write /dev/null: not a regular file (a device, FIFO or socket); give a file path' });
    await writeFile(join(dir, 'plain'), 'x');
    await expect(refuseNonFile(join(dir, 'plain'))).resolves.toBeUndefined();
    await expect(refuseNonFile(join(dir, 'absent'))).resolves.toBeUndefined();
  });

  test('withLock: one holder at a time, the lock file gone afterwards, even after a failure', async () => {
    const lock = join(dir, 'index.json.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(lock, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name}-`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect([order.slice(0, 2), order.slice(2)].every(([x, y]) => x!.slice(0, -1) === y!.slice(0, -1))).toBe(true);
    await expect(withLock(lock, async () => Promise.reject(new Error('inside')))).rejects.toThrow('inside');
    expect((await readdir(dir)).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});
