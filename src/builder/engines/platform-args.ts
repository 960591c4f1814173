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
