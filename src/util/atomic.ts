import { randomBytes } from 'node:crypto';
import { constants, createWriteStream, lstatSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { access, copyFile, link, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { trackScratch } from './scratch.js';
import { UsageError } from '../errors.js';

/**
 * A temporary name beside `path`, on the same file system so a rename can replace `path`;
 * unique per call (process id and random bytes), so concurrent writers of one path, in one
 * process or several, never share one.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** True for a name tempPathFor gives (a write in flight, or one a killed process left). */
export function isTempName(name: string): boolean {
  return /^\..*\.tmp-\d+-[0-9a-f]{8}$/.test(basename(name));
}

/**
 * Where writing `path` really lands. `file`: a regular file or nothing, at `path` itself or,
 * through symlinks, at their end (berth renames a finished file there, so the symlink stays).
 * `stream`: a device, FIFO or socket, or anything reached through /proc (`/dev/stdout`,
 * `/dev/fd/N`), or `-` for berth's stdout: written to directly, never renamed over.
 * `directory`: a folder.
 */
export type OutputTarget = { kind: 'file'; path: string } | { kind: 'stream'; path: string; fd?: number } | { kind: 'directory'; path: string };

const STD_STREAMS: Record<string, number> = { '-': 1, '/dev/stdout': 1, '/dev/stderr': 2, '/dev/fd/1': 1, '/dev/fd/2': 2, '/proc/self/fd/1': 1, '/proc/self/fd/2': 2 };

/** True when writing `path` means writing berth's own stdout (`-`, /dev/stdout, /dev/fd/1). */
export function isStdout(path: string): boolean {
  return STD_STREAMS[path] === 1;
}

/** Synchronous (a few lstat calls), so a caller's stream is piped before its first event. */
export function resolveOutput(path: string): OutputTarget {
  const fd = STD_STREAMS[path];
  if (fd !== undefined) return { kind: 'stream', path, fd };
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    // /proc's links (fd/N, self) point at pipes and open files, not at names a rename could replace.
    if (p === '/proc' || p.startsWith('/proc/')) return { kind: 'stream', path };
    let st;
    try {
      st = lstatSync(p);
    } catch (err) {
      // Nothing there (a parent that is a file is for the writability check to name).
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    if (st === undefined || st.isFile()) return { kind: 'file', path: p };
    if (st.isDirectory()) return { kind: 'directory', path: p };
    if (!st.isSymbolicLink()) return { kind: 'stream', path };
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw Object.assign(new Error(`ELOOP: too many symbolic links encountered, open '${path}'`), { code: 'ELOOP', syscall: 'open', path });
}

/** Writes `data` to `path` so that readers see the old file or the whole new one, never half (see resolveOutput for paths that are not files). */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
  const target = resolveOutput(path);
  if (target.kind === 'stream') {
    await writeStreamTarget(target, async (out) => {
      await out.write(data);
    });
    return;
  }
  if (target.kind === 'directory') throw isDirError(path);
  const tmp = tempPathFor(target.path);
  const untrack = trackScratch(tmp);
  try {
    await writeFile(tmp, data, opts.mode !== undefined ? { mode: opts.mode } : {});
    await rename(tmp, target.path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {}); // the first error is the one to report
    throw err;
  } finally {
    untrack();
  }
}

/**
 * writeFileAtomic for a regular file, synchronously (the lean status path, which starts no
 * event loop work it can avoid): the whole new file or the old one, and on failure no
 * temporary file left. A signal cannot interrupt it between the write and the rename (its
 * handler runs only after), so it needs no scratch tracking.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, opts: { mode?: number } = {}): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data, opts.mode !== undefined ? { mode: opts.mode } : {});
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the first error is the one to report
    }
    throw err;
  }
}

/** Streams into `path` through a temporary file; on any failure nothing is left behind. A stream target (resolveOutput) is written directly. */
export async function streamToFileAtomic(path: string, source: Readable): Promise<void> {
  const target = resolveOutput(path);
  if (target.kind === 'stream') {
    await writeStreamTarget(target, async (out) => {
      for await (const chunk of source) await out.write(chunk as Uint8Array);
    });
    return;
  }
  if (target.kind === 'directory') throw isDirError(path);
  const tmp = tempPathFor(target.path);
  const untrack = trackScratch(tmp);
  const out = createWriteStream(tmp);
  try {
    await pipeline(source, out);
    await rename(tmp, target.path);
  } catch (err) {
    // The file is opened asynchronously: a source failing first would otherwise have the
    // temporary file created after it was removed. Wait until the stream has closed.
    if (!out.closed) await once(out, 'close').catch(() => {});
    await rm(tmp, { force: true }).catch(() => {}); // the first error is the one to report
    throw err;
  } finally {
    untrack();
  }
}

/**
 * Puts the contents of the regular file `src` at `path` (a hard link where the file system
 * allows, else a copy) so that readers see the old file or the whole new one; on failure no
 * temporary file is left. `src` itself stays.
 */
export async function placeFileAtomic(src: string, path: string): Promise<void> {
  const tmp = tempPathFor(path);
  const untrack = trackScratch(tmp);
  try {
    await link(src, tmp).catch(() => copyFile(src, tmp));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {}); // the first error is the one to report
    throw err;
  } finally {
    untrack();
  }
}

/** Opens a stream target (without O_TRUNC or O_CREAT: it exists, and is not ours to replace) or uses berth's own stdout. */
async function writeStreamTarget(target: { path: string; fd?: number }, fn: (out: { write: (b: Uint8Array | string) => Promise<unknown> }) => Promise<void>): Promise<void> {
  if (target.fd !== undefined) {
    const { write } = await import('node:fs');
    const fd = target.fd;
    const writeAll = (b: Uint8Array | string) =>
      new Promise<void>((res, rej) => {
        const buf = typeof b === 'string' ? Buffer.from(b) : b;
        const step = (off: number): void => {
          if (off >= buf.length) return res();
          write(fd, buf, off, buf.length - off, null, (err, n) => {
            if (err && err.code === 'EAGAIN') setTimeout(() => step(off), 5);
            else if (err) rej(err);
            else step(off + n);
          });
        };
        step(0);
      });
    await fn({ write: writeAll });
    return;
  }
  const fh = await open(target.path, constants.O_WRONLY);
  try {
    await fn({ write: (b) => fh.write(b as Uint8Array) });
  } finally {
    await fh.close();
  }
}

function isDirError(path: string): Error {
  return Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR', syscall: 'open', path });
}

/**
 * Checks, before any work, that berth will be able to write `path` as the user gave it: a
 * file (or nothing) whose folder, or nearest existing ancestor, berth may write; or, where
 * `stream` allows it, a device, FIFO or stdout. Throws Node's own error with `path` as given,
 * for the caller's withFsErrors to name, or a UsageError for a path that cannot be a file.
 */
export async function checkOutputWritable(path: string, opts: { stream?: boolean; append?: boolean } = {}): Promise<OutputTarget> {
  const target = resolveOutput(path);
  // Node's error, naming the user's path where it is about the target itself (not a parent folder).
  const fail = (err: unknown): never => {
    const e = err as NodeJS.ErrnoException;
    throw e.path === undefined || e.path === target.path ? Object.assign(e, { path, syscall: 'open' }) : e;
  };
  if (target.kind === 'directory') throw isDirError(path);
  if (target.kind === 'stream') {
    if (!opts.stream) throw new UsageError('BAD_PATH', `cannot write ${path}: not a regular file (a device, FIFO, socket or /proc); give a file path`);
    if (target.fd === undefined) await access(target.path, constants.W_OK).catch(fail);
    return target;
  }
  const exists = await stat(target.path).then(() => true, () => false);
  if (exists) await access(target.path, constants.W_OK).catch(fail);
  if (exists && opts.append) return target;
  // A rename into the folder (or creating the file, and missing folders above it) needs the nearest existing folder writable.
  let dir = dirname(target.path);
  for (;;) {
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? undefined : fail(err)));
    if (st !== undefined) {
      if (!st.isDirectory()) fail(Object.assign(new Error(`ENOTDIR: not a directory, open '${dir}'`), { code: 'ENOTDIR', syscall: 'open', path: dir }));
      // An unwritable folder is reported as the output's own problem, as the write itself would be.
      await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => fail(Object.assign(err, { path: target.path })));
      return target;
    }
    if (dirname(dir) === dir) return target;
    dir = dirname(dir);
  }
}

/**
 * Refuses, before any work, an output path that exists and is not a regular file: a folder
 * (Node's own EISDIR error), or a device, FIFO, socket or a path through /proc (such as
 * /dev/stdout), which the rename that puts a finished file in place would replace rather
 * than write to. For outputs that cannot be streamed (a layout, a report made by rename).
 */
export async function refuseNonFile(path: string): Promise<void> {
  const target = resolveOutput(path);
  if (target.kind === 'directory') throw isDirError(path);
  if (target.kind === 'stream') throw new UsageError('BAD_PATH', `cannot write ${path}: not a regular file (a device, FIFO or socket); give a file path`);
}

/** Refuses, before any work, a layout folder path that is a device, FIFO, socket or reached through /proc: a layout cannot stream. */
export async function refuseNonFolder(path: string): Promise<undefined> {
  const target = resolveOutput(path);
  if (target.kind === 'stream') throw new UsageError('BAD_PATH', `cannot write ${path}: not a folder (a device, FIFO, socket or stdout); an OCI layout is a folder`);
  return undefined;
}

const LOCK_STALE_MS = 120_000;

/**
 * Runs `fn` holding an exclusive lock file, so that concurrent berth processes updating one
 * file (an OCI layout's index.json) take turns. A lock older than two minutes is taken as
 * left by a crashed process and removed.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  let untrack = () => {};
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      const fh = await open(lockPath, 'wx');
      untrack = trackScratch(lockPath); // an interrupted run must not hold others up for two minutes
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) await rm(lockPath, { force: true });
      else await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
    untrack();
  }
}
