import { formatPlatform, type Platform } from '../../oci/platform.js';

/** node's process.arch → the GOARCH name images use. */
const NODE_ARCH: Record<string, Platform> = {
  x64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  ia32: { os: 'linux', architecture: '386' },
  ppc64: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  loong64: { os: 'linux', architecture: 'loong64' },
};

/** The platform RUN steps execute on natively: this machine's (BUILDPLATFORM). */
export function hostPlatform(arch: string = process.arch): Platform {
  return NODE_ARCH[arch] ?? { os: 'linux', architecture: arch };
}

/**
 * Docker's predefined platform args for a build of `target` on `build`. buildah 1.28 does
 * not define BUILDPLATFORM and friends itself (a `FROM --platform=$BUILDPLATFORM` would then
 * fall back to the target's platform), so the engines pass them all; the caller's own
 * values win.
 */
export function platformArgs(target: Platform, build: Platform = hostPlatform()): Record<string, string> {
  return {
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
  };
}

/** Proxy args Docker and buildah pass to RUN without a declaration (and never warn about). */
const UNDECLARED_OK = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/**
 * The build args an engine is given: the platform args and the caller's, each only if the
 * Dockerfile declares it in an ARG (or, for a platform arg, a FROM line refers to it: buildah
 * 1.28 does not define BUILDPLATFORM itself). An arg nobody reads would make buildah warn
 * `one or more build args were not consumed` on every build.
 */
export function engineArgs(
  df: { metaArgs: { args: { name: string }[] }[]; stages: { instructions: { kind: string; args?: unknown }[] }[] },
  usedInFrom: (names: readonly string[]) => string[],
  target: Platform,
  buildArgs: Record<string, string>,
  build: Platform = hostPlatform(),
): Record<string, string> {
  const declared = new Set<string>();
  for (const a of df.metaArgs) for (const x of a.args) declared.add(x.name);
  for (const s of df.stages) for (const i of s.instructions) if (i.kind === 'ARG') for (const x of i.args as { name: string }[]) declared.add(x.name);
  const platform = platformArgs(target, build);
  for (const n of usedInFrom(Object.keys(platform))) declared.add(n);
  const all = { ...platform, ...buildArgs };
  return Object.fromEntries(Object.entries(all).filter(([k]) => declared.has(k) || UNDECLARED_OK.includes(k)));
}
