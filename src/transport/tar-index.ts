import { open, type FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** Where one regular file's bytes lie inside a tar archive. */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;

/**
 * Reads only the headers of an uncompressed tar and returns where each regular file's data
 * lies, so members can later be streamed by offset without unpacking. Understands ustar,
 * PAX (`path`, `size`) and GNU long names.
 */
export async function indexTar(path: string): Promise<Map<string, TarMember>> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new UsageError('UNREADABLE', `${path}: cannot open image tarball (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const { size: fileSize } = await fh.stat();
    const members = new Map<string, TarMember>();
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let paxPath: string | undefined;
    let paxSize: number | undefined;
    let longName: string | undefined;
    const corrupt = (why: string) => new UsageError('BAD_TARBALL', `${path}: not a valid tar archive (${why} at byte ${pos})`);
    for (;;) {
      if (pos + BLOCK > fileSize) throw corrupt('truncated header');
      await readExactly(fh, header, pos);
      if (pos === 0 && header[0] === 0x1f && header[1] === 0x8b) {
        throw new UsageError('BAD_TARBALL', `${path}: is gzip-compressed; image tarballs are plain tar (gunzip it first)`);
      }
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) throw corrupt('bad header checksum');
      const type = String.fromCharCode(header[156]!);
      const size = paxSize ?? parseOctal(header.subarray(124, 136));
      const dataStart = pos + BLOCK;
      const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;
      if (dataStart + size > fileSize) throw corrupt('truncated member');
      if (type === 'x' || type === 'L') {
        const data = Buffer.alloc(size);
        await readExactly(fh, data, dataStart);
        if (type === 'L') {
          longName = data.toString('utf8').replace(/\0+$/, '');
        } else {
          const pax = parsePax(data);
          paxPath = pax.path;
          paxSize = pax.size === undefined ? undefined : Number(pax.size);
        }
        pos = next;
        continue;
      }
      if (type !== 'g') {
        const name = normalise(paxPath ?? longName ?? ustarName(header));
        if (type === '0' || type === '\0' || type === '7') members.set(name, { offset: dataStart, size });
      }
      paxPath = paxSize = longName = undefined;
      pos = next;
    }
    return members;
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  const { bytesRead } = await fh.read(buf, 0, buf.length, position);
  if (bytesRead !== buf.length) throw new Error(`short read at ${position}`);
}

function cstring(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
}

function ustarName(h: Buffer): string {
  const name = cstring(h.subarray(0, 100));
  const magic = h.subarray(257, 263).toString('latin1');
  const prefix = magic.startsWith('ustar') ? cstring(h.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function parseOctal(field: Buffer): number {
  if (field[0]! & 0x80) {
    // GNU base-256 for sizes over 8 GiB.
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const s = cstring(field).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = parseInt(data.subarray(i, space).toString('latin1'), 10);
    if (!(len > 0)) break;
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}
