#!/usr/bin/env bash
# Benchmarks `berth build --dockerfile` (native engine) on a RUN-less Dockerfile that copies
# one big binary-like file (a real ELF repeated: bench/lib/binary-like.sh):
#   (a) berth build --dockerfile     native, no daemon
#   (b) buildah bud + buildah push oci-archive:   the same Dockerfile, the same kind of output
#       (--isolation chroot, vfs storage in a fresh --root/--runroot per run)
#   (c) berth build --file           the same file as one layer, no Dockerfile
#   (d) the cross-compile pattern (builder stage FROM --platform=$BUILDPLATFORM, final
#       FROM scratch + COPY --from=builder) for four platforms: one berth run building all
#       four at once, against four berth runs in a row
# Runs are interleaved and repeated; it prints min and median wall time and peak RSS
# (GNU time when installed, else bench/lib/time-cmd.mjs).
#
# Usage: bench/dockerfile.sh [RUNS]   (after `npm run build`)
# Env:   BENCH_MIB=256  BENCH_CROSS_MIB=64  TMPDIR (where the files go)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-5}
MIB=${BENCH_MIB:-256}
CROSS_MIB=${BENCH_CROSS_MIB:-64}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-df.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
BERTH=(node "$REPO/bin/berth.js")

# shellcheck source=bench/lib/timing.sh
source "$REPO/bench/lib/timing.sh"
# shellcheck source=bench/lib/binary-like.sh
source "$REPO/bench/lib/binary-like.sh"

[[ -f $REPO/dist/lean/berth.cjs ]] || { echo "run 'npm run build' first" >&2; exit 1; }
command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }

CTX=$WORK/ctx
mkdir -p "$CTX/bin"
make_binary "$MIB" "$CTX/app"
chmod 0755 "$CTX/app"
cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY app /app/file
ENTRYPOINT ["/app/file"]
DOCKERFILE
# The cross-compile pattern, natively: the "compiled" per-arch binaries come from the context.
for arch in amd64 arm64 arm ppc64le; do make_binary "$CROSS_MIB" "$CTX/bin/app-$arch"; printf %s "$arch" >>"$CTX/bin/app-$arch"; done
cat >"$CTX/cross.Dockerfile" <<'DOCKERFILE'
FROM --platform=$BUILDPLATFORM scratch AS builder
ARG TARGETARCH
COPY bin/app-${TARGETARCH} /out/app
FROM scratch
COPY --from=builder /out/app /app
ENTRYPOINT ["/app"]
DOCKERFILE
printf 'bin/\n' >"$CTX/Dockerfile.dockerignore"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
echo "tools:   node $(node --version), $(buildah --version), $( [[ -x /usr/bin/time ]] && echo 'GNU time' || echo 'time-cmd.mjs')"
echo "files:   $WORK ($(df -T "$WORK" | awk 'NR == 2 {print $2}'))"
echo "input:   ${MIB} MiB binary-like file ($(find_elf) repeated); cross-compile: 4 x ${CROSS_MIB} MiB; $RUNS runs of each, interleaved"
echo

buildah_build() {
  local root=$1 out=$2
  local g=(--storage-driver vfs --root "$root/root" --runroot "$root/run")
  buildah "${g[@]}" bud --isolation chroot --platform linux/amd64 -q -t localhost/bench:1 -f "$CTX/Dockerfile" "$CTX" &&
    buildah "${g[@]}" push -q localhost/bench:1 "oci-archive:$out"
}
export -f buildah_build
export CTX

for ((i = 1; i <= RUNS; i++)); do
  rm -f "$WORK/df.tar" "$WORK/file.tar" "$WORK/buildah.tar"
  time_cmd native "${BERTH[@]}" build --dockerfile "$CTX/Dockerfile" --output "$WORK/df.tar"
  sha256sum <"$WORK/df.tar" >>"$WORK/native.digests"
  time_cmd file "${BERTH[@]}" build --base scratch --file "$CTX/app:/app/file" --entrypoint /app/file --output "$WORK/file.tar"
  rm -rf "$WORK/buildah-store"
  time_cmd buildah bash -c 'buildah_build "$@"' _ "$WORK/buildah-store" "$WORK/buildah.tar"
done
rm -rf "$WORK/buildah-store"

read -r n_min n_med n_rss < <(summary native)
read -r f_min f_med f_rss < <(summary file)
read -r b_min b_med b_rss < <(summary buildah)
printf '%-50s %9s %9s %9s\n' "${MIB} MiB RUN-less Dockerfile" 'min s' 'median s' 'peak RSS'
printf '%-50s %9s %9s %7s Mi\n' '(a) berth build --dockerfile (native)' "$n_min" "$n_med" "$n_rss"
printf '%-50s %9s %9s %7s Mi\n' '(b) buildah bud + push oci-archive:' "$b_min" "$b_med" "$b_rss"
printf '%-50s %9s %9s %7s Mi\n' '(c) berth build --file (same file)' "$f_min" "$f_med" "$f_rss"
echo "buildah / berth: $(div "$b_min" "$n_min")x (min), $(div "$b_med" "$n_med")x (median);" \
  "berth --dockerfile / --file: $(div "$n_min" "$f_min")x (min), $(div "$n_med" "$f_med")x (median)"
echo "berth digests identical across runs: $([[ $(sort -u "$WORK/native.digests" | wc -l) == 1 ]] && echo yes || echo NO)"
echo

PLATFORMS=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le)
at_once=()
for p in "${PLATFORMS[@]}"; do at_once+=(--platform "$p"); done
in_a_row() { for p in linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le; do node "$REPO/bin/berth.js" build --dockerfile "$CTX/cross.Dockerfile" --context "$CTX" --platform "$p" --output "$WORK/row-${p//\//-}.tar" || return 1; done; }
export -f in_a_row
export REPO WORK
for ((i = 1; i <= 3; i++)); do
  time_cmd row bash -c in_a_row
  time_cmd once "${BERTH[@]}" build --dockerfile "$CTX/cross.Dockerfile" --context "$CTX" "${at_once[@]}" --output "$WORK/once.tar"
  rm -f "$WORK"/row-*.tar "$WORK/once.tar"
done
read -r r_min r_med _ < <(summary row)
read -r o_min o_med o_rss < <(summary once)
printf '(d) cross-compile pattern, 4 platforms x %s MiB: four runs in a row %s s, one run at once %s s (medians of 3): %sx; peak RSS at once %s MiB\n' \
  "$CROSS_MIB" "$r_med" "$o_med" "$(div "$o_med" "$r_med")" "$o_rss"
