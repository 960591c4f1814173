#!/usr/bin/env bash
# Cold RUN builds at once, with berth's default flags (issue 17): a tree of 3 images FROM one
# multi-platform base in a local registry (linux/amd64 and linux/386, which an amd64 kernel
# runs natively), each with a RUN that records which base it ran on. Each round is two berth
# processes building the whole tree for both platforms at once, sharing one fresh (cold)
# cache folder, as two CI jobs on one runner do. A build fails when berth exits non-zero or a
# RUN saw the other platform's base.
#
#   bench/parallel-runs.sh          # N=50 builds (25 rounds of two)
#   N=10 bench/parallel-runs.sh
#
# Prints: `N cold parallel builds with default flags: F failures`.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=parallel-runs
N=${N:-50}
work=$(mktemp -d /tmp/berth-bench-parallel-XXXXXX)
# shellcheck source=bench/lib/registry.sh
source bench/lib/registry.sh
trap 'stop_registry; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
root=$PWD
berth() { node "$root/bin/berth.js" "$@"; }
export SOURCE_DATE_EPOCH=1700000000

start_registry
ctx=$work/basectx
mkdir -p "$ctx/root/bin" "$ctx/root/tmp" "$ctx/amd64" "$ctx/386"
cp /bin/busybox "$ctx/root/bin/busybox"
ln -s busybox "$ctx/root/bin/sh"
echo amd64 >"$ctx/amd64/platform"
echo 386 >"$ctx/386/platform"
printf 'FROM scratch\nARG TARGETARCH\nCOPY root /\nCOPY ${TARGETARCH}/platform /platform\n' >"$ctx/Dockerfile"
XDG_CACHE_HOME=$work/setup berth build --dockerfile "$ctx/Dockerfile" -p linux/amd64 -p linux/386 --output "$work/base.tar" 2>/dev/null
XDG_CACHE_HOME=$work/setup berth push "$work/base.tar" "$reg/upstream/base:1" >/dev/null 2>&1

tree=$work/tree
for n in alpha beta gamma; do
  mkdir -p "$tree/images/$n"
  printf 'FROM %s/upstream/base:1\nRUN echo %s > /%s && cat /platform > /seen\n' "$reg" "$n" "$n" >"$tree/images/$n/Dockerfile"
done
git init -q "$tree"

# Whether every image of $1 (an output folder) saw its own platform's base.
right() {
  local n arch
  for n in alpha beta gamma; do
    for arch in amd64 386; do
      rm -rf "$work/chk" "$work/chk-root"
      skopeo copy -q --override-arch "$arch" "oci-archive:$1/$n.tar" "oci:$work/chk:x" >/dev/null 2>&1 || return 1
      umoci unpack --image "$work/chk:x" "$work/chk-root" >/dev/null 2>&1 || return 1
      [[ $(cat "$work/chk-root/rootfs/seen") == "$arch" ]] || return 1
    done
  done
}

failures=0
builds=0
round=0
while ((builds < N)); do
  round=$((round + 1))
  cache=$work/cache-$round
  pids=()
  for side in a b; do
    ((builds < N)) || break
    builds=$((builds + 1))
    (cd "$tree" && XDG_CACHE_HOME=$cache berth images build --all -p linux/amd64 -p linux/386 --output "$work/out-$round-$side" >"$work/log-$round-$side" 2>&1) &
    pids+=("$!:$side")
  done
  for p in "${pids[@]}"; do
    if ! wait "${p%%:*}" || ! right "$work/out-$round-${p##*:}"; then
      failures=$((failures + 1))
      echo "$bench: round $round, build ${p##*:} failed: $(tail -n 1 "$work/log-$round-${p##*:}")" >&2
    fi
  done
  [[ -n ${KEEP:-} ]] || rm -rf "$cache" "$work"/out-"$round"-*
done
echo "$N cold parallel builds with default flags: $failures failures"
