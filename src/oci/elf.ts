/**
 * What machine an ELF file is for, from its first 20 bytes, and whether that is an image
 * platform's: so that an x86-64 program in an arm64 image is caught when it is added, not
 * when it fails to start (`exec format error`). Pure: the caller reads the bytes.
 *
 *   const elf = describeElf(head);            // undefined: not an ELF file
 *   if (elf && !elfMatchesPlatform(elf, p))   // "ELF 64-bit LSB x86-64 (linux/amd64)"
 */
import type { Platform } from './platform.js';

/** Bytes describeElf needs: e_ident (16), e_type (2), e_machine (2). */
export const ELF_HEADER_BYTES = 20;

export interface ElfInfo {
  bits: 32 | 64;
  /** Byte order: LSB (little-endian) or MSB (big-endian). */
  order: 'LSB' | 'MSB';
  /** e_machine. */
  machine: number;
}

/** e_machine values of the architectures images are built for. */
const EM = { i386: 3, mips: 8, ppc: 20, ppc64: 21, s390: 22, arm: 40, x86_64: 62, aarch64: 183, riscv: 243, loongarch: 258 } as const;

const MACHINE_NAMES = new Map<number, string>([
  [EM.i386, 'Intel 80386'],
  [EM.mips, 'MIPS'],
  [EM.ppc, 'PowerPC'],
  [EM.ppc64, '64-bit PowerPC'],
  [EM.s390, 'IBM S/390'],
  [EM.arm, 'ARM'],
  [EM.x86_64, 'x86-64'],
  [EM.aarch64, 'ARM aarch64'],
  [EM.riscv, 'RISC-V'],
  [EM.loongarch, 'LoongArch'],
]);

/** What an ELF file for each OCI architecture has: machine, class and byte order. */
const ARCH_ELF: Record<string, ElfInfo> = {
  amd64: { machine: EM.x86_64, bits: 64, order: 'LSB' },
  arm64: { machine: EM.aarch64, bits: 64, order: 'LSB' },
  arm: { machine: EM.arm, bits: 32, order: 'LSB' },
  '386': { machine: EM.i386, bits: 32, order: 'LSB' },
  ppc64le: { machine: EM.ppc64, bits: 64, order: 'LSB' },
  ppc64: { machine: EM.ppc64, bits: 64, order: 'MSB' },
  s390x: { machine: EM.s390, bits: 64, order: 'MSB' },
  riscv64: { machine: EM.riscv, bits: 64, order: 'LSB' },
  mips64le: { machine: EM.mips, bits: 64, order: 'LSB' },
  mips64: { machine: EM.mips, bits: 64, order: 'MSB' },
  mipsle: { machine: EM.mips, bits: 32, order: 'LSB' },
  mips: { machine: EM.mips, bits: 32, order: 'MSB' },
  loong64: { machine: EM.loongarch, bits: 64, order: 'LSB' },
};

/** The ELF header's facts, or undefined when `bytes` do not start an ELF file (or are too short). */
export function describeElf(bytes: Uint8Array): ElfInfo | undefined {
  if (bytes.length < ELF_HEADER_BYTES) return undefined;
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  const cls = bytes[4];
  const data = bytes[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const machine = data === 1 ? bytes[18]! | (bytes[19]! << 8) : (bytes[18]! << 8) | bytes[19]!;
  return { bits: cls === 1 ? 32 : 64, order: data === 1 ? 'LSB' : 'MSB', machine };
}

/** Whether an ELF file of `elf` runs on `platform` (machine, class and byte order; arm variants are not told apart). */
export function elfMatchesPlatform(elf: ElfInfo, platform: Platform): boolean {
  const want = ARCH_ELF[platform.architecture];
  return platform.os === 'linux' && want !== undefined && want.machine === elf.machine && want.bits === elf.bits && want.order === elf.order;
}

/** The Linux platform an ELF file is for, when one is (`linux/arm64`), else undefined. */
export function elfPlatform(elf: ElfInfo): string | undefined {
  for (const [arch, want] of Object.entries(ARCH_ELF)) {
    if (want.machine === elf.machine && want.bits === elf.bits && want.order === elf.order) return `linux/${arch}`;
  }
  return undefined;
}

/** As `file` says it, plus the platform: `ELF 64-bit LSB x86-64 (linux/amd64)`. */
export function formatElf(elf: ElfInfo): string {
  const machine = MACHINE_NAMES.get(elf.machine) ?? `machine ${elf.machine}`;
  const platform = elfPlatform(elf);
  return `ELF ${elf.bits}-bit ${elf.order} ${machine}${platform ? ` (${platform})` : ''}`;
}
