#!/usr/bin/env bash
# Times Dockerfile builds with RUN: berth's step executor and step cache beside MicroShift's
# loop and beside BuildKit, in the same run, on the same miniature. Medians of ROUNDS rounds.
#
#   bash bench/run-builds.sh             # 3 rounds
#   ROUNDS=1 PARALLEL=50 bash bench/run-builds.sh
#
# The miniature (MicroShift-like, 6 components x 4 architectures: linux/amd64, arm64,
# ppc64le, s390x), FROM a 4-platform busybox index in a local registry:
#   base-image  the base the others are FROM; its RUN (2 s of work) runs in a builder stage
#               FROM --platform=$BUILDPLATFORM, so no architecture needs qemu (this machine
#               has none registered; a foreign-architecture RUN fails for both sides alike)
#   router, dns, csi   FROM base-image, COPY of a 4 MiB payload and a version file
#   ovn         FROM base-image, COPY of what its build_binaries made for TARGETARCH
#   pause       an ImageSource (the busybox index)
#
# Cases:
#   cold         `berth images push --all` (default flags) into the registry, empty cache
#                folder, beside MicroShift's loop: per component and architecture `buildah bud`
#                (components in parallel, base-image first), `buildah manifest create/add`,
#                `buildah manifest push --all` (ImageSource: `skopeo copy --all`), fresh storage
#   one changed  router's payload changed: berth push --all again, beside the loop building
#                and pushing router alone (its storage warm)
#   nothing      berth push --all with nothing changed
#   5s RUN       `FROM busybox`, `RUN sleep 5 ...`, `COPY app.txt`: cold (empty caches), then
#                with app.txt changed (warm): berth build --dockerfile beside Docker 20.10's
#                BuildKit (DOCKER_BUILDKIT=1, its cache warm from the first build)
#   parallel     PARALLEL (50) images, each FROM the busybox index with a RUN of its own,
#                built cold by two `berth images build --all` processes at once sharing one
#                cache folder, default flags: failures counted
#
# Needs `npm run build`, docker-registry, buildah, skopeo, dockerd + /usr/bin/docker (else the
# BuildKit column says so). Targets (issue 17): cold <= 1.0x the loop; one changed <= 0.5x the
# loop building that component; nothing <= 1 s; 5s RUN changed COPY <= 1.5 s and <= 1.0x
# BuildKit; cold <= 1.0x BuildKit; parallel 0 failures.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-3}
parallel=${PARALLEL:-50}
berth=(node "${BERTH:-$root/bin/berth.js}")

work=$(mktemp -d /tmp/berth-runb.XXXXXX)
bench=bench/run-builds.sh
# shellcheck source=bench/lib/registry.sh
source "$root/bench/lib/registry.sh"
need_tools docker-registry buildah skopeo curl
need_build dist/lean/berth.cjs
dockerd_pid=
dk=
cleanup() {
  set +e # every step runs, whatever the one before returned
  stop_registry
  if [[ -n $dockerd_pid ]]; then kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; fi
  buildah --storage-driver vfs --root "$work/bh/root" --runroot "$work/bh/run" rm --all >/dev/null 2>&1
  rm -rf "$work" 2>/dev/null
  [[ -n $dk ]] && rm -rf "$dk" 2>/dev/null
  true
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=1700000000 BUILDAH_ISOLATION=chroot
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

platforms=(linux/amd64 linux/arm64 linux/ppc64le linux/s390x)
pflags=()
for p in "${platforms[@]}"; do pflags+=(--platform "$p"); done
start_registry

# --- a 4-platform busybox index in the registry (busybox-static is amd64; the others are only data here) ---
mkdir -p "$work/bb/bin" "$work/bb/tmp"
cp /bin/busybox "$work/bb/bin/busybox"
ln -s busybox "$work/bb/bin/sh"
imgs=()
for p in "${platforms[@]}"; do
  "${berth[@]}" build --base scratch --file "$work/bb:/" --platform "$p" --allow-foreign-binaries --output "$work/bb-${p//\//-}.tar" >/dev/null 2>&1
  imgs+=(--image "$work/bb-${p//\//-}.tar")
done
"${berth[@]}" index "${imgs[@]}" -o "$work/bb-index.tar" >/dev/null 2>&1
"${berth[@]}" push "$work/bb-index.tar" "$reg/lib/busybox:1" >/dev/null 2>&1
BB=$reg/lib/busybox:1

# --- the miniature ----------------------------------------------------------------------
tree=$work/tree
mkdir -p "$tree/images"/{base-image,router,dns,csi,ovn,pause}
cat >"$tree/images/base-image/Dockerfile" <<EOF
FROM --platform=\$BUILDPLATFORM $BB AS prep
ARG TARGETARCH
RUN sleep 2 && mkdir -p /out/etc /out/usr/share/base && echo "base for \$TARGETARCH" > /out/etc/base-release && head -c 1048576 /dev/zero > /out/usr/share/base/data
FROM $BB
COPY --from=prep /out/ /
EOF
for n in router dns csi; do
  printf 'FROM base-image\nCOPY payload.bin /usr/lib/%s/payload.bin\nCOPY version /etc/%s-version\nENTRYPOINT ["/usr/lib/%s/payload.bin"]\n' "$n" "$n" "$n" >"$tree/images/$n/Dockerfile"
  head -c $((4 * 1024 * 1024)) /dev/urandom >"$tree/images/$n/payload.bin"
  echo "$n 1.0" >"$tree/images/$n/version"
done
printf 'FROM base-image\nARG TARGETARCH\nCOPY bin/ovn-${TARGETARCH} /usr/bin/ovn\n' >"$tree/images/ovn/Dockerfile"
printf '#!/bin/sh\nset -e\nmkdir -p bin\nsleep 0.5\necho "ovn for $TARGETARCH" > bin/ovn-$TARGETARCH\n' >"$tree/images/ovn/build_binaries"
echo "ovn-src" >"$tree/images/ovn/main.c"
chmod +x "$tree/images/ovn/build_binaries"
echo "$BB" >"$tree/images/pause/ImageSource"
printf 'images:\n  dir: images\n' >"$tree/berth.yaml"

berth_push() { # $1: cache folder
  (cd "$tree" && XDG_CACHE_HOME=$1 "${berth[@]}" images push --all --registry "$reg/berth" "${pflags[@]}" --no-sign)
}

bh=(--storage-driver vfs --root "$work/bh/root" --runroot "$work/bh/run")
arch_of() { echo "${1#linux/}"; }
loop_build() { # $1: component; base-image must be built first for the others
  local n=$1 p a
  if [[ $n == ovn ]]; then
    for p in "${platforms[@]}"; do (cd "$tree/images/ovn" && TARGETARCH=$(arch_of "$p") ./build_binaries); done
  fi
  for p in "${platforms[@]}"; do
    a=$(arch_of "$p")
    buildah "${bh[@]}" bud --quiet --isolation chroot --tls-verify=false --platform "$p" --build-context "base-image=docker-image://localhost/base-image:$a" -t "localhost/$n:$a" -f "$tree/images/$n/Dockerfile" "$tree/images/$n" >/dev/null &
  done
  wait
  buildah "${bh[@]}" manifest rm "localhost/$n:latest" >/dev/null 2>&1 || true
  buildah "${bh[@]}" manifest create "localhost/$n:latest" >/dev/null
  for p in "${platforms[@]}"; do buildah "${bh[@]}" manifest add "localhost/$n:latest" "containers-storage:localhost/$n:$(arch_of "$p")" >/dev/null; done
  buildah "${bh[@]}" manifest push --all --tls-verify=false "localhost/$n:latest" "docker://$reg/loop/$n:1" >/dev/null 2>&1
}
loop_cold() {
  buildah "${bh[@]}" rm --all >/dev/null 2>&1 || true
  rm -rf "$work/bh"
  loop_build base-image
  local pids=()
  for n in router dns csi ovn; do loop_build "$n" & pids+=($!); done
  skopeo copy -q --all --src-tls-verify=false --dest-tls-verify=false "docker://$BB" "docker://$reg/loop/pause:1" &
  pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid"; done
}

cold_b=() cold_l=() one_b=() one_l=() none_b=()
for r in $(seq "$rounds"); do
  rm -rf "$work/cache"
  cold_b+=("$(timed berth_push "$work/cache")")
  cold_l+=("$(timed loop_cold)")
  head -c $((4 * 1024 * 1024)) /dev/urandom >"$tree/images/router/payload.bin"
  one_b+=("$(timed berth_push "$work/cache")")
  one_l+=("$(timed loop_build router)")
  none_b+=("$(timed berth_push "$work/cache")")
done

# --- 5 s RUN, then a changed last COPY: berth beside BuildKit ------------------------------
ctx=$work/slow
mkdir -p "$ctx"
printf 'FROM base\nRUN sleep 5 && echo done > /done\nCOPY app.txt /app.txt\n' >"$ctx/Dockerfile"
printf 'FROM localhost/bench/busybox:1\nRUN sleep 5 && echo done > /done\nCOPY app.txt /app.txt\n' >"$ctx/Dockerfile.docker"
berth_slow() { XDG_CACHE_HOME=$1 "${berth[@]}" build --dockerfile "$ctx/Dockerfile" --build-context "base=$work/bb-linux-amd64.tar" --output "$work/slow.tar"; }
dk_ok=
if command -v dockerd >/dev/null && [[ -x /usr/bin/docker ]]; then
  mkdir -p /tmp/dk-runb && dk=$(mktemp -d /tmp/dk-runb/d.XXXX)
  dockerd --data-root "$dk/data" --exec-root "$dk/exec" --pidfile "$dk/pid" --host "unix://$dk/s" --storage-driver vfs --iptables=false --ip6tables=false --bridge=none >"$dk/log" 2>&1 &
  dockerd_pid=$!
  dkenv=(env DOCKER_HOST=unix://$dk/s DOCKER_CONFIG=$dk/config)
  for _ in $(seq 100); do "${dkenv[@]}" /usr/bin/docker version >/dev/null 2>&1 && dk_ok=1 && break; sleep 0.3; done
fi
bk_build() { "${dkenv[@]}" DOCKER_BUILDKIT=1 /usr/bin/docker build --network none -q -f "$ctx/Dockerfile.docker" -t bench/slow "$ctx"; }
slow_cold_b=() slow_cold_k=() slow_copy_b=() slow_copy_k=()
for r in $(seq "$rounds"); do
  echo "v$r" >"$ctx/app.txt"
  rm -rf "$work/slow-cache"
  slow_cold_b+=("$(timed berth_slow "$work/slow-cache")")
  echo "v$r changed" >"$ctx/app.txt"
  slow_copy_b+=("$(timed berth_slow "$work/slow-cache")")
  if [[ -n $dk_ok ]]; then
    "${dkenv[@]}" /usr/bin/docker builder prune -af >/dev/null 2>&1 || true
    "${dkenv[@]}" /usr/bin/docker rmi -f bench/slow >/dev/null 2>&1 || true
    "${dkenv[@]}" /usr/bin/docker image inspect localhost/bench/busybox:1 >/dev/null 2>&1 || { "${dkenv[@]}" /usr/bin/docker load -i "$work/bb-linux-amd64.tar" | awk '{print $NF}' | xargs -I{} "${dkenv[@]}" /usr/bin/docker tag {} localhost/bench/busybox:1; } >/dev/null 2>&1
    echo "v$r" >"$ctx/app.txt"
    slow_cold_k+=("$(timed bk_build)")
    echo "v$r changed" >"$ctx/app.txt"
    slow_copy_k+=("$(timed bk_build)")
  fi
done

# --- parallel: PARALLEL images with RUN, two berth processes at once, one cache folder ------
ptree=$work/ptree
for i in $(seq -w 1 "$parallel"); do
  mkdir -p "$ptree/images/img$i"
  printf 'FROM %s\nRUN echo %s > /id && sleep 0.2\nCOPY f /f\n' "$BB" "$i" >"$ptree/images/img$i/Dockerfile"
  echo "$i" >"$ptree/images/img$i/f"
done
rm -rf "$work/pcache"
ppids=()
for k in 1 2; do
  (cd "$ptree" && XDG_CACHE_HOME=$work/pcache "${berth[@]}" images build --all --platform linux/amd64 --output "$work/pout$k" >"$work/p$k.out" 2>"$work/p$k.err"; echo $? >"$work/p$k.rc") &
  ppids+=($!)
done
for pid in "${ppids[@]}"; do wait "$pid"; done
pfail=0
for k in 1 2; do
  [[ $(cat "$work/p$k.rc") == 0 ]] || { pfail=$((pfail + 1)); tail -3 "$work/p$k.err" >&2; }
  built=$(grep -c '^berth: built img' "$work/p$k.err" || true)
  [[ $built == "$parallel" ]] || pfail=$((pfail + parallel - built))
done

med() { printf '%s\n' "$@" | median; }
cb=$(med "${cold_b[@]}") cl=$(med "${cold_l[@]}") ob=$(med "${one_b[@]}") ol=$(med "${one_l[@]}") nb=$(med "${none_b[@]}")
scb=$(med "${slow_cold_b[@]}") sxb=$(med "${slow_copy_b[@]}")
echo "bench/run-builds.sh: $rounds rounds (medians), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-62s %8s %8s %s\n' case berth peer ratio
printf '%-62s %6sms %6sms %sx (target <= 1.0x)\n' "cold build+push, 6 components x 4 arch vs buildah loop" "$cb" "$cl" "$(ratio "$cb" "$cl")"
printf '%-62s %6sms %6sms %sx (target <= 0.5x)\n' "one component changed vs the loop building it alone" "$ob" "$ol" "$(ratio "$ob" "$ol")"
printf '%-62s %6sms %8s (target <= 1000 ms)\n' "nothing changed (push --all)" "$nb" "-"
if [[ -n $dk_ok ]]; then
  sck=$(med "${slow_cold_k[@]}") sxk=$(med "${slow_copy_k[@]}")
  printf '%-62s %6sms %6sms %sx (target <= 1.0x)\n' "5 s RUN + COPY, cold, vs BuildKit (Docker 20.10)" "$scb" "$sck" "$(ratio "$scb" "$sck")"
  printf '%-62s %6sms %6sms %sx (target <= 1500 ms, <= 1.0x)\n' "5 s RUN, changed last COPY, vs BuildKit warm" "$sxb" "$sxk" "$(ratio "$sxb" "$sxk")"
else
  printf '%-62s %6sms %8s (no dockerd + /usr/bin/docker here)\n' "5 s RUN + COPY, cold" "$scb" "-"
  printf '%-62s %6sms %8s (target <= 1500 ms)\n' "5 s RUN, changed last COPY" "$sxb" "-"
fi
printf '%-62s %8s (target 0)\n' "parallel: 2 processes x $parallel images with RUN, failures" "$pfail"
