/**
 * Real failing file systems for tests, as root (CI runs as root): a tiny tmpfs that fills up
 * (ENOSPC), a read-only bind mount (EROFS), an immutable folder (`chattr +i`: EPERM even for
 * root), and berth run as `nobody` through setpriv, since root passes every permission check
 * (EACCES). Mounts are undone by `release()`; nothing here touches a path outside `dir`.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, type CliResult } from './cli.js';
import { run } from './tools.js';

export const IS_ROOT = process.getuid?.() === 0;

/** Mounts a tmpfs of `bytes` at `dir` (an existing empty folder); returns its unmount. */
export async function mountTmpfs(dir: string, bytes: number): Promise<() => Promise<void>> {
  await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir]);
  return async () => void (await run('umount', [dir]));
}

/** Makes `dir` read-only by bind-mounting it onto itself read-only; returns the undo. */
export async function mountReadOnly(dir: string): Promise<() => Promise<void>> {
  await run('mount', ['--bind', dir, dir]);
  try {
    await run('mount', ['-o', 'remount,bind,ro', dir]);
  } catch (err) {
    await run('umount', [dir]);
    throw err;
  }
  return async () => void (await run('umount', [dir]));
}

/** Sets the immutable attribute on `path` (nobody, root included, may change it); returns the undo. */
export async function makeImmutable(path: string): Promise<() => Promise<void>> {
  await run('chattr', ['+i', path]);
  return async () => void (await run('chattr', ['-i', path]));
}

/** Fills the file system holding `dir` to the last byte with a file `fill`. */
export async function fillUp(dir: string): Promise<void> {
  // dd stops with "No space left on device"; that is the point.
  await run('sh', ['-c', `dd if=/dev/zero of=${join(dir, 'fill')} bs=4096 2>/dev/null || true`]);
}

let nobodyBin: Promise<string> | undefined;

/**
 * The built berth (bin/berth.js and its bundles) copied where `nobody` may read it: the
 * checkout itself may sit in a folder only root can enter (CI clones into a mode-0700 one).
 */
function readableBerth(): Promise<string> {
  return (nobodyBin ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-nobody-'));
    await cp(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    await cp(join(REPO_ROOT, 'dist', 'lean'), join(dir, 'dist', 'lean'), { recursive: true });
    await cp(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
    await run('chmod', ['-R', 'a+rX', dir]);
    return join(dir, 'bin', 'berth.js');
  })());
}

/** Runs the built berth as the user `nobody` (no capabilities), so permissions apply. */
export async function berthAsNobody(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const bin = await readableBerth();
  const args = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, bin, ...argv];
  return new Promise((resolve) => {
    // Not the checkout's folder as cwd either (berth reads ./berth.yaml there): the copy's.
    execFile('setpriv', args, { cwd: opts.cwd ?? join(bin, '..', '..'), env: opts.env ?? { PATH: process.env.PATH, HOME: '/nonexistent' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every path below `dir` (relative, sorted), to show a failed command left nothing behind. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

