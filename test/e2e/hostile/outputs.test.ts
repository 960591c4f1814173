/**
 * Outputs that are not files (issue 20, item 2): `-o /dev/stdout` with stdout sent to a file,
 * `-o -` into a pipe, a FIFO, a device; a layout there is refused before any work; a report
 * or GitHub file that cannot be written is found before anything is pushed, named as given.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { lstat, mkdir, open, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BERTH_BIN } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tools.js';
import { listTree, runBerth } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const BOUND_MS = 10_000;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-hostile-outputs-'));
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
  await writeFile(join(dir, 'a.txt'), 'hello\n');
  expect((await runBerth(['build', '--dockerfile', 'Dockerfile', '-o', 'ref.tar'], { cwd: dir })).code).toBe(0);
});
afterAll(() => cleanup());

/** Runs berth with its stdout sent to `stdoutFile` (as `berth ... > FILE` in a shell). */
async function berthToFile(args: string[], stdoutFile: string): Promise<{ code: number | null; stderr: string }> {
  const fh = await open(stdoutFile, 'w');
  try {
    return await new Promise((resolve) => {
      const child = spawn(process.execPath, [BERTH_BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', fh.fd, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
  } finally {
    await fh.close();
  }
}

test('-o /dev/stdout with stdout sent to a file: the tarball lands in the file, /dev/stdout stays the symlink it was', async () => {
  const before = await readlink('/dev/stdout');
  for (let i = 0; i < 3; i++) {
    const r = await berthToFile(['build', '--dockerfile', 'Dockerfile', '-o', '/dev/stdout'], join(dir, 'via-stdout.tar'));
    expect(r.code).toBe(0);
    expect((await lstat('/dev/stdout')).isSymbolicLink()).toBe(true);
    expect(await readlink('/dev/stdout')).toBe(before);
    expect(await readFile(join(dir, 'via-stdout.tar'))).toEqual(await readFile(join(dir, 'ref.tar')));
  }
});

test('-o - streams the tarball to stdout (nothing else there) and leaves no file named -', async () => {
  const r = await berthToFile(['build', '--dockerfile', 'Dockerfile', '-o', '-'], join(dir, 'dash.tar'));
  expect(r.code).toBe(0);
  expect(await readFile(join(dir, 'dash.tar'))).toEqual(await readFile(join(dir, 'ref.tar')));
  expect(await lstat(join(dir, '-')).catch(() => undefined)).toBeUndefined();
});

test('--output - and --output=- stream the same tarball as -o -', async () => {
  for (const [i, args] of [['--output', '-'], ['--output=-']].entries()) {
    const r = await berthToFile(['build', '--dockerfile', 'Dockerfile', ...args], join(dir, `long${i}.tar`));
    expect(r.code).toBe(0);
    expect(await readFile(join(dir, `long${i}.tar`))).toEqual(await readFile(join(dir, 'ref.tar')));
  }
  expect(await lstat(join(dir, '-')).catch(() => undefined)).toBeUndefined();
});

test('-o - with --json, and a layout on /dev/stdout or /dev/null: exit 2, one line, before any work, nothing written', async () => {
  for (const [args, line] of [
    [['build', '--dockerfile', 'Dockerfile', '-o', '-', '--json'], /^berth: --json and --output -: both would write to stdout; give a file path$/],
    [['build', '--dockerfile', 'Dockerfile', '-o', 'oci:/dev/stdout'], /^berth: cannot write \/dev\/stdout: not a folder \(a device, FIFO, socket or stdout\); an OCI layout is a folder$/],
    [['build', '--dockerfile', 'Dockerfile', '-o', 'oci:/dev/null'], /^berth: cannot write \/dev\/null: not a folder/],
  ] as const) {
    const before = await listTree(dir);
    const r = await runBerth([...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([expect.stringMatching(line)]);
    expect(r.ms).toBeLessThan(BOUND_MS);
    expect(await listTree(dir)).toEqual(before);
  }
  expect((await lstat('/dev/null')).isCharacterDevice()).toBe(true);
});

test('a symlinked output file is written through: the symlink stays, its target gets the tarball', async () => {
  await mkdir(join(dir, 'real'), { recursive: true });
  await writeFile(join(dir, 'real', 'app.tar'), 'old');
  const { symlink } = await import('node:fs/promises');
  await symlink(join(dir, 'real', 'app.tar'), join(dir, 'link.tar'));
  expect((await runBerth(['build', '--dockerfile', 'Dockerfile', '-o', 'link.tar'], { cwd: dir })).code).toBe(0);
  expect((await lstat(join(dir, 'link.tar'))).isSymbolicLink()).toBe(true);
  expect(await readFile(join(dir, 'real', 'app.tar'))).toEqual(await readFile(join(dir, 'ref.tar')));
});

test('an unwritable --report or GITHUB_OUTPUT is found before anything is pushed (the registry is never reached), named as given', async () => {
  const tree = join(dir, 'push');
  await mkdir(join(tree, 'images', 'app'), { recursive: true });
  await writeFile(join(tree, 'images', 'app', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  await writeFile(join(tree, 'a-file'), 'x');
  // 127.0.0.1:1 refuses connections: an error about it would mean berth went to the registry first.
  const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
    [['--report', 'a-file/report.json'], {}, 2, /^berth: cannot write a-file\/report\.json: \/\S*\/push\/a-file is not a directory \(ENOTDIR\)$/],
    [['--report', 'oci-dir'], {}, 2, /^berth: cannot write oci-dir: is a directory \(EISDIR\)$/],
    [[], { GITHUB_OUTPUT: join(tree, 'a-file', 'out') }, 1, /^berth: GITHUB_OUTPUT \(.*a-file\/out\): cannot append to it \(ENOTDIR\); nothing was pushed$/],
  ];
  await mkdir(join(tree, 'oci-dir'), { recursive: true });
  for (const [flags, env, code, line] of cases) {
    const before = await listTree(tree);
    const r = await runBerth(['images', 'push', 'app', '--registry', '127.0.0.1:1/x', '--cache-dir', join(dir, 'cache'), ...flags], { cwd: tree, env: { PATH: process.env.PATH, HOME: tree, XDG_CACHE_HOME: join(dir, 'xdg'), ...env } });
    expect({ code: r.code, lines: r.lines }).toEqual({ code, lines: [expect.stringMatching(line)] });
    expect(await listTree(tree)).toEqual(before);
  }
  const release = await runBerth(['release', '--component', `app=${join(dir, 'ref.tar')}`, '--registry', '127.0.0.1:1/x', '--tag', 'v1'], { cwd: tree, env: { PATH: process.env.PATH, HOME: tree, GITHUB_STEP_SUMMARY: '/proc/no-such' } });
  expect({ code: release.code, lines: release.lines }).toEqual({ code: 1, lines: ['berth: GITHUB_STEP_SUMMARY (/proc/no-such): cannot append to it (ENOENT); nothing was pushed'] });
});
