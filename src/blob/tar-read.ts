/**
 * Reading tar headers without trusting them. Every numeric field is parsed strictly (octal or
 * GNU base-256, never negative where that makes no sense) and checked against its range; PAX
 * records and GNU long names are parsed strictly too; anything that common extractors (GNU
 * tar, Go's archive/tar) would read differently is refused rather than guessed at. The two
 * readers on top of it, `TarParser` (bytes pushed as they stream past) and the image tarball
 * index (headers read by offset), share it, so both see the same members.
 */
import { BLOCK_SIZE, paddingFor } from './tar-header.js';

/** One member as an extractor would see it, with PAX and GNU long names applied. */
export interface TarMember {
  /** Raw name bytes as a latin1 string (one character per byte, so no two names collide). */
  name: string;
  /** The typeflag character; '\0' is reported as '0'. */
  type: string;
  linkname: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Where the member's (first) header starts and where its data starts, in archive bytes. */
  offset: number;
  dataOffset: number;
}

/** Thrown for a malformed archive; readers turn it into a UsageError naming their input. */
export class TarFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

/** PAX headers and GNU long names are small; anything larger is refused, as Go does (1 MiB). */
export const MAX_EXTENSION_SIZE = 1 << 20;

const MAX_MODE = 0o7777777;
const MAX_ID = 0xffffffff;

/** Member types that carry no data: a size other than 0 would frame the archive two ways. */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
/** Member types every common extractor understands. */
export const MEMBER_TYPES = new Set(['0', '1', '2', '3', '4', '5', '6', '7']);
const EXTENSION_TYPES = new Set(['x', 'g', 'L', 'K']);

/** What a header block turned out to be. */
export type HeaderStep =
  | { kind: 'end' }
  | { kind: 'extension'; size: number }
  | { kind: 'member'; member: TarMember }
  | { kind: 'other'; type: string; size: number };

/** Printable form of a raw (latin1) name for one-line messages: UTF-8 where valid, escapes otherwise. */
export function showName(raw: string): string {
  return JSON.stringify(Buffer.from(raw, 'latin1').toString('utf8'));
}

/**
 * Turns header blocks into members. Feed it each header block with `header`; when it answers
 * `extension`, give it that many data bytes with `extension`; when it answers `member` or
 * `other`, the caller skips (or reads) `size` data bytes plus padding to the next header.
 */
export class TarHeaderDecoder {
  private globalPax = new Map<string, string>();
  private localPax: Map<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** The extension header whose data comes next. */
  private extensionType: string | undefined;
  /** Local extension headers ('x', 'L', 'K') seen for the member to come, and where the first was. */
  private readonly pendingKinds = new Set<string>();
  private pendingOffset: number | undefined;
  private offset = 0;

  header(block: Uint8Array, offset: number): HeaderStep {
    this.offset = offset;
    const h = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    if (h.length !== BLOCK_SIZE) throw this.error('truncated header');
    if (isZero(h)) {
      if (this.pendingKinds.size > 0) throw this.error('extended header without a member after it');
      return { kind: 'end' };
    }
    checkChecksum(h, offset);
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const size = numeric(h, 124, 12, 'size', offset, 0, Number.MAX_SAFE_INTEGER);
    if (EXTENSION_TYPES.has(type)) {
      if (size > MAX_EXTENSION_SIZE) throw this.error(`extended header of ${size} bytes (at most ${MAX_EXTENSION_SIZE})`);
      if (type !== 'g') {
        if (this.pendingKinds.has(type)) throw this.error(`two '${type}' headers for one member`);
        this.pendingKinds.add(type);
        this.pendingOffset ??= offset;
      }
      this.extensionType = type;
      return { kind: 'extension', size };
    }
    const fields = {
      mode: numeric(h, 100, 8, 'mode', offset, 0, MAX_MODE),
      uid: numeric(h, 108, 8, 'uid', offset, 0, MAX_ID),
      gid: numeric(h, 116, 8, 'gid', offset, 0, MAX_ID),
      mtime: numeric(h, 136, 12, 'mtime', offset, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    };
    const ustar = h.subarray(257, 263).equals(USTAR_MAGIC);
    if (ustar) {
      numeric(h, 329, 8, 'devmajor', offset, 0, MAX_ID);
      numeric(h, 337, 8, 'devminor', offset, 0, MAX_ID);
    }
    let name = cstring(h, 0, 100);
    const prefix = ustar ? cstring(h, 345, 155) : '';
    if (prefix !== '') {
      // GNU tar joins the prefix whatever the version field says; Go only for version "00".
      if (!h.subarray(263, 265).equals(USTAR_VERSION)) throw this.error('ustar header with a name prefix but an unknown version');
      name = `${prefix}/${name}`;
    }
    let linkname = cstring(h, 157, 100);
    let memberSize = size;

    const pax = new Map([...this.globalPax, ...(this.localPax ?? [])]);
    const paxPath = pax.get('path');
    const paxLink = pax.get('linkpath');
    if (this.longName !== undefined && paxPath !== undefined && paxPath !== this.longName) {
      throw this.error('GNU long name and PAX path disagree'); // GNU tar takes one, Go the other
    }
    if (this.longLink !== undefined && paxLink !== undefined && paxLink !== this.longLink) {
      throw this.error('GNU long link name and PAX linkpath disagree');
    }
    name = paxPath ?? this.longName ?? name;
    linkname = paxLink ?? this.longLink ?? linkname;
    const paxSize = pax.get('size');
    if (paxSize !== undefined) memberSize = decimal(paxSize, 'PAX size', offset, 0, Number.MAX_SAFE_INTEGER);
    const paxUid = pax.get('uid');
    if (paxUid !== undefined) fields.uid = decimal(paxUid, 'PAX uid', offset, 0, MAX_ID);
    const paxGid = pax.get('gid');
    if (paxGid !== undefined) fields.gid = decimal(paxGid, 'PAX gid', offset, 0, MAX_ID);
    const paxMtime = pax.get('mtime');
    if (paxMtime !== undefined) fields.mtime = paxTime(paxMtime, offset);

    const start = this.pendingOffset ?? offset;
    this.localPax = this.longName = this.longLink = this.pendingOffset = undefined;
    this.pendingKinds.clear();

    if (HEADER_ONLY.has(type) && memberSize !== 0) throw this.error(`member of type '${type}' with a size of ${memberSize}`);
    if (!MEMBER_TYPES.has(type)) return { kind: 'other', type, size: memberSize };
    if (name === '') throw this.error('member with an empty name');
    return {
      kind: 'member',
      member: { name, type, linkname, size: memberSize, ...fields, offset: start, dataOffset: offset + BLOCK_SIZE },
    };
  }

  /** The data of the extension header just announced (exactly `size` bytes). */
  extension(data: Uint8Array): void {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const type = this.extensionType;
    this.extensionType = undefined;
    switch (type) {
      case 'L':
        this.longName = longName(buf, this.offset);
        break;
      case 'K':
        this.longLink = longName(buf, this.offset);
        break;
      case 'x':
        this.localPax = parsePax(buf, this.offset);
        break;
      case 'g': {
        const records = parsePax(buf, this.offset);
        for (const key of ['path', 'linkpath', 'size']) {
          // GNU tar applies a global path/size to the members after it, Go's reader ignores it.
          if (records.has(key)) throw this.error(`PAX global header sets "${key}", which extractors read differently`);
        }
        for (const [k, v] of records) this.globalPax.set(k, v);
        break;
      }
      default:
        throw new Error('TarHeaderDecoder.extension called without an extension header');
    }
  }

  /** Call at the end of the bytes: fails if extension headers were left without their member. */
  finish(offset: number): void {
    if (this.pendingKinds.size > 0) throw new TarFormatError('archive ends after an extended header', offset);
  }

  private error(what: string): TarFormatError {
    return new TarFormatError(what, this.offset);
  }
}

/** Bytes from the start of a header to the next header, given its data size. */
export function spanOf(size: number): number {
  return BLOCK_SIZE + size + paddingFor(size);
}

const USTAR_MAGIC = Buffer.from('ustar\0', 'latin1');
const USTAR_VERSION = Buffer.from('00', 'latin1');

function isZero(b: Buffer): boolean {
  for (const byte of b) if (byte !== 0) return false;
  return true;
}

function cstring(h: Buffer, start: number, length: number): string {
  const field = h.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('latin1');
}

function checkChecksum(h: Buffer, offset: number): void {
  const stored = numeric(h, 148, 8, 'checksum', offset, 0, 8 * 255 * BLOCK_SIZE);
  if (!sumMatches(h, stored)) throw new TarFormatError('bad header checksum', offset);
}

/**
 * Whether a 512-byte block is a tar header by its checksum, read as the parser reads it (ADD's
 * test for an archive: Docker's Go tar reader takes a file for a tar when its first header's
 * checksum holds).
 */
export function headerChecksumMatches(h: Buffer): boolean {
  if (h.length < BLOCK_SIZE) return false;
  try {
    return sumMatches(h, numeric(h, 148, 8, 'checksum', 0, 0, 8 * 255 * BLOCK_SIZE));
  } catch {
    return false;
  }
}

/** Both the unsigned and the (historic) signed sums are accepted, as GNU tar and Go do. */
function sumMatches(h: Buffer, stored: number): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/**
 * A numeric header field: octal digits padded with spaces or NULs (nothing else, so `-1000`
 * or `12 34` are refused), or GNU base-256 (first byte 0x80 positive, 0xff negative).
 */
function numeric(h: Buffer, start: number, length: number, what: string, offset: number, min: number, max: number): number {
  const field = h.subarray(start, start + length);
  let value: number;
  if (field[0]! & 0x80) {
    const negative = (field[0]! & 0x40) !== 0;
    let n = 0n;
    for (let i = 0; i < field.length; i++) {
      let byte = negative ? field[i]! ^ 0xff : field[i]!;
      if (i === 0) byte &= 0x7f;
      n = (n << 8n) | BigInt(byte);
    }
    if (negative) n = -n - 1n;
    if (n > BigInt(max) || n < BigInt(min)) throw new TarFormatError(`${what} field out of range (${n})`, offset);
    value = Number(n);
  } else {
    const text = field.toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
    if (text === '') return 0;
    if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`${what} field is not a number (${JSON.stringify(text)})`, offset);
    value = parseInt(text, 8);
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TarFormatError(`${what} field out of range (${value})`, offset);
  }
  return value;
}

function decimal(text: string, what: string, offset: number, min: number, max: number): number {
  if (!/^[0-9]{1,16}$/.test(text)) throw new TarFormatError(`${what} is not a number (${JSON.stringify(text)})`, offset);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new TarFormatError(`${what} out of range (${text})`, offset);
  return value;
}

function paxTime(text: string, offset: number): number {
  const m = /^(-?[0-9]{1,15})(\.[0-9]*)?$/.exec(text);
  if (!m) throw new TarFormatError(`PAX mtime is not a time (${JSON.stringify(text)})`, offset);
  return Number(m[1]);
}

function longName(data: Buffer, offset: number): string {
  const nul = data.indexOf(0);
  const name = data.subarray(0, nul < 0 ? data.length : nul).toString('latin1');
  if (name === '') throw new TarFormatError('empty GNU long name', offset);
  return name;
}

/** Keys berth reads; a repeated one, or an empty or NUL-holding path, is ambiguous. */
const PAX_INTERPRETED = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'mtime']);

/**
 * PAX records, `"<len> <key>=<value>\n"` each, with nothing else in between or after (Go's
 * reader refuses anything else too). Values stay byte strings (latin1), like header names.
 */
function parsePax(data: Buffer, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  const bad = (why: string) => new TarFormatError(`malformed PAX header (${why})`, offset);
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0 || space - i > 8) throw bad('no record length');
    const lengthText = data.subarray(i, space).toString('latin1');
    if (!/^[1-9][0-9]*$/.test(lengthText)) throw bad(`record length ${JSON.stringify(lengthText)}`);
    const length = Number(lengthText);
    const end = i + length;
    if (end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) throw bad('record length does not fit');
    const record = data.subarray(space + 1, end - 1).toString('latin1');
    const eq = record.indexOf('=');
    if (eq <= 0) throw bad('record without a key');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key.startsWith('GNU.sparse.')) throw new TarFormatError('sparse members are not supported', offset);
    if (PAX_INTERPRETED.has(key)) {
      if (records.has(key)) throw bad(`"${key}" given twice`);
      if ((key === 'path' || key === 'linkpath') && (value === '' || value.includes('\0'))) {
        throw bad(`"${key}" is empty or holds a NUL byte`);
      }
    }
    records.set(key, value);
    i = end;
  }
  return records;
}

export type TarEvent =
  | { kind: 'member'; member: TarMember }
  | { kind: 'data'; chunk: Buffer }
  | { kind: 'member-end' };

export interface TarParserOptions {
  /** Refuse types other than files, links, directories, devices and fifos (layers). */
  strictTypes?: boolean;
  /** Refuse anything but zeros after the end-of-archive marker (layers: `tar -i` would read on). */
  zerosAfterEnd?: boolean;
}

/**
 * A tar parsed from bytes pushed as they arrive: `write` returns what those bytes completed
 * (members, their data, their ends); `end` checks the archive did not stop in the middle.
 * Every header moves the position forward by at least one block, so no input loops it.
 */
export class TarParser {
  private readonly decoder = new TarHeaderDecoder();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Archive position of the first pending byte. */
  private position = 0;
  private state: 'header' | 'extension' | 'data' | 'skip' | 'ended' = 'header';
  private remaining = 0;
  private padding = 0;
  private extensionSize = 0;
  /** Bytes seen after the first zero block. */
  private trailer = 0;

  constructor(private readonly options: TarParserOptions = {}) {}

  write(chunk: Uint8Array): TarEvent[] {
    const events: TarEvent[] = [];
    this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pendingBytes += chunk.byteLength;
    for (;;) {
      if (this.state === 'ended') {
        this.checkTrailer();
        return events;
      }
      if (this.state === 'data') {
        if (this.remaining === 0) {
          events.push({ kind: 'member-end' });
          this.state = 'skip';
          this.remaining = this.padding;
          continue;
        }
        if (this.pendingBytes === 0) return events;
        const piece = this.take(Math.min(this.remaining, this.firstLength()));
        this.remaining -= piece.length;
        events.push({ kind: 'data', chunk: piece });
        continue;
      }
      if (this.state === 'skip') {
        if (this.remaining === 0) {
          this.state = 'header';
          continue;
        }
        if (this.pendingBytes === 0) return events;
        this.remaining -= this.take(Math.min(this.remaining, this.firstLength())).length;
        continue;
      }
      if (this.state === 'extension') {
        if (this.pendingBytes < this.extensionSize) return events;
        this.decoder.extension(this.take(this.extensionSize));
        this.state = 'skip';
        this.remaining = paddingFor(this.extensionSize);
        continue;
      }
      if (this.pendingBytes < BLOCK_SIZE) return events;
      const at = this.position;
      const step = this.decoder.header(this.take(BLOCK_SIZE), at);
      switch (step.kind) {
        case 'end':
          this.state = 'ended';
          break;
        case 'extension':
          this.state = 'extension';
          this.extensionSize = step.size;
          break;
        case 'other':
          if (this.options.strictTypes) throw new TarFormatError(`unsupported member type '${printable(step.type)}'`, at);
          this.state = 'skip';
          this.remaining = step.size + paddingFor(step.size);
          break;
        case 'member':
          events.push({ kind: 'member', member: step.member });
          this.state = 'data';
          this.remaining = step.member.size;
          this.padding = paddingFor(step.member.size);
          break;
      }
    }
  }

  /** After the last chunk: the archive must not stop inside a member or its headers. */
  end(): void {
    if (this.state === 'ended') return;
    if (this.state === 'header' && this.pendingBytes === 0) {
      this.decoder.finish(this.position);
      return;
    }
    throw new TarFormatError(this.state === 'data' ? 'archive ends inside a member' : 'truncated archive', this.position + this.pendingBytes);
  }

  /**
   * After the first zero block: the next block must be zero too (Go's reader refuses anything
   * else); with `zerosAfterEnd`, everything after it (GNU tar -i would read on).
   */
  private checkTrailer(): void {
    while (this.pendingBytes > 0) {
      const piece = this.take(this.firstLength());
      const checked = this.options.zerosAfterEnd ? piece : piece.subarray(0, Math.max(0, BLOCK_SIZE - this.trailer));
      const bad = checked.findIndex((b) => b !== 0);
      if (bad >= 0) throw new TarFormatError('data after the end-of-archive marker', this.position - piece.length + bad);
      this.trailer += piece.length;
    }
  }

  private firstLength(): number {
    return this.pending[0]!.length;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    let out: Buffer;
    const first = this.pending[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.pending, this.pendingBytes);
      out = all.subarray(0, n);
      this.pending = all.length > n ? [all.subarray(n)] : [];
    }
    this.pendingBytes -= n;
    this.position += n;
    return out;
  }
}

function printable(type: string): string {
  return /^[\x21-\x7e]$/.test(type) ? type : `\\x${type.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
