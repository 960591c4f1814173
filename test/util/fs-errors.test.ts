import { describe, expect, test } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError, isFsError, withFsErrors } from '../../src/util/fs-errors.js';
import { IS_ROOT, mountReadOnly } from '../helpers/fs-conditions.js';
import { tempDir } from '../helpers/tools.js';
import { reportError } from '../../src/cli/error-report.js';
import { OperationalError, UsageError } from '../../src/errors.js';

/** An error as Node's fs module makes it. */
function nodeError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, errno: -1, ...(path ? { path } : {}) });
}

describe('fsError', () => {
  test.each([
    ['EROFS', 2, 'read-only file system'],
    ['EACCES', 2, 'permission denied'],
    ['EPERM', 2, 'operation not permitted'],
    ['EISDIR', 2, 'is a directory'],
    ['EEXIST', 2, 'already exists'],
    ['ENOENT', 2, 'no such file or directory'],
    ['ENAMETOOLONG', 2, 'name too long'],
    ['ENOSPC', 1, 'no space left on device'],
    ['EDQUOT', 1, 'disk quota exceeded'],
    ['EIO', 1, 'input/output error'],
  ] as const)('%s: exit %d, "%s", named by the path the user gave', (code, exitCode, reason) => {
    const err = fsError(nodeError(code, 'open', '/out/.x.tar.tmp-1-ab'), '/out/x.tar');
    expect(err).toBeInstanceOf(exitCode === 2 ? UsageError : OperationalError);
    expect((err as UsageError).message).toBe(`cannot write /out/x.tar: ${reason} (${code})`);
    expect((err as UsageError).code).toBe(exitCode === 2 ? 'BAD_PATH' : 'IO');
  });

  test('a write with no path (ENOSPC from write(2)) is named by the target', () => {
    expect((fsError(nodeError('ENOSPC', 'write'), '/out/x.tar') as Error).message).toBe('cannot write /out/x.tar: no space left on device (ENOSPC)');
  });

  test('files inside the target, work folders and temp siblings are named by the target', () => {
    for (const p of ['/out/l/blobs/sha256/ab', '/out/.berth-work-x1/files-layer', '/out/.l.tmp-3-ff', '/out/l']) {
      expect((fsError(nodeError('EIO', 'write', p), '/out/l') as Error).message).toBe('cannot write /out/l: input/output error (EIO)');
    }
  });

  test('a parent that is a file is named (mkdir -p says EEXIST, open says ENOTDIR)', () => {
    expect((fsError(nodeError('EEXIST', 'mkdir', '/out/a.tar'), '/out/a.tar/x.tar') as Error).message).toBe('cannot write /out/a.tar/x.tar: /out/a.tar is not a directory (ENOTDIR)');
    expect((fsError(nodeError('ENOTDIR', 'open', '/out/a.tar'), '/out/a.tar/x.tar') as Error).message).toBe('cannot write /out/a.tar/x.tar: /out/a.tar is not a directory (ENOTDIR)');
    expect((fsError(nodeError('EROFS', 'mkdir', '/out'), '/out/l') as Error).message).toBe('cannot write /out/l: /out: read-only file system (EROFS)');
  });

  test('a layout path that is a file', () => {
    expect((fsError(nodeError('ENOTDIR', 'mkdir', '/out/f/blobs/sha256'), '/out/f') as Error).message).toBe('cannot write /out/f: is not a directory (ENOTDIR)');
    expect((fsError(nodeError('EEXIST', 'mkdir', '/out/f'), '/out/f') as Error).message).toBe('cannot write /out/f: is not a directory (ENOTDIR)');
  });

  test('another file (an input) is named by its own path, with no verb', () => {
    const err = fsError(nodeError('EACCES', 'open', '/in/base.tar'), '/out/x.tar');
    expect((err as Error).message).toBe('/in/base.tar: permission denied (EACCES)');
    expect((fsError(nodeError('EACCES', 'open', '/out/..x'), '/out/x') as Error).message).toBe('/out/..x: permission denied (EACCES)');
  });

  test('without a target: the path if known, else only the problem', () => {
    expect((fsError(nodeError('ENOENT', 'open', '/in/x')) as Error).message).toBe('/in/x: no such file or directory (ENOENT)');
    expect((fsError(nodeError('ENOSPC', 'write')) as Error).message).toBe('no space left on device (ENOSPC)');
  });

  test('anything else passes through unchanged', () => {
    const bug = new TypeError('x is undefined');
    const known = new UsageError('BAD_FLAG', '--x: bad');
    const noSyscall = Object.assign(new Error('EIO'), { code: 'EIO' });
    const socket = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    const spawned = Object.assign(new Error('spawn x ENOENT'), { code: 'ENOENT', syscall: 'spawn x', path: 'x' });
    expect(fsError(socket, '/out')).toBe(socket);
    expect(fsError(spawned, '/out')).toBe(spawned);
    expect(fsError(bug, '/out')).toBe(bug);
    expect(fsError(known, '/out')).toBe(known);
    expect(fsError(noSyscall, '/out')).toBe(noSyscall);
    expect(isFsError(nodeError('EIO', 'read'))).toBe(true);
    expect(isFsError(known)).toBe(false);
  });
});

test('the CLI reports a file-system error nobody named as one line, no stack, exit 1 or 2', () => {
  const out: string[] = [];
  const io = { stdout: { write: (s: string) => void out.push(`out:${s}`) }, stderr: { write: (s: string) => void out.push(s) }, env: {}, cwd: '/' };
  expect(reportError(nodeError('ENOSPC', 'write'), io, { debug: false, json: false })).toBe(1);
  expect(reportError(nodeError('EROFS', 'open', '/ro/x'), io, { debug: false, json: true })).toBe(2);
  expect(out).toEqual([
    'berth: no space left on device (ENOSPC)\n',
    `out:${JSON.stringify({ error: { code: 'BAD_PATH', message: '/ro/x: read-only file system (EROFS)' } })}\n`,
    'berth: /ro/x: read-only file system (EROFS)\n',
  ]);
});

describe('withFsErrors', () => {
  test('passes a result through and names the target of a failure', async () => {
    expect(await withFsErrors('/out/x.tar', async () => 5)).toBe(5);
    await expect(withFsErrors('/out/x.tar', async () => Promise.reject(nodeError('ENOSPC', 'write')))).rejects.toMatchObject({ code: 'IO', exitCode: 1, message: 'cannot write /out/x.tar: no space left on device (ENOSPC)' });
    await expect(withFsErrors('/in/x.tar', async () => Promise.reject(nodeError('EACCES', 'open', '/in/x.tar')), 'read')).rejects.toMatchObject({ message: 'cannot read /in/x.tar: permission denied (EACCES)' });
    const bug = new TypeError('bug');
    await expect(withFsErrors('/out', async () => Promise.reject(bug))).rejects.toBe(bug);
  });

  (IS_ROOT ? test : test.skip)('mkdir -p under a read-only folder names that folder and EROFS, not ENOENT', async () => {
    const { dir, cleanup } = await tempDir('berth-fs-unit-');
    const undo = await mountReadOnly(dir);
    try {
      const target = join(dir, 'layout');
      await expect(withFsErrors(target, () => mkdir(join(target, 'blobs', 'sha256'), { recursive: true }))).rejects.toMatchObject({
        code: 'BAD_PATH',
        message: `cannot write ${target}: ${dir}: read-only file system (EROFS)`,
      });
    } finally {
      await undo();
      await cleanup();
    }
  });
});
