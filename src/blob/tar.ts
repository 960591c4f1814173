import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { OperationalError } from '../errors.js';
import { BLOCK_SIZE, encodeHeader, paddingFor, type Typeflag } from './tar-header.js';

/** One member of a layer tarball, described completely so that the bytes depend on nothing else. */
export interface TarEntry {
  /** Relative and normalised: no leading '/' or './', no '.' or '..' parts, no trailing '/'. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of a file's content; checked against the source when it is read. */
  size?: number;
  /** Target of a symlink (any string) or of a hardlink (another entry's path). */
  linkname?: string;
  /** A file's content: a path on disk, the bytes themselves, or a stream opened when needed. */
  source?: TarSource;
}

/** Opened only when the entry is written, so a tar of many blobs holds one open at a time. */
export type OpenSource = () => Promise<AsyncIterable<Uint8Array>>;
export type TarSource = string | Uint8Array | OpenSource;

export interface TarStreamOptions {
  /** Bytes read from a source file at a time. */
  readSize?: number;
}

const DEFAULT_READ_SIZE = 1 << 20;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);

const TYPEFLAG: Record<TarEntry['type'], Typeflag> = { file: '0', hardlink: '1', symlink: '2', directory: '5' };

/**
 * A deterministic tar of `entries`: sorted by path (byte order), ustar headers holding only
 * what the entries say, file content streamed from disk. A source file whose size differs
 * from the entry's fails the stream with an OperationalError naming it.
 */
export function createTarStream(entries: readonly TarEntry[], options: TarStreamOptions = {}): Readable {
  const sorted = sortTarEntries(entries);
  return Readable.from(tarChunks(sorted, options.readSize ?? DEFAULT_READ_SIZE), { objectMode: false });
}

/** Entries in archive order: by path, comparing UTF-8 bytes. Throws on an invalid or repeated path. */
export function sortTarEntries(entries: readonly TarEntry[]): TarEntry[] {
  const keyed = entries.map((entry) => {
    validateEntry(entry);
    return { entry, key: Buffer.from(entry.path, 'utf8') };
  });
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i]!.entry.path === keyed[i - 1]!.entry.path) {
      throw new TypeError(`tar entry "${keyed[i]!.entry.path}" appears twice`);
    }
  }
  return keyed.map((k) => k.entry);
}

async function* tarChunks(entries: readonly TarEntry[], readSize: number): AsyncGenerator<Uint8Array> {
  for (const entry of entries) {
    const size = entry.type === 'file' ? contentSize(entry) : 0;
    yield encodeHeader({
      name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
      typeflag: TYPEFLAG[entry.type],
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size,
      mtime: entry.mtime,
      linkname: entry.linkname ?? '',
    });
    if (size === 0) continue;
    const source = entry.source!;
    if (typeof source === 'string') yield* readFileExactly(source, size, readSize);
    else if (typeof source === 'function') yield* streamExactly(entry.path, await source(), size);
    else yield source;
    const padding = paddingFor(size);
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield END_OF_ARCHIVE;
}

function contentSize(entry: TarEntry): number {
  return isBytes(entry.source) ? entry.source.byteLength : (entry.size ?? 0);
}

const isBytes = (source: TarSource | undefined): source is Uint8Array => ArrayBuffer.isView(source);

/** Passes on `stream`, failing unless it yields exactly `size` bytes. */
async function* streamExactly(name: string, stream: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of stream) {
    seen += chunk.byteLength;
    if (seen > size) break;
    yield chunk;
  }
  if (seen !== size) {
    const got = seen > size ? 'more than' : `only ${seen} of`;
    throw new OperationalError('IO', `tar entry ${name}: its source gave ${got} the ${size} bytes expected`);
  }
}

/** Streams exactly `size` bytes of `path`, failing if the file is shorter or longer. */
async function* readFileExactly(path: string, size: number, readSize: number): AsyncGenerator<Uint8Array> {
  const changed = (found: string) =>
    new OperationalError('IO', `${path}: file changed while the layer was being built (expected ${size} bytes, ${found})`);
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    throw new OperationalError('IO', `${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  try {
    const { size: sizeNow } = await file.stat();
    if (sizeNow !== size) throw changed(`now ${sizeNow}`);
    let remaining = size;
    while (remaining > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(readSize, remaining));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) throw changed(`read only ${size - remaining}`);
      remaining -= bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    const { bytesRead: extra } = await file.read(Buffer.alloc(1), 0, 1, null);
    if (extra > 0) throw changed('found more');
  } finally {
    await file.close();
  }
}

function validateEntry(entry: TarEntry): void {
  const bad = (why: string) => new TypeError(`tar entry "${entry.path}": ${why}`);
  const { path } = entry;
  if (path === '' || path.includes('\0')) throw bad('path must be non-empty, without NUL');
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw bad("path must be relative and normalised (no leading or trailing '/', no '.' or '..' parts)");
  }
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) throw bad('mode must be within 0..0o7777');
  for (const key of ['uid', 'gid', 'mtime'] as const) {
    if (!Number.isSafeInteger(entry[key]) || entry[key] < 0) throw bad(`${key} must be a non-negative integer`);
  }
  const isLink = entry.type === 'symlink' || entry.type === 'hardlink';
  if (isLink !== (entry.linkname !== undefined)) throw bad('linkname is required for links and only for links');
  if (isLink && entry.linkname === '') throw bad('linkname must not be empty');
  if (entry.type !== 'file') {
    if (entry.source !== undefined || (entry.size ?? 0) !== 0) throw bad(`a ${entry.type} has no content`);
    return;
  }
  if (entry.size !== undefined && (!Number.isSafeInteger(entry.size) || entry.size < 0)) {
    throw bad('size must be a non-negative integer');
  }
  if (isBytes(entry.source)) {
    if (entry.size !== undefined && entry.size !== entry.source.byteLength) throw bad('size differs from the inline content');
  } else if (entry.source === undefined) {
    if ((entry.size ?? 0) !== 0) throw bad('a file with a size needs a source');
  } else if (entry.size === undefined) {
    throw bad('a file read from disk or a stream needs its size');
  }
}
