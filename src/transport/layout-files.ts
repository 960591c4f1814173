import { createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fsError } from '../blob/fs-errors.js';
import { UsageError } from '../errors.js';
import { indexTar, type TarMember } from './tar-index.js';

/** Large reads: blobs are streamed whole, and 64 KiB reads cost measurable CPU. */
const READ_SIZE = 1 << 20;

/**
 * The files of an OCI image layout, wherever they are kept: a directory or an image tarball.
 * Paths are layout-relative (`index.json`, `blobs/sha256/…`).
 */
export interface LayoutFiles {
  readonly origin: string;
  has(path: string): boolean | Promise<boolean>;
  read(path: string): Promise<Uint8Array>;
  open(path: string): Readable;
  /** A local file with exactly this member's bytes, when there is one. */
  localPath(path: string): string | undefined;
}

export function directoryFiles(dir: string): LayoutFiles {
  return {
    origin: dir,
    async has(path) {
      try {
        await access(join(dir, path));
        return true;
      } catch (err) {
        // Absent is an answer; a folder the user may not read is a problem to name (EACCES).
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        throw fsError(err);
      }
    },
    async read(path) {
      try {
        return await readFile(join(dir, path));
      } catch (err) {
        throw missing(dir, path, err);
      }
    },
    open: (path) => createReadStream(join(dir, path), { highWaterMark: READ_SIZE }),
    localPath: (path) => join(dir, path),
  };
}

/** An image tarball's members, located by one scan of its headers. */
export async function tarballFiles(tarPath: string): Promise<LayoutFiles> {
  const members = await indexTar(tarPath);
  const member = (path: string): TarMember => {
    const m = members.get(path);
    if (!m) throw missing(tarPath, path);
    return m;
  };
  return {
    origin: tarPath,
    has: (path) => members.has(path),
    async read(path) {
      const m = member(path);
      const chunks: Buffer[] = [];
      for await (const c of createReadStream(tarPath, { start: m.offset, end: m.offset + m.size - 1 })) chunks.push(c as Buffer);
      return Buffer.concat(chunks, m.size);
    },
    open(path) {
      const m = member(path);
      // createReadStream's `end` is inclusive, so an empty member cannot be expressed with it.
      return m.size === 0 ? Readable.from([]) : createReadStream(tarPath, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: READ_SIZE });
    },
    localPath: () => undefined,
  };
}

function missing(origin: string, path: string, err?: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why = code && code !== 'ENOENT' ? ` (${code})` : '';
  return new UsageError('BAD_LAYOUT', `${origin}: has no ${path}${why}; is it an OCI image layout or image tarball?`);
}
