#!/usr/bin/env node
// make-hello.mjs — emit tiny static "hello" ELF executables for every Linux
// platform berth's demo and tests use, with no compiler or assembler at all.
//
// Each program is hand-assembled machine code that does
//
//     write(1, "hello from berth on <os/arch[/variant]>\n", len);
//     exit(0);
//
// using the raw Linux syscall ABI of its architecture. Each file is one
// ELF header, one PT_LOAD program header (mapping the whole file, R+X), the
// code, and the message. No section headers, no libc, no interpreter.
//
// Usage:  node demo/hello/make-hello.mjs [outdir]
//         (default outdir: demo/hello/bin next to this script)
//
// Output is deterministic: same bytes on every run and every host.
// Plain Node ESM, no dependencies.

import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------
// ELF constants (System V gABI + per-arch psABI supplements)
// ---------------------------------------------------------------------------
const ELFCLASS32 = 1, ELFCLASS64 = 2;
const ELFDATA2LSB = 1, ELFDATA2MSB = 2;
const EV_CURRENT = 1;
const ELFOSABI_SYSV = 0;
const ET_EXEC = 2;
const PT_LOAD = 1;
const PF_X = 1, PF_R = 4;

const EM_ARM = 40;      // 0x28
const EM_X86_64 = 62;   // 0x3e
const EM_PPC64 = 21;    // 0x15
const EM_S390 = 22;     // 0x16 (also used for s390x / 64-bit)
const EM_AARCH64 = 183; // 0xb7
const EM_RISCV = 243;   // 0xf3

const EF_ARM_EABI_VER5 = 0x05000000;
const EF_PPC64_ABI_V2 = 2; // ELFv2 ABI: e_entry is the code address, no descriptors
const EF_RISCV_FLOAT_ABI_SOFT = 0; // and no EF_RISCV_RVC: plain 32-bit instructions only

// ---------------------------------------------------------------------------
// Little byte-buffer helpers
// ---------------------------------------------------------------------------
class Bytes {
  constructor(littleEndian) {
    this.le = littleEndian;
    this.parts = [];
    this.length = 0;
  }
  raw(buf) {
    const b = Buffer.from(buf);
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  u8(v) { return this.raw([v & 0xff]); }
  u16(v) { const b = Buffer.alloc(2); this.le ? b.writeUInt16LE(v) : b.writeUInt16BE(v); return this.raw(b); }
  u32(v) { const b = Buffer.alloc(4); this.le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0); return this.raw(b); }
  u64(v) { const b = Buffer.alloc(8); this.le ? b.writeBigUInt64LE(BigInt(v)) : b.writeBigUInt64BE(BigInt(v)); return this.raw(b); }
  addr(v, is64) { return is64 ? this.u64(v) : this.u32(v); }
  pad(align) { while (this.length % align) this.u8(0); return this; }
  toBuffer() { return Buffer.concat(this.parts); }
}

function check(cond, what) {
  if (!cond) throw new Error(`make-hello: ${what}`);
}

// Signed/unsigned range checks used by the encoders.
const fitsU = (v, bits) => Number.isInteger(v) && v >= 0 && v < 2 ** bits;
const fitsS = (v, bits) => Number.isInteger(v) && v >= -(2 ** (bits - 1)) && v < 2 ** (bits - 1);

// ---------------------------------------------------------------------------
// ELF writer: header + one PT_LOAD phdr + code + message.
//
// `arch.code(ctx)` returns an array of Buffers (one per instruction) given
// ctx = { codeAddr, msgAddr, msgLen }. Code size must not depend on the
// addresses (it doesn't: no instruction here has a short/long form), so we
// call it twice: once to learn the size, once with the real addresses.
// ---------------------------------------------------------------------------
function buildElf(arch, message) {
  const is64 = arch.class === ELFCLASS64;
  const le = arch.data === ELFDATA2LSB;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const codeOff = ehsize + phentsize; // 0x78 (64-bit) / 0x54 (32-bit); both 4-aligned
  const msg = Buffer.from(message, 'ascii');

  const codeAddr = arch.base + codeOff;
  // First pass with a placeholder message address (just past the code) to
  // learn the code size; instruction sizes never depend on the addresses.
  const sizeProbe = Buffer.concat(arch.code({ codeAddr, msgAddr: codeAddr + 0x40, msgLen: msg.length }));
  const msgOff = codeOff + sizeProbe.length;
  check(msgOff % (arch.msgAlign ?? 1) === 0, `${arch.name}: message misaligned`);
  const fileSize = msgOff + msg.length;
  const msgAddr = arch.base + msgOff;
  const code = Buffer.concat(arch.code({ codeAddr, msgAddr, msgLen: msg.length }));
  check(code.length === sizeProbe.length, `${arch.name}: code size changed`);

  const b = new Bytes(le);
  // --- e_ident ---
  b.raw([0x7f, 0x45, 0x4c, 0x46]);   // EI_MAG0..3 "\x7fELF"
  b.u8(arch.class);                  // EI_CLASS
  b.u8(arch.data);                   // EI_DATA
  b.u8(EV_CURRENT);                  // EI_VERSION
  b.u8(ELFOSABI_SYSV);               // EI_OSABI
  b.u8(0);                           // EI_ABIVERSION
  b.raw(Buffer.alloc(7));            // EI_PAD
  // --- rest of Elf{32,64}_Ehdr ---
  b.u16(ET_EXEC);                    // e_type
  b.u16(arch.machine);               // e_machine
  b.u32(EV_CURRENT);                 // e_version
  b.addr(codeAddr, is64);            // e_entry
  b.addr(ehsize, is64);              // e_phoff: phdr right after the header
  b.addr(0, is64);                   // e_shoff: no section headers
  b.u32(arch.flags);                 // e_flags
  b.u16(ehsize);                     // e_ehsize
  b.u16(phentsize);                  // e_phentsize
  b.u16(1);                          // e_phnum
  b.u16(shentsize);                  // e_shentsize
  b.u16(0);                          // e_shnum
  b.u16(0);                          // e_shstrndx (SHN_UNDEF)
  check(b.length === ehsize, 'ehdr size');
  // --- the single Elf{32,64}_Phdr: map the whole file at arch.base ---
  if (is64) {
    b.u32(PT_LOAD);                  // p_type
    b.u32(PF_R | PF_X);              // p_flags
    b.u64(0);                        // p_offset
    b.u64(arch.base);                // p_vaddr
    b.u64(arch.base);                // p_paddr
    b.u64(fileSize);                 // p_filesz
    b.u64(fileSize);                 // p_memsz
    b.u64(arch.align);               // p_align
  } else {
    b.u32(PT_LOAD);                  // p_type
    b.u32(0);                        // p_offset
    b.u32(arch.base);                // p_vaddr
    b.u32(arch.base);                // p_paddr
    b.u32(fileSize);                 // p_filesz
    b.u32(fileSize);                 // p_memsz
    b.u32(PF_R | PF_X);              // p_flags
    b.u32(arch.align);               // p_align
  }
  check(b.length === codeOff, 'phdr size');
  b.raw(code);
  check(b.length === msgOff, 'code offset');
  b.raw(msg);
  check(b.length === fileSize, 'file size');
  return b.toBuffer();
}

// In the per-arch code below, the hex next to each instruction is what this
// generator emits for it in the committed binaries: for the fixed-width ISAs
// (A64, A32, POWER, RISC-V) the 32-bit instruction word, most-significant
// byte first whatever the file's byte order; for x86-64 and s390x the bytes
// in memory order. Address/length-dependent fields show their actual values.
// All six were cross-checked with `llvm-mc --disassemble -triple=<arch>`.

// A 32-bit instruction word stored little-endian (A64, A32, ppc64le, RISC-V).
const wordLE = (w) => { const b = Buffer.alloc(4); b.writeUInt32LE(w >>> 0); return b; };

// ---------------------------------------------------------------------------
// x86-64 (Intel SDM vol. 2; Linux: rax=nr, rdi/rsi/rdx=args, `syscall`)
//   write = 1, exit = 60
// ---------------------------------------------------------------------------
const x86_64 = {
  name: 'x86_64', class: ELFCLASS64, data: ELFDATA2LSB, machine: EM_X86_64, flags: 0,
  base: 0x400000, align: 0x1000,
  code({ codeAddr, msgAddr, msgLen }) {
    const imm32 = (v) => { const b = Buffer.alloc(4); b.writeInt32LE(v); return b; };
    const out = [];
    out.push(Buffer.from([0xb8, 0x01, 0x00, 0x00, 0x00]));         // mov  eax, 1        (B8+rd id) SYS_write
    out.push(Buffer.from([0xbf, 0x01, 0x00, 0x00, 0x00]));         // mov  edi, 1        (B8+rd id) fd = stdout
    // lea rsi, [rip+disp32]: REX.W 8D /r, ModRM 00 110 101 (reg=rsi, rm=RIP-relative)
    // disp32 is relative to the end of this 7-byte instruction.
    const leaAddr = codeAddr + 10;
    const disp = msgAddr - (leaAddr + 7);
    check(fitsS(disp, 32), 'x86 lea disp');
    out.push(Buffer.concat([Buffer.from([0x48, 0x8d, 0x35]), imm32(disp)])); // lea rsi, [rip+msg]  48 8d 35 10 00 00 00
    out.push(Buffer.concat([Buffer.from([0xba]), imm32(msgLen)]));  // mov  edx, len      (B8+rd id) ba 20 00 00 00 (len = 32)
    out.push(Buffer.from([0x0f, 0x05]));                           // syscall
    out.push(Buffer.from([0xb8, 0x3c, 0x00, 0x00, 0x00]));         // mov  eax, 60       SYS_exit
    out.push(Buffer.from([0x31, 0xff]));                           // xor  edi, edi      status = 0
    out.push(Buffer.from([0x0f, 0x05]));                           // syscall
    return out;
  },
};

// ---------------------------------------------------------------------------
// AArch64 (Arm ARM, A64; Linux: x8=nr, x0..x2=args, `svc #0`)
//   write = 64, exit = 93
// ---------------------------------------------------------------------------
const a64 = {
  // MOVZ Xd, #imm16          sf=1 opc=10 100101 hw=00 imm16 Rd
  movz: (rd, imm) => { check(fitsU(imm, 16), 'movz imm'); return 0xd2800000 | (imm << 5) | rd; },
  // ADR Xd, label            op=0 immlo:2 10000 immhi:19 Rd ; label = PC + imm21
  adr: (rd, off) => { check(fitsS(off, 21), 'adr off'); const i = off & 0x1fffff; return 0x10000000 | ((i & 3) << 29) | ((i >> 2) << 5) | rd; },
  // SVC #imm16               11010100 000 imm16 000 01
  svc: (imm) => 0xd4000001 | (imm << 5),
};
const aarch64 = {
  name: 'aarch64', class: ELFCLASS64, data: ELFDATA2LSB, machine: EM_AARCH64, flags: 0,
  base: 0x400000, align: 0x10000,
  code({ codeAddr, msgAddr, msgLen }) {
    return [
      a64.movz(0, 1),                        // d2800020  mov  x0, #1        fd = stdout
      a64.adr(1, msgAddr - (codeAddr + 4)),  // 100000e1  adr  x1, msg        (msg = . + 28)
      a64.movz(2, msgLen),                   // d2800402  mov  x2, #len       (len = 32)
      a64.movz(8, 64),                       // d2800808  mov  x8, #64       SYS_write
      a64.svc(0),                            // d4000001  svc  #0
      a64.movz(0, 0),                        // d2800000  mov  x0, #0        status = 0
      a64.movz(8, 93),                       // d2800ba8  mov  x8, #93       SYS_exit
      a64.svc(0),                            // d4000001  svc  #0
    ].map(wordLE);
  },
};

// ---------------------------------------------------------------------------
// 32-bit ARM, A32 (ARM) state, EABI (Arm ARM; Linux EABI: r7=nr, r0..r2=args,
// `svc #0`). write = 4, exit = 1. All instructions use cond=AL (1110).
// Only ARMv4-era instructions are used, so it runs on any v5+ core incl. v7.
// ---------------------------------------------------------------------------
const a32 = {
  // MOV Rd, #imm8 (rotation 0)  cond 00 1 1101 S=0 Rn=0000 Rd imm12
  mov: (rd, imm) => { check(fitsU(imm, 8), 'arm mov imm'); return 0xe3a00000 | (rd << 12) | imm; },
  // ADD Rd, PC, #imm8 ("adr")   cond 00 1 0100 S=0 Rn=1111 Rd imm12 ; PC reads as insn+8
  adr: (rd, off) => { check(fitsU(off, 8), 'arm adr off'); return 0xe28f0000 | (rd << 12) | off; },
  // SVC #imm24                 cond 1111 imm24
  svc: (imm) => 0xef000000 | imm,
};
const arm = {
  name: 'arm', class: ELFCLASS32, data: ELFDATA2LSB, machine: EM_ARM, flags: EF_ARM_EABI_VER5,
  base: 0x10000, align: 0x10000,
  code({ codeAddr, msgAddr, msgLen }) {
    return [
      a32.mov(0, 1),                          // e3a00001  mov  r0, #1        fd = stdout
      a32.adr(1, msgAddr - (codeAddr + 4 + 8)), // e28f1014  add r1, pc, #20 (adr r1, msg)
      a32.mov(2, msgLen),                     // e3a02021  mov  r2, #len       (len = 33)
      a32.mov(7, 4),                          // e3a07004  mov  r7, #4        SYS_write
      a32.svc(0),                             // ef000000  svc  #0
      a32.mov(0, 0),                          // e3a00000  mov  r0, #0        status = 0
      a32.mov(7, 1),                          // e3a07001  mov  r7, #1        SYS_exit
      a32.svc(0),                             // ef000000  svc  #0
    ].map(wordLE);
  },
};

// ---------------------------------------------------------------------------
// POWER, 64-bit little-endian, ELFv2 (Power ISA v3; Linux: r0=nr,
// r3..r5=args, `sc`). write = 4, exit = 1.
// Instruction words are stored little-endian (ppc64le).
// ---------------------------------------------------------------------------
const ppc = {
  // ADDI RT,RA,SI  (li RT,SI when RA=0)   D-form: 14 | RT | RA | SI
  addi: (rt, ra, si) => { check(fitsS(si, 16), 'addi si'); return (14 << 26) | (rt << 21) | (ra << 16) | (si & 0xffff); },
  // ADDIS RT,RA,SI (lis RT,SI when RA=0)  D-form: 15 | RT | RA | SI
  addis: (rt, ra, si) => { check(fitsS(si, 16), 'addis si'); return (15 << 26) | (rt << 21) | (ra << 16) | (si & 0xffff); },
  // ORI RA,RS,UI                          D-form: 24 | RS | RA | UI
  ori: (ra, rs, ui) => { check(fitsU(ui, 16), 'ori ui'); return (24 << 26) | (rs << 21) | (ra << 16) | ui; },
  // SC (LEV=0)                            SC-form: 17 | ... | 1 | 0  => 0x44000002
  sc: () => 0x44000002,
};
const ppc64le = {
  name: 'ppc64le', class: ELFCLASS64, data: ELFDATA2LSB, machine: EM_PPC64, flags: EF_PPC64_ABI_V2,
  base: 0x10000000, align: 0x10000,
  code({ msgAddr, msgLen }) {
    // msgAddr < 0x7fff0000, so lis (sign-extending) + ori builds it exactly.
    check(msgAddr < 0x7fff0000, 'ppc address range');
    return [
      ppc.addi(0, 0, 4),                      // 38000004  li   r0, 4        SYS_write
      ppc.addi(3, 0, 1),                      // 38600001  li   r3, 1        fd = stdout
      ppc.addis(4, 0, msgAddr >>> 16),        // 3c801000  lis  r4, msg@h
      ppc.ori(4, 4, msgAddr & 0xffff),        // 6084009c  ori  r4, r4, msg@l  (msg = 0x1000009c)
      ppc.addi(5, 0, msgLen),                 // 38a00022  li   r5, len        (len = 34)
      ppc.sc(),                               // 44000002  sc
      ppc.addi(0, 0, 1),                      // 38000001  li   r0, 1        SYS_exit
      ppc.addi(3, 0, 0),                      // 38600000  li   r3, 0        status = 0
      ppc.sc(),                               // 44000002  sc
    ].map(wordLE);
  },
};

// ---------------------------------------------------------------------------
// z/Architecture (s390x), big-endian (z/Architecture Principles of Operation;
// Linux: `svc NR` for NR < 256, r2..r4=args). write = 4, exit = 1.
// Variable-length instructions (2/4/6 bytes), always big-endian.
// ---------------------------------------------------------------------------
const s390 = {
  // LGHI R1,I2   RI-a:  A7 | R1 | 9 | I2(16)
  lghi: (r, imm) => { check(fitsS(imm, 16), 'lghi imm'); const b = Buffer.alloc(4); b.writeUInt16BE(0xa709 | (r << 4)); b.writeInt16BE(imm, 2); return b; },
  // LARL R1,RI2  RIL-b: C0 | R1 | 0 | RI2(32) ; target = insn addr + 2*RI2
  larl: (r, off) => { check(off % 2 === 0 && fitsS(off / 2, 32), 'larl off'); const b = Buffer.alloc(6); b.writeUInt16BE(0xc000 | (r << 4)); b.writeInt32BE(off / 2, 2); return b; },
  // SVC I        I:     0A | I(8)
  svc: (n) => { check(fitsU(n, 8), 'svc n'); return Buffer.from([0x0a, n]); },
};
const s390x = {
  name: 's390x', class: ELFCLASS64, data: ELFDATA2MSB, machine: EM_S390, flags: 0,
  base: 0x1000000, align: 0x1000, msgAlign: 2,
  code({ codeAddr, msgAddr, msgLen }) {
    return [
      s390.lghi(2, 1),                        // a7290001      lghi %r2, 1     fd = stdout
      s390.larl(3, msgAddr - (codeAddr + 4)), // c03000000009  larl %r3, msg   (msg = . + 2*9)
      s390.lghi(4, msgLen),                   // a7490020      lghi %r4, len   (len = 32)
      s390.svc(4),                            // 0a04          svc  4          SYS_write
      s390.lghi(2, 0),                        // a7290000      lghi %r2, 0     status = 0
      s390.svc(1),                            // 0a01          svc  1          SYS_exit
    ];
  },
};

// ---------------------------------------------------------------------------
// RISC-V RV64I (RISC-V unprivileged ISA; Linux: a7=nr, a0..a2=args, `ecall`)
//   write = 64, exit = 93. Only base 32-bit encodings (no C extension).
// ---------------------------------------------------------------------------
const rv = {
  zero: 0, a0: 10, a1: 11, a2: 12, a7: 17,
  // ADDI rd,rs1,imm  I-type: imm[11:0] | rs1 | 000 | rd | 0010011
  addi: (rd, rs1, imm) => { check(fitsS(imm, 12), 'addi imm'); return ((imm & 0xfff) << 20) | (rs1 << 15) | (0 << 12) | (rd << 7) | 0x13; },
  // AUIPC rd,imm20   U-type: imm[31:12] | rd | 0010111
  auipc: (rd, imm20) => { check(fitsU(imm20, 20), 'auipc imm'); return (imm20 << 12) | (rd << 7) | 0x17; },
  // ECALL            000000000000 00000 000 00000 1110011
  ecall: () => 0x00000073,
};
const riscv64 = {
  name: 'riscv64', class: ELFCLASS64, data: ELFDATA2LSB, machine: EM_RISCV, flags: EF_RISCV_FLOAT_ABI_SOFT,
  base: 0x10000, align: 0x1000,
  code({ codeAddr, msgAddr, msgLen }) {
    const { zero, a0, a1, a2, a7 } = rv;
    return [
      rv.addi(a0, zero, 1),                   // 00100513  li    a0, 1       fd = stdout
      rv.auipc(a1, 0),                        // 00000597  auipc a1, 0       a1 = this insn's address
      rv.addi(a1, a1, msgAddr - (codeAddr + 4)), // 02058593 addi a1, a1, 32 (msg - auipc)
      rv.addi(a2, zero, msgLen),              // 02200613  li    a2, len       (len = 34)
      rv.addi(a7, zero, 64),                  // 04000893  li    a7, 64      SYS_write
      rv.ecall(),                             // 00000073  ecall
      rv.addi(a0, zero, 0),                   // 00000513  li    a0, 0       status = 0
      rv.addi(a7, zero, 93),                  // 05d00893  li    a7, 93      SYS_exit
      rv.ecall(),                             // 00000073  ecall
    ].map(wordLE);
  },
};

// ---------------------------------------------------------------------------
// Platforms -> files
// ---------------------------------------------------------------------------
export const PLATFORMS = [
  { platform: 'linux/amd64', file: 'hello-amd64', arch: x86_64 },
  { platform: 'linux/arm64', file: 'hello-arm64', arch: aarch64 },
  { platform: 'linux/arm/v7', file: 'hello-arm-v7', arch: arm },
  { platform: 'linux/ppc64le', file: 'hello-ppc64le', arch: ppc64le },
  { platform: 'linux/s390x', file: 'hello-s390x', arch: s390x },
  { platform: 'linux/riscv64', file: 'hello-riscv64', arch: riscv64 },
];

export function helloMessage(platform) {
  return `hello from berth on ${platform}\n`;
}

/** Build every binary in memory: [{ platform, file, bytes }]. */
export function buildAll() {
  return PLATFORMS.map(({ platform, file, arch }) => ({
    platform, file, bytes: buildElf(arch, helloMessage(platform)),
  }));
}

/** Write every binary to outDir with mode 0755; returns the written paths. */
export function writeAll(outDir) {
  mkdirSync(outDir, { recursive: true });
  return buildAll().map(({ file, bytes }) => {
    const p = join(outDir, file);
    writeFileSync(p, bytes);
    chmodSync(p, 0o755); // explicit, independent of umask and of a pre-existing file's mode
    return { path: p, size: bytes.length };
  });
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(here, 'bin'));
  for (const { path, size } of writeAll(outDir)) console.log(`${path} (${size} bytes)`);
}
