import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fsError } from '../util/fs-errors.js';
import { UsageError } from '../errors.js';
import { indexTar, type TarSpan } from './tar-index.js';

/** Large reads: blobs are streamed whole, and 64 KiB reads cost measurable CPU. */
const READ_SIZE = 1 << 20;

/**
 * The files of an OCI image layout, wherever they are kept: a directory or an image tarball.
 * Paths are layout-relative (`index.json`, `blobs/sha256/…`).
 */
export interface LayoutFiles {
  readonly origin: string;
  /** Whether `path` is there as a regular file (a FIFO or device could block a read forever). */
  has(path: string): boolean | Promise<boolean>;
  /** Bytes of `path`, whole; fails with BAD_LAYOUT if it is larger than `maxSize`. */
  read(path: string, maxSize?: number): Promise<Uint8Array>;
  /** Its size in bytes, or undefined when it is not there. */
  size(path: string): Promise<number | undefined>;
  open(path: string): Readable;
}

/** What berth reads whole (index.json, manifests, configs) is small; more is not a layout. */
export const MAX_METADATA_SIZE = 64 << 20;

export function directoryFiles(dir: string): LayoutFiles {
  const size = async (path: string): Promise<number | undefined> => {
    try {
      const s = await stat(join(dir, path));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      // Absent is an answer; a folder the user may not read is a problem to name (EACCES).
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw fsError(err);
    }
  };
  return {
    origin: dir,
    has: async (path) => (await size(path)) !== undefined,
    size,
    async read(path, maxSize = MAX_METADATA_SIZE) {
      const found = await size(path);
      if (found === undefined) throw missing(dir, path, await stat(join(dir, path)).then(() => ({ code: 'not a regular file' }), (err: unknown) => err));
      if (found > maxSize) throw tooLarge(dir, path, found, maxSize);
      try {
        return await readFile(join(dir, path));
      } catch (err) {
        throw missing(dir, path, err);
      }
    },
    open: (path) => createReadStream(join(dir, path), { highWaterMark: READ_SIZE }),
  };
}

/** An image tarball's members, located by one scan of its headers. */
export async function tarballFiles(tarPath: string): Promise<LayoutFiles> {
  const members = await indexTar(tarPath);
  const member = (path: string): TarSpan => {
    const m = members.get(path);
    if (!m) throw missing(tarPath, path);
    return m;
  };
  return {
    origin: tarPath,
    has: (path) => members.has(path),
    size: async (path) => members.get(path)?.size,
    async read(path, maxSize = MAX_METADATA_SIZE) {
      const m = member(path);
      if (m.size > maxSize) throw tooLarge(tarPath, path, m.size, maxSize);
      const chunks: Buffer[] = [];
      for await (const c of createReadStream(tarPath, { start: m.offset, end: m.offset + m.size - 1 })) chunks.push(c as Buffer);
      return Buffer.concat(chunks, m.size);
    },
    open(path) {
      const m = member(path);
      // createReadStream's `end` is inclusive, so an empty member cannot be expressed with it.
      return m.size === 0 ? Readable.from([]) : createReadStream(tarPath, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: READ_SIZE });
    },
  };
}

function tooLarge(origin: string, path: string, size: number, max: number): UsageError {
  return new UsageError('BAD_LAYOUT', `${origin}: ${path} has ${size} bytes, more than the ${max} berth reads as metadata`);
}

function missing(origin: string, path: string, err?: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why = code && code !== 'ENOENT' ? ` (${code})` : '';
  return new UsageError('BAD_LAYOUT', `${origin}: has no ${path}${why}; is it an OCI image layout or image tarball?`);
}
