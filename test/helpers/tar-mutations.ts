/**
 * Mutations of real tarballs for the fuzz tests: truncation, flipped bytes, rewritten header
 * fields (with or without a fixed checksum), duplicated and reordered members, extension
 * headers slipped in. Each is plain data (so fast-check can shrink and print it, and a failure
 * can be kept as a regression case) applied by `mutateTar`.
 */
import fc from 'fast-check';

const BLOCK = 512;

/** A member of a well-formed tar: where its first header starts and how many bytes it spans. */
export interface Span {
  offset: number;
  length: number;
}

/** Spans of the members of a well-formed ustar tar (as berth writes it), end marker excluded. */
export function memberSpans(tar: Buffer): Span[] {
  const spans: Span[] = [];
  let pos = 0;
  let start = 0;
  while (pos + BLOCK <= tar.length && tar.subarray(pos, pos + BLOCK).some((b) => b !== 0)) {
    const size = parseInt(tar.subarray(pos + 124, pos + 136).toString('latin1').replace(/\0.*$/, '').trim() || '0', 8);
    const type = String.fromCharCode(tar[pos + 156]!);
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L' || type === 'K') continue; // belongs to the next member
    spans.push({ offset: start, length: pos - start });
    start = pos;
  }
  return spans;
}

export const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 8],
  prefix: [345, 155],
} as const;
export type Field = keyof typeof FIELDS;

export type TarMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'field'; member: number; field: Field; value: number[]; fixChecksum: boolean }
  | { kind: 'duplicate'; member: number; before: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'extension'; member: number; type: 'x' | 'g' | 'L' | 'K'; data: string; size?: string }
  | { kind: 'append'; bytes: number[] };

/** Values a numeric or name field is rewritten with: hostile ones first, then noise. */
const fieldValue = fc.oneof(
  fc.constantFrom(
    '-1000',
    '-1',
    '77777777777',
    '7777777777777',
    '0',
    '',
    '   12 34',
    '1e3',
    '0x100',
    '99999999',
    '../../evil',
    '/etc/passwd',
    'x\nname',
    '5',
    'x',
    'g',
    'L',
    '1',
    '2',
    'S',
  ).map((s) => [...Buffer.from(s, 'latin1')]),
  fc.constantFrom(
    '80 00 00 00 00 00 00 00 00 00 10 00', // base-256 4096
    'ff ff ff ff ff ff ff ff ff ff fc 18', // base-256 -1000
    '80 7f ff ff ff ff ff ff ff ff ff ff', // base-256 beyond 2^53
  ).map((hex) => [...Buffer.from(hex.replace(/ /g, ''), 'hex')]),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 }),
);

const extensionData = fc.oneof(
  fc.constantFrom(
    '13 size=-100\n',
    '20 size=99999999999\n',
    '12 size=1e3\n',
    '19 path=../../evil\n',
    '14 path=/abs\n',
    '21 linkpath=../../..\n',
    '9 path=\n',
    '30 GNU.sparse.name=whatever\n',
    '99 path=wrong-length\n',
    '5 x=\n',
    '../../evil',
    'index.json',
    'oci-layout',
  ),
  fc.string({ maxLength: 40 }),
);

/** A random mutation of a tar with `members` members and `length` bytes. */
export function tarMutation(members: number, length: number): fc.Arbitrary<TarMutation> {
  const member = fc.integer({ min: 0, max: Math.max(0, members - 1) });
  return fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.integer({ min: 0, max: length - 1 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({
      kind: fc.constant('field' as const),
      member,
      field: fc.constantFrom(...(Object.keys(FIELDS) as Field[])),
      value: fieldValue,
      fixChecksum: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('duplicate' as const), member, before: member }),
    fc.record({ kind: fc.constant('swap' as const), a: member, b: member }),
    fc.record({
      kind: fc.constant('extension' as const),
      member,
      type: fc.constantFrom('x' as const, 'g' as const, 'L' as const, 'K' as const),
      data: extensionData,
      size: fc.option(fc.constantFrom('-1000', '77777777777', '1', '0'), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 1024 }) }),
  );
}

/** A header block with a correct checksum. */
export function headerBlock(name: string, type: string, size: number, sizeText?: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name.slice(0, 100), 0, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write((sizeText ?? size.toString(8).padStart(11, '0')).slice(0, 11).padEnd(11, ' ') + '\0', 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  fixChecksum(h);
  return h;
}

export function fixChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK)]);

/** Applies `m` to a copy of `tar`. */
export function mutateTar(tar: Buffer, m: TarMutation): Buffer {
  const spans = memberSpans(tar);
  const span = (i: number) => spans[Math.min(i, spans.length - 1)]!;
  const body = (s: Span) => tar.subarray(s.offset, s.offset + s.length);
  const end = spans.length ? span(spans.length - 1).offset + span(spans.length - 1).length : 0;
  const rebuild = (parts: Buffer[]) => Buffer.concat([...parts, tar.subarray(end)]);
  switch (m.kind) {
    case 'truncate':
      return Buffer.from(tar.subarray(0, m.at));
    case 'flip': {
      const out = Buffer.from(tar);
      out[m.at] = out[m.at]! ^ m.xor;
      return out;
    }
    case 'field': {
      const out = Buffer.from(tar);
      const s = span(m.member);
      // the member's own header: its last header block before the data (after any x/L/K)
      const header = lastHeaderOffset(out, s);
      const [off, len] = FIELDS[m.field];
      out.fill(0, header + off, header + off + len);
      Buffer.from(m.value).copy(out, header + off, 0, len);
      if (m.fixChecksum && m.field !== 'checksum') fixChecksum(out.subarray(header, header + BLOCK));
      return out;
    }
    case 'duplicate': {
      const parts = spans.map(body);
      parts.splice(Math.min(m.before, parts.length), 0, body(span(m.member)));
      return rebuild(parts);
    }
    case 'swap': {
      const parts = spans.map(body);
      const a = Math.min(m.a, parts.length - 1);
      const b = Math.min(m.b, parts.length - 1);
      [parts[a], parts[b]] = [parts[b]!, parts[a]!];
      return rebuild(parts);
    }
    case 'extension': {
      const data = Buffer.from(m.data, 'latin1');
      const ext = Buffer.concat([headerBlock('././@Ext', m.type, data.length, m.size), pad(data)]);
      const parts = spans.map(body);
      parts.splice(Math.min(m.member, parts.length), 0, ext);
      return rebuild(parts);
    }
    case 'append':
      return Buffer.concat([tar, Buffer.from(m.bytes)]);
  }
}

function lastHeaderOffset(tar: Buffer, s: Span): number {
  let pos = s.offset;
  for (;;) {
    const type = String.fromCharCode(tar[pos + 156]!);
    if (type !== 'x' && type !== 'L' && type !== 'K') return pos;
    const size = parseInt(tar.subarray(pos + 124, pos + 136).toString('latin1').replace(/\0.*$/, '').trim() || '0', 8);
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
}
