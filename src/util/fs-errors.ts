import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { isBerthError, OperationalError, UsageError, type BerthError } from '../errors.js';

/**
 * File-system failures as berth reports them: one line naming the path and the problem
 * (`cannot write out/a.tar: read-only file system (EROFS)`), exit 2 when the path given is
 * wrong (the user must choose another), exit 1 when the disk failed (retrying elsewhere or
 * later may work). Low-level writers (atomic.ts, output-file.ts) clean up and rethrow Node's
 * error as it is; the code that knows which path the user gave wraps its work in
 * `withFsErrors`, and the CLI maps whatever is still raw as a last resort.
 */

/** How each errno reads in a message, and whose fault it is. */
const PROBLEMS: Record<string, { reason: string; exitCode: 1 | 2 }> = {
  ENOENT: { reason: 'no such file or directory', exitCode: 2 },
  EACCES: { reason: 'permission denied', exitCode: 2 },
  EPERM: { reason: 'operation not permitted', exitCode: 2 },
  EISDIR: { reason: 'is a directory', exitCode: 2 },
  ENOTDIR: { reason: 'a parent is not a directory', exitCode: 2 },
  EEXIST: { reason: 'already exists', exitCode: 2 },
  ENOTEMPTY: { reason: 'is a directory that is not empty', exitCode: 2 },
  EROFS: { reason: 'read-only file system', exitCode: 2 },
  ENAMETOOLONG: { reason: 'name too long', exitCode: 2 },
  ELOOP: { reason: 'too many levels of symlinks', exitCode: 2 },
  EXDEV: { reason: 'on another file system', exitCode: 2 },
  ENOSPC: { reason: 'no space left on device', exitCode: 1 },
  EDQUOT: { reason: 'disk quota exceeded', exitCode: 1 },
  EFBIG: { reason: 'file too large', exitCode: 1 },
  EIO: { reason: 'input/output error', exitCode: 1 },
  EMFILE: { reason: 'too many open files', exitCode: 1 },
  ENFILE: { reason: 'too many open files in the system', exitCode: 1 },
  EBUSY: { reason: 'device or resource busy', exitCode: 1 },
  ETXTBSY: { reason: 'text file busy', exitCode: 1 },
};

/**
 * An error from a Node file-system call: an errno code of the table above and a syscall.
 * Socket errors (ECONNRESET, EPIPE) and a program not found by spawn are not file-system
 * errors and pass through.
 */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | undefined;
  // Duck-typed, not instanceof Error: an error from another realm (a vm context) counts too.
  return !isBerthError(err) && typeof e === 'object' && e !== null && typeof e.code === 'string' && Object.hasOwn(PROBLEMS, e.code) && typeof e.syscall === 'string' && !e.syscall.startsWith('spawn');
}

/** A short lower-case reason for a failed file system call, for one-line error messages. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR') return 'a parent is not a directory';
  if (code === 'EPERM') return 'permission denied';
  return (code && PROBLEMS[code]?.reason) || (err as Error).message;
}

/** True when a relative path leads out of its base. */
function outside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** True when `inner` is `outer` or below it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(resolve(outer), resolve(inner));
  return !outside(rel);
}

/**
 * True when a failing path belongs to writing `target`: the target itself, a file inside it
 * (a layout's blobs), a hidden scratch sibling (`.NAME.tmp-*`, `.berth-work-*`) or what is in
 * one. Those are named by `target`, the path the user gave.
 */
function belongsTo(path: string, target: string): boolean {
  if (within(path, target)) return true;
  const rel = relative(dirname(resolve(target)), resolve(path));
  if (rel === '' || outside(rel)) return false;
  const first = rel.split(sep)[0]!;
  return first.startsWith(`.${basename(target)}.`) || first.startsWith('.berth-');
}

/**
 * Turns a Node file-system error met while writing `target` (or, with no target, any path)
 * into one line naming the path and the problem; any other error is returned unchanged.
 */
export function fsError(err: unknown, target?: string, verb: 'write' | 'read' = 'write'): unknown {
  if (!isFsError(err)) return err;
  const code = err.code!;
  const problem = PROBLEMS[code]!;
  const path = err.path;
  let message: string;
  if (target === undefined) {
    message = path === undefined ? `${problem.reason} (${code})` : `${path}: ${problem.reason} (${code})`;
  } else if (path === undefined || belongsTo(path, target)) {
    // A file where berth needs a folder (a layout path that is a file): mkdir -p says EEXIST or ENOTDIR.
    const notDir = path !== undefined && within(path, target) && (code === 'ENOTDIR' || (code === 'EEXIST' && err.syscall === 'mkdir'));
    message = notDir ? `cannot ${verb} ${target}: is not a directory (ENOTDIR)` : `cannot ${verb} ${target}: ${problem.reason} (${code})`;
  } else if (within(target, path)) {
    // A parent of the target: name it, since that is what is wrong.
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? `${path} is not a directory` : `${path}: ${problem.reason}`;
    message = `cannot ${verb} ${target}: ${reason} (${code === 'EEXIST' ? 'ENOTDIR' : code})`;
  } else {
    message = `${path}: ${problem.reason} (${code})`;
  }
  const Kind = problem.exitCode === 2 ? UsageError : OperationalError;
  return new Kind(problem.exitCode === 2 ? 'BAD_PATH' : 'IO', message, { cause: err }) as BerthError;
}

/** Runs `fn`, reporting a file-system failure while writing (or reading) `target` as `fsError` does. */
export async function withFsErrors<T>(target: string, fn: () => Promise<T>, verb: 'write' | 'read' = 'write'): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(await mkdirCause(err), target, verb);
  }
}

/**
 * `mkdir -p` under a read-only or forbidden folder reports ENOENT for the deepest missing
 * folder, which reads as a typo. Asks the deepest existing ancestor whether it is writable
 * and reports that answer (EROFS, EACCES) instead.
 */
async function mkdirCause(err: unknown): Promise<unknown> {
  if (!isFsError(err) || err.code !== 'ENOENT' || err.syscall !== 'mkdir' || err.path === undefined) return err;
  for (let dir = dirname(resolve(err.path)); ; dir = dirname(dir)) {
    const st = await stat(dir).catch(() => undefined);
    if (st?.isDirectory()) return access(dir, constants.W_OK).then(() => err, (denied: unknown) => denied);
    if (dir === dirname(dir)) return err;
  }
}
