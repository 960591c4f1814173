#!/usr/bin/env bash
# Times `berth images` beside what it replaces, in the same run. Rounds are interleaved;
# medians are reported.
#
#   bash bench/images.sh                 # 5 rounds, a 1 GiB folder to hash
#   ROUNDS=3 HASH_MIB=256 BUILD_MIB=4 bash bench/images.sh
#
# Cases:
#   noop    `berth images push --all` of 10 images (FROM scratch + one file) that the local
#           registry already has under their content-hash tags, beside `node -e ''`: the
#           memoized push (gVisor's `push-<name>`) asks one HEAD per image and writes nothing.
#   hash    berth's content hash of one image folder of HASH_MIB MiB (16 files of random bytes,
#           in the page cache), measured as `berth images list` of it (node's start included),
#           beside `sha256sum` of the same files, in MiB/s.
#   build   5 images x 4 platforms (linux/amd64, arm64, arm/v7, ppc64le), RUN-less Dockerfiles
#           (FROM scratch, COPY of BUILD_MIB MiB of random bytes and a small file), cold:
#           `berth images build --all --engine native` (one image tarball per image, an index
#           of the 4 platforms) beside MicroShift's loop: per image and platform
#           `buildah bud --platform P`, then `buildah manifest create` + `manifest add` x4
#           (vfs storage and chroot isolation in a fresh folder of this run each round; its
#           lists stay in buildah's storage, so it writes less than berth).
#
# Needs `npm run build` first (dist/lean/berth.cjs), docker-registry, buildah, sha256sum.
# Targets (docs/performance.md): noop <= 3x `node -e ''`; hash >= 800 MiB/s; build at least
# 2x faster than the buildah loop.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-5}
hash_mib=${HASH_MIB:-1024}
build_mib=${BUILD_MIB:-8}
berth=(node "${BERTH:-$root/bin/berth.js}")

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-images.XXXXXX")
bench=bench/images.sh
# shellcheck source=bench/lib/registry.sh
source "$root/bench/lib/registry.sh"
need_tools docker-registry buildah curl sha256sum
need_build dist/lean/berth.cjs
cleanup() {
  [[ -n $reg_pid ]] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=1700000000 BUILDAH_ISOLATION=chroot

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- noop: 10 images already pushed ---------------------------------------------------------
noop_dir=$work/noop
for i in $(seq -w 1 10); do
  mkdir -p "$noop_dir/images/img$i"
  printf 'FROM scratch\nCOPY file /file\n' >"$noop_dir/images/img$i/Dockerfile"
  head -c 65536 /dev/urandom >"$noop_dir/images/img$i/file"
done
start_registry
export XDG_CACHE_HOME=$work/noop-cache
(cd "$noop_dir" && "${berth[@]}" images push --all --registry "$reg/bench" --platform linux/amd64 >/dev/null 2>"$work/last.err") || { cat "$work/last.err" >&2; exit 1; }
noop_berth=() noop_node=()
for _ in $(seq "$rounds"); do
  noop_berth+=("$(cd "$noop_dir" && timed "${berth[@]}" images push --all --registry "$reg/bench" --platform linux/amd64)")
  noop_node+=("$(timed node -e '')")
done
(cd "$noop_dir" && "${berth[@]}" images push --all --registry "$reg/bench" --platform linux/amd64 2>"$work/noop.err" >/dev/null)
[[ $(grep -c 'nothing to push' "$work/noop.err") == 10 ]] || { echo "$bench: the no-op push pushed something" >&2; cat "$work/noop.err" >&2; exit 1; }
stop_registry

# --- hash: one image folder of hash_mib MiB -------------------------------------------------
hash_dir=$work/hash/images/big
mkdir -p "$hash_dir"
printf 'FROM scratch\nCOPY . /data\n' >"$hash_dir/Dockerfile"
for i in $(seq -w 1 16); do head -c $((hash_mib * 1024 * 1024 / 16)) /dev/urandom >"$hash_dir/part$i.bin"; done
cat "$hash_dir"/* >/dev/null  # both read from the page cache
export XDG_CACHE_HOME=$work/hash-cache
hash_berth=() hash_sum=()
for _ in $(seq "$rounds"); do
  hash_berth+=("$(timed "${berth[@]}" images list --dir "$work/hash/images" --platform linux/amd64 --json)")
  hash_sum+=("$(timed sha256sum "$hash_dir"/part*.bin)")
done

# --- build: 5 images x 4 platforms, cold ---------------------------------------------------
platforms=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le)
build_dir=$work/build
names=(router dns ovn csi topolvm)
for n in "${names[@]}"; do
  mkdir -p "$build_dir/images/$n"
  printf 'FROM scratch\nCOPY payload.bin /opt/%s/payload.bin\nCOPY version /etc/%s-version\nENV COMPONENT=%s\nCMD ["/opt/%s/payload.bin"]\n' "$n" "$n" "$n" "$n" >"$build_dir/images/$n/Dockerfile"
  head -c $((build_mib * 1024 * 1024)) /dev/urandom >"$build_dir/images/$n/payload.bin"
  echo "$n 1.0" >"$build_dir/images/$n/version"
done
platform_flags=()
for p in "${platforms[@]}"; do platform_flags+=(--platform "$p"); done

berth_build() {
  rm -rf "$work/build-cache" "$work/build-out"
  XDG_CACHE_HOME=$work/build-cache "${berth[@]}" images build --all --dir "$build_dir/images" --engine native --jobs 2 "${platform_flags[@]}" --output "$work/build-out"
}
buildah_loop() {
  rm -rf "$work/bh"
  local bh=(--storage-driver vfs --root "$work/bh/root" --runroot "$work/bh/run")
  for n in "${names[@]}"; do
    for p in "${platforms[@]}"; do
      buildah "${bh[@]}" bud --quiet --isolation chroot --platform "$p" -t "localhost/$n:${p//\//-}" -f "$build_dir/images/$n/Dockerfile" "$build_dir/images/$n"
    done
    buildah "${bh[@]}" manifest create "localhost/$n:latest"
    for p in "${platforms[@]}"; do buildah "${bh[@]}" manifest add "localhost/$n:latest" "containers-storage:localhost/$n:${p//\//-}"; done
  done
  buildah "${bh[@]}" rm --all >/dev/null 2>&1 || true
  rm -rf "$work/bh"
}
build_berth=() build_bh=()
for _ in $(seq "$rounds"); do
  build_berth+=("$(timed berth_build)")
  build_bh+=("$(timed buildah_loop)")
done

nb=$(printf '%s\n' "${noop_berth[@]}" | median) nn=$(printf '%s\n' "${noop_node[@]}" | median)
hb=$(printf '%s\n' "${hash_berth[@]}" | median) hs=$(printf '%s\n' "${hash_sum[@]}" | median)
bb=$(printf '%s\n' "${build_berth[@]}" | median) bl=$(printf '%s\n' "${build_bh[@]}" | median)
echo "bench/images.sh: $rounds rounds (medians), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-58s %9s %9s %s\n' case berth peer ratio
printf '%-58s %7sms %7sms %sx node (target <= 3x)\n' "noop: push --all, 10 images present vs node -e ''" "$nb" "$nn" "$(ratio "$nb" "$nn")"
printf '%-58s %5s MiB/s %5s MiB/s (target >= 800 MiB/s)\n' "hash: ${hash_mib} MiB folder vs sha256sum" "$(awk -v m="$hash_mib" -v t="$hb" 'BEGIN { printf "%d", m * 1000 / t }')" "$(awk -v m="$hash_mib" -v t="$hs" 'BEGIN { printf "%d", m * 1000 / t }')"
printf '%-58s %7sms %7sms %sx faster (target >= 2x)\n' "build: 5 images x 4 platforms cold vs buildah bud loop" "$bb" "$bl" "$(ratio "$bl" "$bb")"
