#!/usr/bin/env bash
# A RUN for arm64 on an amd64 machine, two ways (docs/dockerfile.md): emulated (the arm64
# stage's RUN under qemu-user through binfmt_misc) and cross-compiled (the work done in a
# `FROM --platform=$BUILDPLATFORM` stage, natively, its result copied into the arm64 image).
# The work is the same countdown loop of 1,000,000,000 steps, as a hand-assembled static
# program for each architecture (bench/lib/loop-elf.mjs). Prints the CPU time of the loop
# alone both ways, then the wall time of each `berth build --dockerfile` (median of 3).
# Needs qemu-user-static registered in binfmt_misc (hack/install-deps.sh, .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bench=emulation
work=$(mktemp -d /tmp/berth-bench-emulation-XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/lib/registry.sh
source bench/lib/registry.sh
berth() { node "$root/bin/berth.js" "$@"; }
export SOURCE_DATE_EPOCH=1700000000 XDG_CACHE_HOME=$work/cache

node bench/lib/loop-elf.mjs "$work"
cpu() { /usr/bin/env time -f %U "$1" 2>&1 >/dev/null | tail -n 1; }
echo "loop of 1e9 steps, CPU seconds: native amd64 $(cpu "$work/loop-amd64"), arm64 under qemu $(cpu "$work/loop-arm64")"

mkdir -p "$work/arm/bin" "$work/amd/bin" "$work/emulated" "$work/cross"
cp "$work/loop-arm64" "$work/arm/bin/loop"
cp "$work/loop-amd64" "$work/amd/bin/loop"
berth build --base scratch --file "$work/arm:/" --platform linux/arm64 --output "$work/arm.tar" 2>/dev/null
berth build --base scratch --file "$work/amd:/" --platform linux/amd64 --output "$work/amd.tar" 2>/dev/null
printf 'FROM base\nRUN ["/bin/loop"]\n' >"$work/emulated/Dockerfile"
printf 'FROM --platform=$BUILDPLATFORM tools AS build\nRUN ["/bin/loop"]\nFROM base\nCOPY --from=build /bin/loop /built\n' >"$work/cross/Dockerfile"

emulated=$(for i in 1 2 3; do timed berth build --dockerfile "$work/emulated/Dockerfile" --build-context "base=$work/arm.tar" -p linux/arm64 --output "$work/e.tar"; done | median)
cross=$(for i in 1 2 3; do timed berth build --dockerfile "$work/cross/Dockerfile" --build-context "base=$work/arm.tar" --build-context "tools=$work/amd.tar" -p linux/arm64 --output "$work/c.tar"; done | median)
echo "berth build for linux/arm64, wall ms (median of 3): emulated RUN $emulated, cross-compiled RUN $cross"
