#!/usr/bin/env bash
# Times `bazel build --stamp //build:server-images` (3 components x 5 platforms) against the
# same berth calls run directly from a shell loop, in a copy of this workspace made a git
# checkout tagged v1.0.0. Rounds are interleaved; min and median are reported.
#
#   npm run build && bash bench/bazel.sh            # 3 rounds
#   ROUNDS=5 BENCH_MIB=32 bash bench/bazel.sh       # also with 32 MiB binaries
#
# Cases, for the tiny hello programs the target is made of and, when BENCH_MIB is set, again
# with every binary replaced by BENCH_MIB MiB of binary-like bytes (/usr/bin/node, cut):
#   bazel cold      `bazel clean`, then the build: no action cache, and an empty disk cache
#                   of the round's own that it fills (the server stays up, as it does
#                   between a developer's builds)
#   bazel new tag   the build again with only DOCKER_TAG changed; the execution log says
#                   which actions ran (the target: status-key and index actions only, no
#                   layer), and the bytes it added to the disk cache are set beside the
#                   images' size (the three index tarballs: every layer once)
#   loop            the calls a script would make, one after another: berth base static,
#                   15 x berth build (base, binary layer, config, stamped --tag), 3 x berth index
#   loop -P2        the same, two at a time (Bazel runs two actions at once on two cores)
#   loop new tag    what the script does for a new tag: the 15 builds and 3 indexes again
#
# Every berth call runs node on dist/lean/berth.cjs, the bundle the rules run.
# Needs bazel (Debian's bazel-bootstrap), git, node; targets in docs/performance.md: Bazel's
# overhead over the loop under 30% cold, and no layer action on a tag-only change.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-${1:-3}}
mib=${BENCH_MIB:-}
[[ -f $root/dist/lean/berth.cjs ]] || { echo "bench/bazel.sh: dist/lean/berth.cjs is missing; run npm run build first" >&2; exit 1; }
for tool in bazel git node; do
  command -v "$tool" >/dev/null || { echo "bench/bazel.sh: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-bazel.XXXXXX")
ws=$work/ws
bz=(bazel "--output_user_root=$work/root" "--output_base=$work/base" --nohome_rc)
flags=(--color=no --curses=no --nosandbox_debug --jobs=2 --show_progress_rate_limit=60)
cleanup() {
  (cd "$ws" 2>/dev/null && "${bz[@]}" shutdown >/dev/null 2>&1) || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# The workspace, as test/helpers/bazel.ts copies it, as a git checkout.
for p in WORKSPACE BUILD.bazel .bazelrc .bazelignore build demo/hello hack/build/print-workspace-status.sh dist/lean/berth.cjs dist/lean/status.cjs dist/lean/yaml.cjs; do
  mkdir -p "$ws/$(dirname "$p")"
  cp -r "$root/$p" "$ws/$p"
done
printf '/bazel-*\n/loop/\n' >"$ws/.gitignore"
git_() { git -C "$ws" -c user.email=bench@example.com -c user.name=bench -c commit.gpgsign=false -c tag.gpgsign=false "$@" >/dev/null; }
git_ init -q -b main
git_ add -A
git_ commit -q -m bench
git_ tag -a -m v1.0.0 v1.0.0
cd "$ws"
unset DOCKER_REGISTRY DOCKER_PUSH_REGISTRY DOCKER_TAG APP_VERSION SOURCE_DATE_EPOCH

ms_now() { date +%s%N | cut -c1-13; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
min() { sort -n | head -n 1; }
secs() { awk -v ms="$1" 'BEGIN {printf "%.2f", ms / 1000}'; }

components=(controller webhook cainjector)
platforms=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le linux/s390x)
bin_of() { local a=${1#linux/}; echo "demo/hello/bin/hello-${a//\//-}"; }
berth() { node "$ws/dist/lean/berth.cjs" "$@" >/dev/null; }
registry=localhost:5000 # what the status gives here (no berth.yaml, no DOCKER_REGISTRY)

# One image, as the rules build it in one call: base, binary, config, stamped name.
loop_image() { # component platform tag
  local c=$1 p=$2 s=${2//\//_}
  berth build --base loop/static.tar --platform "$p" --file "$(bin_of "$p"):/app/$c:0755" \
    --entrypoint "[\"/app/$c\"]" --label "org.opencontainers.image.title=$c" --format oci \
    --tag "$registry/$c:$3" --output "loop/$c.$s.tar"
}
loop_index() { # component tag
  local c=$1 images=() p
  for p in "${platforms[@]}"; do images+=(--image "loop/$c.${p//\//_}.tar"); done
  berth index "${images[@]}" --format oci --tag "$registry/$c:$2" --output "loop/$c.tar"
}
loop_base() {
  local args=() p
  for p in linux/amd64 linux/arm64 linux/arm/v5 linux/arm/v6 linux/arm/v7 linux/386 linux/ppc64le linux/s390x linux/riscv64 linux/mips64le linux/loong64; do args+=(--platform "$p"); done
  berth base static "${args[@]}" --format oci --output loop/static.tar
}
# $1: jobs at once; $2: tag; $3: 1 to make the base too.
loop() {
  local jobs=$1 tag=$2 c p
  if (($3)); then rm -rf loop && mkdir loop && loop_base; fi
  for c in "${components[@]}"; do
    for p in "${platforms[@]}"; do
      loop_image "$c" "$p" "$tag" &
      while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
    done
  done
  wait
  for c in "${components[@]}"; do
    loop_index "$c" "$tag" &
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
  done
  wait
}
timed() { # name command...
  local t0 t1
  t0=$(ms_now)
  "${@:2}" >"$work/last.out" 2>&1 || { echo "bench/bazel.sh: $1 failed:" >&2; tail -n 30 "$work/last.out" >&2; exit 1; }
  t1=$(ms_now)
  echo $((t1 - t0)) >>"$work/$1.ms"
}
bazel_build() { # exec-log disk-cache [env...]
  env "${@:3}" "${bz[@]}" build "${flags[@]}" --stamp "--execution_log_json_file=$1" "--disk_cache=$2" //build:server-images
}
# Bytes of the files in a disk cache (what was written; not its folders' sizes).
bytes_in() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%d", s}'; }
mnemonics() { grep -o '"mnemonic": "[A-Za-z]*"' "$1" | sed 's/.*: "//; s/"//' | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1} END {if (NR == 0) printf "none"}'; }

run_cases() { # label
  local label=$1 i
  rm -f "$work"/*.ms
  "${bz[@]}" build "${flags[@]}" --stamp //build:server-images >/dev/null 2>&1 # analysis and server warm (no disk cache)
  rm -f "$work/tag-bytes" "$work/image-bytes"
  for ((i = 1; i <= rounds; i++)); do
    "${bz[@]}" clean >/dev/null 2>&1
    rm -rf "$work/dc"
    timed bazel-cold bazel_build "$work/cold.json" "$work/dc"
    local before after c images=0
    before=$(bytes_in "$work/dc")
    timed bazel-tag bazel_build "$work/tag.json" "$work/dc" "DOCKER_TAG=bench-$i"
    after=$(bytes_in "$work/dc")
    for c in "${components[@]}"; do images=$((images + $(stat -c %s "bazel-bin/build/$c.tar"))); done
    echo $((after - before)) >>"$work/tag-bytes"
    echo "$images" >>"$work/image-bytes"
    timed loop loop 1 v1.0.0 1
    timed loop-p2 loop 2 v1.0.0 1
    timed loop-tag loop 1 "bench-$i" 0
  done
  local processes
  processes=$(grep -o '[0-9]* processes: .*' "$work/last.out" | tail -n 1 || true)
  printf '\n%s, %d rounds (ms -> s)          min s  median s\n' "$label" "$rounds"
  local k
  for k in bazel-cold bazel-tag loop loop-p2 loop-tag; do
    printf '  %-28s %8s  %8s\n' "$k" "$(secs "$(min <"$work/$k.ms")")" "$(secs "$(median <"$work/$k.ms")")"
  done
  local cold loop1 loop2
  cold=$(median <"$work/bazel-cold.ms")
  loop1=$(median <"$work/loop.ms")
  loop2=$(median <"$work/loop-p2.ms")
  awk -v c="$cold" -v l="$loop1" -v p="$loop2" 'BEGIN {printf "  bazel cold / loop: %.2fx (median); bazel cold / loop -P2: %.2fx\n", c / l, c / p}'
  local tagloop written images
  tagloop=$(median <"$work/loop-tag.ms")
  written=$(median <"$work/tag-bytes")
  images=$(median <"$work/image-bytes")
  awk -v t="$(median <"$work/bazel-tag.ms")" -v l="$tagloop" 'BEGIN {printf "  bazel new tag / loop new tag: %.2fx (median)\n", t / l}'
  awk -v w="$written" -v i="$images" 'BEGIN {printf "  bytes a new tag wrote to the disk cache: %d (median), images: %d bytes (the 3 index tarballs): %.2fx\n", w, i, w / i}'
  printf '  actions, cold:    %s\n' "$(mnemonics "$work/cold.json")"
  printf '  actions, new tag: %s\n' "$(mnemonics "$work/tag.json")"
}

echo "bench/bazel.sh: $(nproc) cores, $(node --version), $(bazel --version 2>/dev/null | tail -n 1), strategy: Bazel's default (sandboxed)"
run_cases "hello programs (~200 B each)"
if [[ -n $mib ]]; then
  for p in "${platforms[@]}"; do
    f=$(bin_of "$p")
    { printf '%s\n' "$p"; head -c $((mib * 1024 * 1024)) /usr/bin/node; } | head -c $((mib * 1024 * 1024)) >"$f"
  done
  git_ add -A
  git_ commit -q -m "binaries of $mib MiB"
  git_ tag -f -a -m v1.0.0 v1.0.0
  run_cases "$mib MiB binaries"
fi
