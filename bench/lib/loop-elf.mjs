// Writes two static Linux programs doing the same 1,000,000,000-step countdown loop and
// exiting 0: one for x86-64 (runs natively here), one for aarch64 (runs under qemu-user
// through binfmt_misc). Hand-assembled; no toolchain needed. Usage: node loop-elf.mjs DIR
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function elf(machine, code) {
  const base = 0x400000;
  const headers = 64 + 56;
  const total = headers + code.length;
  const h = Buffer.alloc(headers);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2;
  h[5] = 1;
  h[6] = 1;
  h.writeUInt16LE(2, 16);
  h.writeUInt16LE(machine, 18);
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(BigInt(base + headers), 24);
  h.writeBigUInt64LE(64n, 32);
  h.writeUInt16LE(64, 52);
  h.writeUInt16LE(56, 54);
  h.writeUInt16LE(1, 56);
  h.writeUInt32LE(1, 64);
  h.writeUInt32LE(5, 68);
  h.writeBigUInt64LE(BigInt(base), 80);
  h.writeBigUInt64LE(BigInt(base), 88);
  h.writeBigUInt64LE(BigInt(total), 96);
  h.writeBigUInt64LE(BigInt(total), 104);
  h.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([h, code]);
}

// x86-64: mov ecx,0x3b9a0000; l: dec rcx; jnz l; mov eax,60; xor edi,edi; syscall
const x86 = Buffer.from([0xb9, 0x00, 0x00, 0x9a, 0x3b, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05]);
// aarch64: movz x0,#0x3b9a,lsl 16; l: subs x0,x0,#1; b.ne l; mov x0,#0; mov x8,#93; svc #0
const a64 = Buffer.alloc(24);
[0xd2a77340, 0xf1000400, 0x54ffffe1, 0xd2800000, 0xd2800ba8, 0xd4000001].forEach((w, i) => a64.writeUInt32LE(w, i * 4));

const dir = process.argv[2];
writeFileSync(join(dir, 'loop-amd64'), elf(62, x86), { mode: 0o755 });
writeFileSync(join(dir, 'loop-arm64'), elf(183, a64), { mode: 0o755 });
