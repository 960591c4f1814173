/**
 * Whether this machine can RUN a stage's programs for a platform: natively (its own, or one
 * its kernel runs as well: 386 on amd64, arm on arm64), or through an emulator registered in
 * binfmt_misc (Debian's qemu-user-static with binfmt-support registers one per architecture,
 * matching the ELF header's class, byte order and machine). Checked before any work, so a
 * missing emulator is one line naming what to install, not `exec format error` deep in buildah.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPlatform, type Platform } from '../oci/platform.js';

/** ELF class (1: 32-bit, 2: 64-bit), byte order (1: little, 2: big), e_machine, and qemu's name, per GOARCH. */
const ELF: Record<string, { cls: number; data: number; machine: number; qemu: string }> = {
  amd64: { cls: 2, data: 1, machine: 62, qemu: 'x86_64' },
  '386': { cls: 1, data: 1, machine: 3, qemu: 'i386' },
  arm64: { cls: 2, data: 1, machine: 183, qemu: 'aarch64' },
  arm: { cls: 1, data: 1, machine: 40, qemu: 'arm' },
  ppc64le: { cls: 2, data: 1, machine: 21, qemu: 'ppc64le' },
  ppc64: { cls: 2, data: 2, machine: 21, qemu: 'ppc64' },
  s390x: { cls: 2, data: 2, machine: 22, qemu: 's390x' },
  riscv64: { cls: 2, data: 1, machine: 243, qemu: 'riscv64' },
  mips64le: { cls: 2, data: 1, machine: 8, qemu: 'mips64el' },
  loong64: { cls: 2, data: 1, machine: 258, qemu: 'loongarch64' },
};

/** Architectures a host runs without an emulator, besides its own. */
const ALSO_NATIVE: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'] };

export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  offset: number;
  magic: Buffer;
  mask: Buffer;
}

/** One /proc/sys/fs/binfmt_misc entry's text, parsed; undefined for an extension entry (no magic). */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry | undefined {
  const field = (k: string) => new RegExp(`^${k}[: ]\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const magic = field('magic');
  if (!magic) return undefined;
  const mask = field('mask');
  return {
    name,
    enabled: /^enabled$/m.test(text),
    interpreter: field('interpreter') ?? '',
    offset: Number(field('offset') ?? 0),
    magic: Buffer.from(magic, 'hex'),
    mask: mask ? Buffer.from(mask, 'hex') : Buffer.alloc(magic.length / 2, 0xff),
  };
}

/** A minimal ELF header of `arch`'s executables (what the kernel matches binfmt entries against). */
function elfHeader(arch: string): Buffer | undefined {
  const e = ELF[arch];
  if (!e) return undefined;
  const h = Buffer.alloc(20);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = e.cls;
  h[5] = e.data;
  h[6] = 1;
  if (e.data === 1) {
    h.writeUInt16LE(2, 16);
    h.writeUInt16LE(e.machine, 18);
  } else {
    h.writeUInt16BE(2, 16);
    h.writeUInt16BE(e.machine, 18);
  }
  return h;
}

/** The enabled entry that would run `arch`'s executables, if any. */
export function emulatorFor(arch: string, entries: readonly BinfmtEntry[]): BinfmtEntry | undefined {
  const header = elfHeader(arch);
  if (!header) return undefined;
  return entries.find((en) => {
    if (!en.enabled || en.offset + en.magic.length > header.length) return false;
    for (let i = 0; i < en.magic.length; i++) {
      const m = en.mask[i] ?? 0xff;
      if ((header[en.offset + i]! & m) !== (en.magic[i]! & m)) return false;
    }
    return true;
  });
}

export type BinfmtState = { mounted: false } | { mounted: true; enabled: boolean; entries: BinfmtEntry[] };

/** What /proc/sys/fs/binfmt_misc holds here (`dir` for tests). */
export function readBinfmt(dir = '/proc/sys/fs/binfmt_misc'): BinfmtState {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { mounted: false };
  }
  if (!names.includes('status')) return { mounted: false };
  const enabled = readFileSync(join(dir, 'status'), 'utf8').trim() === 'enabled';
  const entries: BinfmtEntry[] = [];
  for (const n of names) {
    if (n === 'status' || n === 'register') continue;
    try {
      const e = parseBinfmtEntry(n, readFileSync(join(dir, n), 'utf8'));
      if (e) entries.push(e);
    } catch {
      // Removed meanwhile.
    }
  }
  return { mounted: true, enabled, entries };
}

/**
 * Why this machine cannot RUN programs for `platform`, as one line saying what to do; or
 * undefined when it can (natively, or through a registered emulator).
 */
export function cannotRun(platform: Platform, host: Platform, binfmt: BinfmtState): string | undefined {
  if (platform.os !== host.os) return `this machine (${formatPlatform(host)}) cannot run programs for ${formatPlatform(platform)}`;
  const arch = platform.architecture;
  if (arch === host.architecture || ALSO_NATIVE[host.architecture]?.includes(arch)) return undefined;
  const qemu = ELF[arch]?.qemu ?? arch;
  const install = `install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support)`;
  if (!binfmt.mounted) {
    return `RUN for ${formatPlatform(platform)} needs an emulator, and binfmt_misc is not mounted on this machine (${formatPlatform(host)}): ${install}, mount it (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) and register the emulators (update-binfmts --enable qemu-${qemu}); or build that stage FROM --platform=$BUILDPLATFORM`;
  }
  if (binfmt.enabled && emulatorFor(arch, binfmt.entries)) return undefined;
  return `RUN for ${formatPlatform(platform)} needs an emulator, and binfmt_misc has none enabled for it on this machine (${formatPlatform(host)}): ${install} and register it (update-binfmts --enable qemu-${qemu}); or build that stage FROM --platform=$BUILDPLATFORM`;
}
