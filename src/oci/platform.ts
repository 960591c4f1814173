import { UsageError } from '../errors.js';

/** A platform as the OCI image index describes one. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'plan9', 'android', 'ios', 'js', 'wasip1']);

/** Architectures (GOARCH names, as images use) and the variants each admits. A Map keeps '386' in its place. */
const KNOWN_ARCH = new Map<string, readonly string[]>([
  ['amd64', ['v1', 'v2', 'v3', 'v4']],
  ['arm64', ['v8', 'v8.1', 'v8.2', 'v8.3', 'v8.4', 'v8.5', 'v8.6', 'v8.7', 'v8.8', 'v8.9', 'v9', 'v9.1', 'v9.2', 'v9.3', 'v9.4', 'v9.5']],
  ['arm', ['v5', 'v6', 'v7', 'v8']],
  ['386', []],
  ['ppc64le', []],
  ['ppc64', []],
  ['s390x', []],
  ['riscv64', []],
  ['mips64le', []],
  ['mips64', []],
  ['mipsle', []],
  ['mips', []],
  ['loong64', []],
  ['wasm', []],
]);

/** Common aliases (uname and Debian names) for architectures. */
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

/**
 * Parse `os/arch[/variant]` (`linux/arm/v7`, `linux/arm64`). Unknown systems, architectures and
 * variants are errors that list what is known, so a typo fails before any work is done.
 */
export function parsePlatform(text: string, what = '--platform'): Platform {
  // buildx's habit: one flag, a comma list.
  if (text.includes(',')) {
    const each = text.split(',').filter(Boolean);
    throw new UsageError('BAD_PLATFORM', `${what}: "${text}" is several platforms: give one per flag (${each.map((p) => `${what} ${p}`).join(' ')}), not buildx's comma list`);
  }
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new UsageError('BAD_PLATFORM', `${what}: "${text}" is not a platform; write os/arch[/variant], e.g. linux/arm64 or linux/arm/v7`);
  }
  const [os, rawArch, variant] = parts as [string, string, string | undefined];
  if (!KNOWN_OS.has(os)) {
    throw new UsageError('BAD_PLATFORM', `${what}: unknown operating system "${os}" in "${text}" (known: ${[...KNOWN_OS].join(', ')})`);
  }
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  const variants = KNOWN_ARCH.get(architecture);
  if (!variants) {
    throw new UsageError('BAD_PLATFORM', `${what}: unknown architecture "${rawArch}" in "${text}" (known: ${[...KNOWN_ARCH.keys()].join(', ')})`);
  }
  if (variant !== undefined && !variants.includes(variant)) {
    const known = variants.length ? `known for ${architecture}: ${variants.join(', ')}` : `${architecture} has no variants`;
    throw new UsageError('BAD_PLATFORM', `${what}: unknown variant "${variant}" in "${text}" (${known})`);
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * The variant a platform means when it names none, as containerd normalises: arm64 is v8,
 * arm is v7, amd64 is v1.
 */
function effectiveVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  switch (p.architecture) {
    case 'arm64':
      return 'v8';
    case 'arm':
      return 'v7';
    case 'amd64':
      return 'v1';
    default:
      return undefined;
  }
}

/** Whether an image for `have` is what was asked for with `want` (exact os, arch and variant after normalising). */
export function platformMatches(want: Platform, have: Platform): boolean {
  return want.os === have.os && want.architecture === have.architecture && effectiveVariant(want) === effectiveVariant(have);
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The canonical order of platforms in an index: by os, architecture, variant, os.version,
 * then os.features, each compared by code unit (an absent field first). The same set of
 * images then always gives the same index, whatever order they were named in.
 */
export function comparePlatforms(a: Platform, b: Platform): number {
  return (
    byCodeUnit(a.os, b.os) ||
    byCodeUnit(a.architecture, b.architecture) ||
    byCodeUnit(a.variant ?? '', b.variant ?? '') ||
    byCodeUnit(a['os.version'] ?? '', b['os.version'] ?? '') ||
    compareFeatures(a['os.features'], b['os.features'])
  );
}

function compareFeatures(a: readonly string[] = [], b: readonly string[] = []): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = byCodeUnit(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
