import { open, type FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { BLOCK_SIZE } from '../blob/tar-header.js';
import { showName, spanOf, TarFormatError, TarHeaderDecoder } from '../blob/tar-read.js';

/** Where one regular file's bytes lie inside a tar archive. */
export interface TarSpan {
  offset: number;
  size: number;
}

/**
 * Reads only the headers of an uncompressed tar and returns where each regular file's data
 * lies, so members can later be streamed by offset without unpacking. Headers are decoded
 * strictly (blob/tar-read.ts): a malformed, truncated or ambiguous archive, or a name given
 * twice, fails with one UsageError naming the file and what is wrong; every header moves the
 * position forward by at least one block, so no header can make it loop.
 */
export async function indexTar(path: string): Promise<Map<string, TarSpan>> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new UsageError('UNREADABLE', `${path}: cannot open image tarball (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return await readIndex(fh, path);
  } catch (err) {
    if (err instanceof TarFormatError) throw new UsageError('BAD_TARBALL', `${path}: not a valid tar archive (${err.message})`, { cause: err });
    throw err;
  } finally {
    await fh.close();
  }
}

async function readIndex(fh: FileHandle, path: string): Promise<Map<string, TarSpan>> {
  const { size: fileSize } = await fh.stat();
  const members = new Map<string, TarSpan>();
  const decoder = new TarHeaderDecoder();
  const header = Buffer.alloc(BLOCK_SIZE);
  let pos = 0;
  while (pos < fileSize) {
    if (pos + BLOCK_SIZE > fileSize) throw new TarFormatError('truncated header', pos);
    await readExactly(fh, header, pos);
    if (pos === 0 && header[0] === 0x1f && header[1] === 0x8b) {
      throw new UsageError('BAD_TARBALL', `${path}: is gzip-compressed; image tarballs are plain tar (gunzip it first)`);
    }
    const step = decoder.header(header, pos);
    if (step.kind === 'end') {
      // Go's reader, as skopeo and docker use it, refuses a lone zero block followed by more.
      if (pos + 2 * BLOCK_SIZE <= fileSize) {
        await readExactly(fh, header, pos + BLOCK_SIZE);
        if (header.some((b) => b !== 0)) throw new TarFormatError('data after the end-of-archive marker', pos + BLOCK_SIZE);
      }
      return members;
    }
    const size = step.kind === 'member' ? step.member.size : step.size;
    const next = pos + spanOf(size);
    if (pos + BLOCK_SIZE + size > fileSize) throw new TarFormatError('archive ends inside a member', pos);
    if (step.kind === 'extension') {
      const data = Buffer.alloc(size);
      await readExactly(fh, data, pos + BLOCK_SIZE);
      decoder.extension(data);
    } else if (step.kind === 'member' && (step.member.type === '0' || step.member.type === '7')) {
      const name = normalise(step.member.name);
      if (members.has(name)) throw new TarFormatError(`member ${showName(name)} appears twice`, step.member.offset);
      members.set(name, { offset: step.member.dataOffset, size });
    }
    pos = next;
  }
  decoder.finish(pos);
  return members;
}

async function readExactly(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  const { bytesRead } = await fh.read(buf, 0, buf.length, position);
  if (bytesRead !== buf.length) throw new TarFormatError('file shrank while being read', position);
}

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}
