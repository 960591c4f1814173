import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { trackScratch } from './scratch.js';
import { UsageError } from '../errors.js';

/** A temporary name beside `path`, on the same file system so a rename can replace `path`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` to `path` so that readers see the old file or the whole new one, never half. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  const untrack = trackScratch(tmp);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {}); // the first error is the one to report
    throw err;
  } finally {
    untrack();
  }
}

/** Streams into `path` through a temporary file; on any failure nothing is left behind. */
export async function streamToFileAtomic(path: string, source: Readable): Promise<void> {
  const tmp = tempPathFor(path);
  const untrack = trackScratch(tmp);
  const out = createWriteStream(tmp);
  try {
    await pipeline(source, out);
    await rename(tmp, path);
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
 * Refuses, before any work, an output path that exists and is not a regular file: a folder
 * (Node's own EISDIR error), or a device, FIFO or socket (such as /dev/stdout), which the
 * rename that puts a finished file in place would replace rather than write to.
 */
export async function refuseNonFile(path: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR', syscall: 'open', path });
  if (st && !st.isFile()) throw new UsageError('BAD_PATH', `cannot write ${path}: not a regular file (a device, FIFO or socket); give a file path`);
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
