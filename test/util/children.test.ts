/**
 * src/util/children.ts's short-program runners (runChild, the process-group runner, is held by
 * test/builder/signals*.test.ts and test/folders/parallel.test.ts): what a caller reads from a
 * program that succeeded, failed, was not found, or ran too long.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captureLean, runCapture } from '../../src/util/children.js';
import { tempDir } from '../helpers/tools.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-children-'));
});
afterAll(async () => cleanup());

describe('runCapture', () => {
  test('stdout and stderr apart (and interleaved when asked), the exit code, stdin from input', async () => {
    const r = await runCapture({ cmd: 'sh', args: ['-c', 'read x; echo "out $x"; echo err >&2; exit 3'], input: 'in\n', all: true });
    expect(r).toMatchObject({ ok: false, exitCode: 3, timedOut: false, notFound: false, stdout: 'out in', stderr: 'err' });
    expect(r.all.split('\n').sort()).toEqual(['err', 'out in']);
    expect(await runCapture({ cmd: 'true', args: [] })).toMatchObject({ ok: true, exitCode: 0, stdout: '', all: '' });
  });

  test('the environment: added to berth\'s, or the whole of it with extendEnv false', async () => {
    const show = ['-c', 'echo "${BERTH_T:-none} ${HOME:-nohome}"'];
    expect((await runCapture({ cmd: 'sh', args: show, env: { BERTH_T: 'x' } })).stdout).toBe(`x ${process.env.HOME ?? 'nohome'}`);
    expect((await runCapture({ cmd: '/bin/sh', args: show, env: { BERTH_T: 'y' }, extendEnv: false })).stdout).toBe('y nohome');
  });

  test('stdout into a file, stdin from a file', async () => {
    const out = join(dir, 'out');
    await writeFile(join(dir, 'in'), 'bytes\n\0more');
    const r = await runCapture({ cmd: 'cat', args: [], inputFile: join(dir, 'in'), stdoutFile: out });
    expect(r).toMatchObject({ ok: true, stdout: '' });
    expect(await readFile(out, 'utf8')).toBe('bytes\n\0more');
  });

  test('a program not on PATH, and one that runs too long, resolve with what happened', async () => {
    expect(await runCapture({ cmd: 'berth-no-such-program', args: [] })).toMatchObject({ ok: false, notFound: true, exitCode: undefined });
    expect(await runCapture({ cmd: 'sleep', args: ['30'], timeoutMs: 100 })).toMatchObject({ ok: false, timedOut: true, signal: 'SIGTERM' });
  });
});

describe('captureLean', () => {
  test('stdout and code 0 on success; the exit code on failure; -1 when it cannot start', async () => {
    expect(await captureLean('sh', ['-c', 'echo "$X"; pwd'], { cwd: dir, env: { X: 'lean' } })).toEqual({ code: 0, stdout: `lean\n${dir}\n` });
    expect(await captureLean('sh', ['-c', 'echo part; exit 4'])).toEqual({ code: 4, stdout: 'part\n' });
    expect(await captureLean('berth-no-such-program', [])).toEqual({ code: -1, stdout: '' });
  });
});
