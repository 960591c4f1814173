#!/usr/bin/env bash
# Times `berth release` of 5 components x 4 platforms (20 images sharing a base layer) to a
# local CNCF registry (docker-registry on 127.0.0.1), beside the script it replaces, in the
# same run: per component, `skopeo copy` of each per-arch tarball by digest, then
# `buildah manifest create` + `buildah manifest add` x4 + `buildah manifest push --all`
# under the tag. Rounds are interleaved on fresh registries; medians are reported.
#
#   bash bench/release.sh              # 5 rounds
#   ROUNDS=9 SHARED_MIB=16 COMPONENT_MIB=8 bash bench/release.sh
#   FAIL_RUNS=50 bash bench/release.sh # also: 50 cold berth releases, counting failures
#   CONCURRENT_ROUNDS=50 bash bench/release.sh  # also: 50 rounds of two identical releases at once
#
# Cases:
#   cold     an empty registry: every blob goes up
#   warm     the same release again: everything is there
#   concurrent  two identical `berth release` runs at once into one fresh registry (two CI jobs
#            publishing the same thing), each with its own cache; a round fails when either
#            run exits non-zero. The script has no such case (its buildah manifest lists share
#            one storage), so only berth's failure count is printed.
#
# The images: per platform, berth's static base plus a shared layer of SHARED_MIB random
# bytes (one blob for all 20 images), then per component a layer of COMPONENT_MIB random
# bytes: 21 distinct layers, about 176 MiB with the defaults.
#
# Needs `npx tsc -p .` first (dist/), docker-registry, skopeo and buildah (vfs storage in a
# folder of this run). Targets (docs/performance.md): berth at least 2x faster than the
# script cold; a warm re-run under 3x `node -e ''`; no failure in 50 cold runs; no failure in
# 50 concurrent rounds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-5}
shared_mib=${SHARED_MIB:-16}
component_mib=${COMPONENT_MIB:-8}
fail_runs=${FAIL_RUNS:-0}
concurrent_rounds=${CONCURRENT_ROUNDS:-0}
berth=(node "${BERTH:-$root/bin/berth.js}")  # BERTH=other/bin/berth.js compares another build

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-release.XXXXXX")
bench=bench/release.sh
# shellcheck source=bench/lib/registry.sh
source "$root/bench/lib/registry.sh"
need_tools docker-registry skopeo buildah curl
need_build dist/cli/bin.js
cleanup() {
  [[ -n $reg_pid ]] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  buildah "${bh[@]}" rm --all >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
bh=(--storage-driver vfs --root "$work/buildah/root" --runroot "$work/buildah/run")
export BUILDAH_ISOLATION=chroot


components=(controller webhook cainjector acmesolver startupapicheck)
platforms=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le)
arch_of() { case $1 in linux/amd64) echo amd64 ;; linux/arm64) echo arm64 ;; linux/arm/v7) echo arm ;; linux/ppc64le) echo ppc64le ;; esac; }

echo "bench/release.sh: building 20 images (${shared_mib} MiB shared, ${component_mib} MiB each)..." >&2
mkdir -p "$work/in"
head -c $((shared_mib << 20)) /dev/urandom >"$work/in/shared.bin"
for p in "${platforms[@]}"; do
  a=$(arch_of "$p")
  "${berth[@]}" build --base static --platform "$p" --file "$work/in/shared.bin:/shared/data.bin" \
    --compression-level 1 --output "$work/in/base-$a.tar" >/dev/null 2>&1
done
for c in "${components[@]}"; do
  head -c $((component_mib << 20)) /dev/urandom >"$work/in/$c.bin"
  for p in "${platforms[@]}"; do
    a=$(arch_of "$p")
    "${berth[@]}" build --base "$work/in/base-$a.tar" --platform "$p" --file "$work/in/$c.bin:/app/$c" \
      --compression-level 1 --output "$work/in/$c-$a.tar" >/dev/null 2>&1
  done
done
total_bytes=$(du -cb "$work"/in/*-*.tar | tail -1 | cut -f1)

{
  echo "registries: [REG/berth]"
  echo "tags: [v1.0.0]"
  echo "components:"
  for c in "${components[@]}"; do
    echo "  $c:"
    echo "    platforms:"
    for p in "${platforms[@]}"; do echo "      $p: $work/in/$c-$(arch_of "$p").tar"; done
  done
} >"$work/release.tmpl"
release_yaml() { sed "s|REG|$reg|" "$work/release.tmpl" >"$work/release.yaml"; }

# The script berth replaces: skopeo copy per image by digest, then a buildah manifest list.
script_release() {
  local c p a digest
  for c in "${components[@]}"; do
    buildah "${bh[@]}" manifest rm "bench-$c" >/dev/null 2>&1 || true
    buildah "${bh[@]}" manifest create "bench-$c" >/dev/null
    for p in "${platforms[@]}"; do
      a=$(arch_of "$p")
      skopeo copy --quiet --dest-tls-verify=false --digestfile "$work/digest" "oci-archive:$work/in/$c-$a.tar" "docker://$reg/script/$c:v1.0.0-$a"
      digest=$(cat "$work/digest")
      buildah "${bh[@]}" manifest add --tls-verify=false "bench-$c" "docker://$reg/script/$c@$digest" >/dev/null
    done
    buildah "${bh[@]}" manifest push --tls-verify=false --all "bench-$c" "docker://$reg/script/$c:v1.0.0" >/dev/null
  done
}

declare -A results
record() { results[$1]+="$2 "; }

for ((round = 1; round <= rounds; round++)); do
  record node "$(timed node -e '')"

  start_registry
  release_yaml
  export XDG_CACHE_HOME=$work/berth-cache-$round
  record berth_cold "$(timed "${berth[@]}" release --config "$work/release.yaml" --quiet)"
  record berth_warm "$(timed "${berth[@]}" release --config "$work/release.yaml" --quiet)"

  start_registry
  record script_cold "$(timed script_release)"
  record script_warm "$(timed script_release)"
  echo "bench/release.sh: round $round done" >&2
done
stop_registry

failures=0
if ((fail_runs > 0)); then
  for ((i = 1; i <= fail_runs; i++)); do
    start_registry
    release_yaml
    export XDG_CACHE_HOME=$work/berth-cache-fail-$i
    "${berth[@]}" release --config "$work/release.yaml" --quiet >/dev/null 2>"$work/fail.err" || { failures=$((failures + 1)); tail -1 "$work/fail.err" >&2; }
  done
  stop_registry
fi

concurrent_failures=0
if ((concurrent_rounds > 0)); then
  for ((i = 1; i <= concurrent_rounds; i++)); do
    start_registry
    release_yaml
    XDG_CACHE_HOME=$work/berth-cache-conc-$i-a "${berth[@]}" release --config "$work/release.yaml" --quiet >/dev/null 2>"$work/conc-a.err" &
    a=$!
    XDG_CACHE_HOME=$work/berth-cache-conc-$i-b "${berth[@]}" release --config "$work/release.yaml" --quiet >/dev/null 2>"$work/conc-b.err" &
    b=$!
    ok=1
    wait "$a" || { ok=0; tail -1 "$work/conc-a.err" >&2; }
    wait "$b" || { ok=0; tail -1 "$work/conc-b.err" >&2; }
    ((ok)) || concurrent_failures=$((concurrent_failures + 1))
    ((i % 10 == 0)) && echo "bench/release.sh: concurrent round $i done ($concurrent_failures failed)" >&2
  done
  stop_registry
fi

show() { printf '%-14s %6s ms   (runs: %s)\n' "$1" "$(tr ' ' '\n' <<<"${results[$1]}" | grep . | median)" "${results[$1]}"; }
echo "20 images, 21 distinct layers, $((total_bytes >> 20)) MiB of tarballs; $rounds rounds, medians"
for k in node berth_cold script_cold berth_warm script_warm; do show "$k"; done
med() { tr ' ' '\n' <<<"${results[$1]}" | grep . | median; }
awk -v bc="$(med berth_cold)" -v sc="$(med script_cold)" -v bw="$(med berth_warm)" -v n="$(med node)" 'BEGIN {
  printf "cold: berth %.2fx faster than the script (target >= 2x)\n", sc / bc
  printf "warm: berth %.2fx node -e \"\" (target < 3x)\n", bw / n
}'
((fail_runs > 0)) && echo "berth cold release failures: $failures of $fail_runs"
((concurrent_rounds > 0)) && echo "berth concurrent rounds failed (two identical releases at once): $concurrent_failures of $concurrent_rounds (target 0)"
exit 0
