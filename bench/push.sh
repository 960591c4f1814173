#!/usr/bin/env bash
# Times `berth push` of an image with one 256 MiB layer against a local CNCF registry
# (docker-registry on 127.0.0.1), beside `skopeo copy` of the same image and `node -e ''`,
# in the same run. Rounds are interleaved (berth, then skopeo, each on a fresh registry) so
# a busy machine slows both alike; the median of each case is reported.
#
#   bash bench/push.sh               # 5 rounds, 256 MiB
#   ROUNDS=9 LAYER_MIB=64 bash bench/push.sh
#
# Cases:
#   cold     an empty registry: every blob goes up
#   warm     the same push again: everything is there
#   second   the same image to a second repository of the same registry (berth and skopeo
#            both remember where blobs are and mount them; skopeo also without its
#            blob-info cache, when it uploads again)
#
# skopeo runs as an unprivileged user with its own XDG_DATA_HOME, so its blob-info cache is
# a folder of this run (empty for "without cache"). It reads the image from an OCI layout
# (no archive to unpack); berth reads the image tarball, by offset, as it would in CI.
#
# Needs `npm run build` first, docker-registry, skopeo and setpriv. Targets
# (docs/performance.md): cold no slower than skopeo; warm and second under 2x `node -e ''`;
# second at least 4x faster than skopeo without its cache.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-5}
layer_mib=${LAYER_MIB:-256}
berth=(node "$root/bin/berth.js")
# The lean push entry (no yargs, one CommonJS bundle), built here if the build did not.
lean=$root/dist/lean/push.cjs
if [[ ! -f $lean ]]; then
  (cd "$root" && npx esbuild src/cli/lean-push.ts --bundle --platform=node --format=cjs --target=node20 --minify \
    --log-level=warning --external:execa --outfile=dist/lean/push.cjs)
fi
berth_lean=(node "$lean")

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-push.XXXXXX")
bench=bench/push.sh
# shellcheck source=bench/lib/registry.sh
source "$root/bench/lib/registry.sh"
need_tools docker-registry skopeo setpriv
need_build dist/cli/bin.js
chmod 755 "$work"
cleanup() {
  [[ -n $reg_pid ]] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT


# The image: scratch plus one layer of random (incompressible) bytes, stored uncompressed.
echo "bench/push.sh: building an image with a ${layer_mib} MiB layer..." >&2
head -c $((layer_mib << 20)) /dev/urandom >"$work/random.bin"
"${berth[@]}" build --base scratch --platform linux/amd64 --file "$work/random.bin:/data/random.bin" \
  --compression-level 0 --output "$work/image.tar" >/dev/null 2>&1
rm "$work/random.bin"
"${berth[@]}" copy "$work/image.tar" "oci:$work/layout:bench" >/dev/null 2>&1
chmod -R a+rX "$work/layout"
layer_bytes=$(stat -c %s "$work/image.tar")

skopeo_as_user() {
  local data=$1
  shift
  mkdir -p "$data"
  chmod 777 "$data"
  # Its own auth file and runtime folder: where podman has run, skopeo as nobody otherwise
  # tries /run/containers/65534/auth.json, which it may not read.
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$data" XDG_DATA_HOME="$data" XDG_RUNTIME_DIR="$data" REGISTRY_AUTH_FILE="$data/auth.json" skopeo "$@"
}
skopeo_push() { skopeo_as_user "$1" copy --quiet --dest-tls-verify=false "oci:$work/layout:bench" "docker://$2"; }

# The layer blob's bytes, for curl.
layer_digest=$(node -e "const m=JSON.parse(require('fs').readFileSync(process.argv[1]+'/index.json'));const d=m.manifests[0].digest.split(':')[1];const im=JSON.parse(require('fs').readFileSync(process.argv[1]+'/blobs/sha256/'+d));console.log(im.layers[0].digest)" "$work/layout")
layer_file=$work/layout/blobs/sha256/${layer_digest#sha256:}
curl_push() {
  local loc
  loc=$(curl -sf -X POST -D - -o /dev/null "http://$1/v2/bench/curl/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T "$layer_file" -o /dev/null "$loc&digest=$layer_digest"
}

declare -A results
record() { results[$1]+="$2 "; }

for ((round = 1; round <= rounds; round++)); do
  record node "$(timed node -e '')"

  start_registry
  export XDG_CACHE_HOME=$work/berth-cache-$round
  record berth_cold "$(timed "${berth[@]}" push "$work/image.tar" "$reg/bench/a:v1")"
  record berth_warm "$(timed "${berth[@]}" push "$work/image.tar" "$reg/bench/a:v1")"
  record berth_second "$(timed "${berth[@]}" push "$work/image.tar" "$reg/bench/b:v1")"

  start_registry
  export XDG_CACHE_HOME=$work/berth-lean-cache-$round
  record lean_cold "$(timed "${berth_lean[@]}" push "$work/image.tar" "$reg/bench/a:v1")"
  record lean_warm "$(timed "${berth_lean[@]}" push "$work/image.tar" "$reg/bench/a:v1")"
  record lean_second "$(timed "${berth_lean[@]}" push "$work/image.tar" "$reg/bench/b:v1")"
  unset XDG_CACHE_HOME

  # The floor: curl's bare POST and streaming PUT of the layer, nothing else.
  start_registry
  record curl_cold "$(timed curl_push "$reg")"

  start_registry
  cache=$work/skopeo-cache-$round
  record skopeo_cold "$(timed skopeo_push "$cache" "$reg/bench/a:v1")"
  record skopeo_warm "$(timed skopeo_push "$cache" "$reg/bench/a:v1")"
  record skopeo_second "$(timed skopeo_push "$cache" "$reg/bench/b:v1")"
  record skopeo_second_nocache "$(timed skopeo_push "$work/skopeo-empty-$round" "$reg/bench/c:v1")"
  rm -rf "$work/skopeo-empty-$round"
  echo "bench/push.sh: round $round of $rounds done" >&2
done
stop_registry

m() { tr ' ' '\n' <<<"${results[$1]}" | grep -v '^$' | median; }
node_ms=$(m node)
bc=$(m berth_cold) bw=$(m berth_warm) bs=$(m berth_second)
lc=$(m lean_cold) lw=$(m lean_warm) ls=$(m lean_second)
sc=$(m skopeo_cold) sw=$(m skopeo_warm) ss=$(m skopeo_second) sn=$(m skopeo_second_nocache)
cc=$(m curl_cold)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }

printf '\nberth push vs skopeo copy: image tarball of %s MiB (one %s MiB layer), %s rounds, medians in ms\n\n' "$((layer_bytes >> 20))" "$layer_mib" "$rounds"
printf '| case | berth push (bin/berth.js) | berth push (lean entry) | skopeo copy | skopeo, no blob-info cache |\n|---|---:|---:|---:|---:|\n'
printf '| cold (empty registry) | %s | %s | %s | |\n' "$bc" "$lc" "$sc"
printf '| warm (every blob there) | %s | %s | %s | |\n' "$bw" "$lw" "$sw"
printf '| second repository | %s | %s | %s | %s |\n' "$bs" "$ls" "$ss" "$sn"
printf '| curl: bare POST + streamed PUT of the layer | | | %s | |\n' "$cc"
printf '| `node -e '"''"'` | %s | | | |\n\n' "$node_ms"
for entry in bin lean; do
  if [[ $entry == bin ]]; then c=$bc w=$bw s2=$bs; else c=$lc w=$lw s2=$ls; fi
  printf 'targets, %s entry:\n' "$entry"
  printf '  cold no slower than skopeo:             berth/skopeo = %s  %s\n' "$(ratio "$c" "$sc")" "$(verdict "$c <= $sc")"
  printf '  warm under 2x node -e:                  berth/node   = %s  %s\n' "$(ratio "$w" "$node_ms")" "$(verdict "$w < 2 * $node_ms")"
  printf '  second repository under 2x node -e:     berth/node   = %s  %s\n' "$(ratio "$s2" "$node_ms")" "$(verdict "$s2 < 2 * $node_ms")"
  printf '  second repository vs skopeo without its cache: %sx faster (target 4x)  %s\n' "$(ratio "$sn" "$s2")" "$(verdict "$sn >= 4 * $s2")"
done
