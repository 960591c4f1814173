#!/usr/bin/env bash
# Benchmarks building a layer of one big binary-like file:
#   (a) berth build      an image FROM scratch with the file at /app/file
#   (e) four `berth build` processes (four platforms) at once, against four in a row
#   (b) umoci insert     into a fresh umoci layout
#   (c) the floor        tar -c FILE | pigz -1 -p 2 | sha256sum
#   (d) berth's peak RSS for a 1 GiB layer
# Runs are interleaved and repeated; it prints the minimum and median wall time of each.
#
# Usage: bench/build.sh [RUNS]        (after `npm run build`)
# Env:   BENCH_MIB=256  BENCH_BIG_MIB=1024  TMPDIR (where the files go)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-5}
MIB=${BENCH_MIB:-256}
BIG_MIB=${BENCH_BIG_MIB:-1024}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# berth builds an image holding $1 at /app/file into the tarball $2 (for platform $3). The
# input is made of this machine's ELF binary: in another platform's image it is foreign, so
# --allow-foreign-binaries. A failure shows berth's message (it was silent: exit 1, nothing).
berth_build() {
  local err
  err=$(node "$REPO/bin/berth.js" build --base scratch --platform "${3:-linux/amd64}" --allow-foreign-binaries --file "$1:/app/file:0755" --output "$2" 2>&1 >/dev/null) || { echo "bench: berth build failed: $err" >&2; return 1; }
}
export -f berth_build
export REPO

# shellcheck source=bench/lib/timing.sh
source "$REPO/bench/lib/timing.sh"

# shellcheck source=bench/lib/binary-like.sh
source "$REPO/bench/lib/binary-like.sh"

ELF=$(find_elf)
[[ -n $ELF ]] || { echo "no ELF binary found to build test input from" >&2; exit 1; }
[[ -f $REPO/dist/cli/bin.js ]] || { echo "run 'npm run build' first" >&2; exit 1; }
mkdir -p "$WORK/in"
FILE=$WORK/in/file
make_binary "$MIB" "$FILE"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr)"
echo "tools:   node $(node --version), $(umoci --version), $(pigz --version 2>&1), $( [[ -x /usr/bin/time ]] && echo 'GNU time' || echo 'time-cmd.mjs')"
echo "files:   $WORK ($(df -T "$WORK" | awk 'NR == 2 {print $2}'))"
echo "input:   ${MIB} MiB made of $ELF repeated; $RUNS runs of each, interleaved"
echo

for ((i = 1; i <= RUNS; i++)); do
  time_cmd berth bash -c 'berth_build "$@"' _ "$FILE" "$WORK/layer.tar.gz"
  sha256sum <"$WORK/layer.tar.gz" >>"$WORK/berth.digests"

  rm -rf "$WORK/umoci"
  umoci init --layout "$WORK/umoci" && umoci new --image "$WORK/umoci:t"
  time_cmd umoci umoci insert --image "$WORK/umoci:t" "$FILE" /app/file

  time_cmd floor bash -o pipefail -c "tar -cf - -C '$WORK/in' file | pigz -1 -p 2 | sha256sum"
done

berth_size=$(stat -c %s "$WORK/layer.tar.gz")
umoci_size=$(find "$WORK/umoci/blobs" -type f -printf '%s\n' | sort -n | tail -1)
floor_size=$(tar -cf - -C "$WORK/in" file | pigz -1 -p 2 | wc -c)
read -r b_min b_med b_rss < <(summary berth)
read -r u_min u_med u_rss < <(summary umoci)
read -r f_min f_med f_rss < <(summary floor)

printf '%-44s %9s %9s %9s %10s\n' "${MIB} MiB layer" 'min s' 'median s' 'peak RSS' 'gzip MiB'
printf '%-44s %9s %9s %7s Mi %10s\n' '(a) berth' "$b_min" "$b_med" "$b_rss" "$(div "$berth_size" 1048576)"
printf '%-44s %9s %9s %7s Mi %10s\n' '(b) umoci insert' "$u_min" "$u_med" "$u_rss" "$(div "$umoci_size" 1048576)"
printf '%-44s %9s %9s %7s Mi %10s\n' '(c) floor: tar | pigz -1 -p 2 | sha256sum' "$f_min" "$f_med" "$f_rss" "$(div "$floor_size" 1048576)"
echo "berth / umoci: $(div "$b_min" "$u_min")x (min), $(div "$b_med" "$u_med")x (median);" \
  "berth / floor: $(div "$b_min" "$f_min")x (min), $(div "$b_med" "$f_med")x (median)"
echo "berth digests identical across runs: $([[ $(sort -u "$WORK/berth.digests" | wc -l) == 1 ]] && echo yes || echo NO)"
echo

PLATFORMS=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le)
four_in_a_row() { for p in "${PLATFORMS[@]}"; do berth_build "$FILE" "$WORK/p-${p//\//-}.tar" "$p"; done; }
four_at_once() {
  local pids=() p
  for p in "${PLATFORMS[@]}"; do berth_build "$FILE" "$WORK/p-${p//\//-}.tar" "$p" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
}
export -f four_in_a_row four_at_once
export FILE WORK
for ((i = 1; i <= 3; i++)); do
  time_cmd row bash -c 'PLATFORMS=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le); four_in_a_row'
  time_cmd once bash -c 'PLATFORMS=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le); four_at_once'
done
read -r r_min r_med _ < <(summary row)
read -r o_min o_med _ < <(summary once)
printf '(e) four platforms, %s MiB each: in a row %s s, at once %s s (medians of 3): %sx\n' "$MIB" "$r_med" "$o_med" "$(div "$o_med" "$r_med")"
rm -f "$WORK"/p-*.tar

rm -rf "$WORK/umoci" "$WORK/layer.tar.gz"
make_binary "$BIG_MIB" "$FILE"
time_cmd big bash -c 'berth_build "$@"' _ "$FILE" "$WORK/layer.tar.gz"
read -r g_min _ g_rss < <(summary big)
printf '(d) berth, %s MiB layer: %s s, peak RSS %s MiB\n' "$BIG_MIB" "$g_min" "$g_rss"
