/**
 * Encoding of one tar header, ustar format, the way reproducible builders write it: names
 * split into prefix/name when they fit, a PAX extended header only for what ustar cannot
 * hold (long or non-ASCII names, huge sizes or ids), empty uname/gname, zero device numbers.
 */

export const BLOCK_SIZE = 512;

export type Typeflag = '0' | '1' | '2' | '5';

export interface HeaderFields {
  /** Archive path; a directory's ends with '/'. */
  name: string;
  typeflag: Typeflag;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}

const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
const MAX_OCTAL_7 = 0o7777777; // mode, uid, gid: 7 digits + NUL
const MAX_OCTAL_11 = 0o77777777777; // size, mtime: 11 digits + NUL
const PAX_HEADER_NAME = 'PaxHeader';

/** The bytes that introduce one entry: its ustar header, preceded by a PAX header if needed. */
export function encodeHeader(fields: HeaderFields): Buffer {
  const pax = new Map<string, string>();
  const { name, prefix } = splitName(fields.name, pax);
  const linkname = fitString(fields.linkname, NAME_SIZE, 'linkpath', pax);
  const size = fitNumber(fields.size, MAX_OCTAL_11, 'size', pax);
  const mtime = fitNumber(fields.mtime, MAX_OCTAL_11, 'mtime', pax);
  const uid = fitNumber(fields.uid, MAX_OCTAL_7, 'uid', pax);
  const gid = fitNumber(fields.gid, MAX_OCTAL_7, 'gid', pax);

  const header = ustarBlock({ name, prefix, typeflag: fields.typeflag, mode: fields.mode, uid, gid, size, mtime, linkname });
  if (pax.size === 0) return header;

  const records = encodePaxRecords(pax);
  const paxHeader = ustarBlock({
    name: PAX_HEADER_NAME,
    prefix: '',
    typeflag: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: 0,
    linkname: '',
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(paddingFor(records.length)), header]);
}

/** Zero bytes needed after `size` bytes of content to reach the next block. */
export function paddingFor(size: number): number {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? 0 : BLOCK_SIZE - rest;
}

/** One ustar block's fields: a header's, split name/prefix, or a pax extended header ('x'). */
type UstarFields = Omit<HeaderFields, 'typeflag'> & { prefix: string; typeflag: Typeflag | 'x' };

function ustarBlock(f: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  block.write(f.name, 0, NAME_SIZE, 'ascii');
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 108, 8, f.uid);
  writeOctal(block, 116, 8, f.gid);
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, f.mtime);
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  block.write(f.typeflag, 156, 1, 'ascii');
  block.write(f.linkname, 157, NAME_SIZE, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  // uname (265) and gname (297) stay empty
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  block.write(f.prefix, 345, PREFIX_SIZE, 'ascii');

  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

/** `width - 1` zero-padded octal digits and a NUL. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'ascii');
}

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

/** A deterministic ASCII stand-in for the ustar field when the real value goes to PAX. */
function asciiStandIn(s: string, max: number): string {
  return s.replace(/[^\x01-\x7f]/g, '_').slice(0, max);
}

function fitString(value: string, max: number, paxKey: string, pax: Map<string, string>): string {
  if (isAscii(value) && value.length <= max) return value;
  pax.set(paxKey, value);
  return asciiStandIn(value, max);
}

function fitNumber(value: number, max: number, paxKey: string, pax: Map<string, string>): number {
  if (value <= max) return value;
  pax.set(paxKey, String(value));
  return 0;
}

/** ustar's prefix/name split (at the last '/' that makes both parts fit), else PAX `path`. */
function splitName(path: string, pax: Map<string, string>): { name: string; prefix: string } {
  if (isAscii(path) && path.length <= NAME_SIZE) return { name: path, prefix: '' };
  if (isAscii(path)) {
    let end = Math.min(path.length, PREFIX_SIZE + 1);
    if (end === path.length && path.endsWith('/')) end--;
    const i = path.lastIndexOf('/', end - 1);
    const nameLength = path.length - i - 1;
    if (i > 0 && i <= PREFIX_SIZE && nameLength > 0 && nameLength <= NAME_SIZE) {
      return { prefix: path.slice(0, i), name: path.slice(i + 1) };
    }
  }
  pax.set('path', path);
  return { name: asciiStandIn(path, NAME_SIZE), prefix: '' };
}

/** PAX records, sorted by key: `"<length> <key>=<value>\n"`, the length counting itself. */
function encodePaxRecords(pax: Map<string, string>): Buffer {
  const keys = [...pax.keys()].sort();
  const records = keys.map((key) => {
    const body = ` ${key}=${pax.get(key)}\n`;
    const bodyLength = Buffer.byteLength(body);
    let length = bodyLength + String(bodyLength).length;
    if (String(length).length + bodyLength !== length) length = bodyLength + String(length).length;
    return `${length}${body}`;
  });
  return Buffer.from(records.join(''), 'utf8');
}
