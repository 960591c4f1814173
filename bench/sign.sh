#!/usr/bin/env bash
# Times signing and verifying a release's worth of images (20: 5 components x 4 platforms)
# on a local CNCF registry (docker-registry on 127.0.0.1). Each round starts a fresh
# registry, publishes the 20 images with `berth release` (not timed), then times:
#
#   one process   bench/lib/sign-verify.mjs: read and decrypt the key (cosign format), sign
#                 all 20 (as `berth sign` does), verify all 20 (as `berth verify` does), in
#                 one node process: the figure the target is for (< 2 s for all 20)
#   sign (CLI)    `berth sign --key K REF x20`: one process, key decryption included
#   verify (CLI)  `berth verify --key PUB REF`, once for one of the images
#   sign alone vs sign + attest   bench/lib/sign-attest.mjs: the 20 images published twice more
#                 (into fresh repositories, not timed); one copy signed with one key, the other
#                 signed with another key while a signed SLSA provenance statement is attached
#                 to each (.att tag, referrer, referrers index), in one process, with the same
#                 --jobs; the order alternates by round. Target: sign + attest <= 1.5x sign
#                 alone. The requests each arm made are printed too.
#   release --sign vs --sign --provenance   the CLI: the 5 components released into fresh
#                 repositories (blobs mounted), with --recursive, each way
#   sign alone vs sign + attest, registry RTT_MS away   the same two arms (same images, keys,
#                 artifacts and --jobs, 4: the CLI's default) against another fresh registry
#                 reached through bench/lib/latency-proxy.mjs on 127.0.0.1, which holds every
#                 chunk RTT_MS/2 (default 20 ms) each way: what signing against a registry
#                 across a network (ghcr.io, quay.io, gcr.io) waits on. The round trip actually
#                 added is measured with curl (GET /v2/ direct and through the proxy) and printed.
#
# Both conditions are printed on one line: on loopback the registry's own CPU per request
# dominates (on 2 shared cores), tens of ms away the round trips do.
#
# Medians of the rounds are reported.
#
#   npm run build && bash bench/sign.sh        # 5 rounds
#   ROUNDS=9 bash bench/sign.sh
#   RTT_MS=50 bash bench/sign.sh               # the far registry 50 ms away
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-5}
berth=(node "$root/bin/berth.js")

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-sign.XXXXXX")
bench=bench/sign.sh
# shellcheck source=bench/lib/registry.sh
source "$root/bench/lib/registry.sh"
need_tools docker-registry curl
need_build dist/sign/index.js
rtt=${RTT_MS:-20}
proxy_pid=
# start_proxy PORT: the latency proxy in front of 127.0.0.1:PORT; sets `proxy` (host:port).
start_proxy() {
  stop_proxy
  # Removed first: the background start truncates it only later, and a stale port would be read.
  rm -f "$work/proxy.port"
  RTT_MS=$rtt node "$root/bench/lib/latency-proxy.mjs" "$1" >"$work/proxy.port" 2>"$work/proxy.err" &
  proxy_pid=$!
  local _
  for _ in $(seq 200); do
    [[ -s $work/proxy.port ]] && break
    sleep 0.05
  done
  proxy=127.0.0.1:$(head -1 "$work/proxy.port")
  registry_wait "$proxy" "$proxy_pid" || { echo "$bench: the latency proxy did not start" >&2; cat "$work/proxy.err" >&2; exit 1; }
}
stop_proxy() {
  if [[ -n $proxy_pid ]]; then
    kill "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=
  fi
}
# measure_rtt DIRECT PROXY: "direct proxied first" in ms: the median time of `GET /v2/` on one
# kept-alive connection (9 requests, the first left out) straight to the registry and through
# the proxy, and the first request through the proxy (new connection: handshake + request).
measure_rtt() {
  local u out=()
  for u in "$1" "$2"; do
    out+=("$(curl -s $(printf -- '-o /dev/null %.0s' {1..9}) -w '%{time_total}\n' $(printf "http://$u/v2/ %.0s" {1..9}))")
  done
  node -e '
    const ms = (s) => s.trim().split("\n").map((x) => Number(x) * 1000);
    const med = (a) => { const b = [...a].sort((x, y) => x - y); return b[(b.length - 1) >> 1]; };
    const d = ms(process.argv[1]), p = ms(process.argv[2]);
    console.log([med(d.slice(1)), med(p.slice(1)), p[0]].map((x) => x.toFixed(1)).join(" "));
  ' "${out[0]}" "${out[1]}"
}
cleanup() {
  stop_proxy
  stop_registry
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

export COSIGN_PASSWORD=bench
export XDG_CACHE_HOME=$work/cache
"${berth[@]}" keygen --output-key-prefix "$work/cosign" 2>/dev/null

components=(controller webhook cainjector acmesolver startupapicheck)
platforms=(linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le)
echo "bench/sign.sh: building 20 images..." >&2
mkdir -p "$work/in"
component_flags=()
for c in "${components[@]}"; do
  for p in "${platforms[@]}"; do
    "${berth[@]}" build --base static --platform "$p" --label "component=$c" --output "$work/in/$c-${p//\//-}.tar" >/dev/null 2>&1
  done
  component_flags+=(--component "$c=$work/in/$c-*.tar")
done

declare -A results
record() { results[$1]+="$2 "; }

for ((round = 1; round <= rounds; round++)); do
  start_registry
  "${berth[@]}" release "${component_flags[@]}" --registry "$reg/bench" --tag v1 --quiet --json >"$work/release.json" 2>/dev/null
  # The 20 per-arch images, by digest.
  mapfile -t refs < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const c of r.components) for (const p of c.platforms) console.log(`${process.argv[2]}/bench/${c.name}@${p.digest}`);
  ' "$work/release.json" "$reg")
  ((${#refs[@]} == 20)) || { echo "bench/sign.sh: expected 20 images, got ${#refs[@]}" >&2; exit 1; }

  line=$(node "$root/bench/lib/sign-verify.mjs" "$work/cosign.key" "$work/cosign.pub" "${refs[@]}")
  record one_total "$(node -e 'console.log(JSON.parse(process.argv[1]).totalMs)' "$line")"
  record one_key "$(node -e 'console.log(JSON.parse(process.argv[1]).keyMs)' "$line")"
  record one_sign "$(node -e 'console.log(JSON.parse(process.argv[1]).signMs)' "$line")"
  record one_verify "$(node -e 'console.log(JSON.parse(process.argv[1]).verifyMs)' "$line")"

  # The CLI on a fresh registry state: a second key, so every image gets a new signature.
  "${berth[@]}" keygen --output-key-prefix "$work/cli-$round" 2>/dev/null
  t0=$(ms_now)
  "${berth[@]}" sign --key "$work/cli-$round.key" "${refs[@]}" >/dev/null 2>"$work/sign.err" || { cat "$work/sign.err" >&2; exit 1; }
  record cli_sign $(($(ms_now) - t0))
  t0=$(ms_now)
  "${berth[@]}" verify --key "$work/cli-$round.pub" "${refs[0]}" >/dev/null 2>"$work/verify.err" || { cat "$work/verify.err" >&2; exit 1; }
  record cli_verify $(($(ms_now) - t0))
  # Sign alone, and sign + attest, each on its own copy of the 20 images (published into two
  # fresh sets of repositories of the same name lengths, not timed): both arms start from
  # the same state, nothing signed or attested. The order alternates by round.
  pair=()
  for set in pa pb; do
    "${berth[@]}" release "${component_flags[@]}" --registry "$reg/$set$round" --tag v1 --quiet --json >"$work/$set.json" 2>/dev/null
    mapfile -t -O "${#pair[@]}" pair < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const c of r.components) for (const p of c.platforms) console.log(`${process.argv[2]}/${c.name}@${p.digest}`);
    ' "$work/$set.json" "$reg/$set$round")
  done
  ((${#pair[@]} == 40)) || { echo "bench/sign.sh: expected 2 x 20 images, got ${#pair[@]}" >&2; exit 1; }
  "${berth[@]}" keygen --output-key-prefix "$work/sa-$round" 2>/dev/null
  "${berth[@]}" keygen --output-key-prefix "$work/sb-$round" 2>/dev/null
  order=$([[ $((round % 2)) == 1 ]] && echo sa || echo as)
  line=$(node "$root/bench/lib/sign-attest.mjs" "$order" "$work/sa-$round.key" "$work/sb-$round.key" "${pair[@]}")
  record sign_alone "$(node -e 'console.log(JSON.parse(process.argv[1]).signMs)' "$line")"
  record sign_attest "$(node -e 'console.log(JSON.parse(process.argv[1]).signAttestMs)' "$line")"
  record sign_ratio "$(node -e 'const l = JSON.parse(process.argv[1]); console.log((l.signAttestMs / l.signMs).toFixed(2))' "$line")"
  requests=$(node -e 'const l = JSON.parse(process.argv[1]); console.log(`${l.signRequests} ${l.signAttestRequests}`)' "$line")
  for mode in sign prov; do
    extra=(--sign)
    [[ $mode == prov ]] && extra+=(--provenance)
    t0=$(ms_now)
    "${berth[@]}" release "${component_flags[@]}" --registry "$reg/$mode$round" --tag v1 --quiet --recursive --key "$work/cosign.key" "${extra[@]}" >/dev/null 2>"$work/rel.err" || { cat "$work/rel.err" >&2; exit 1; }
    record "rel_$mode" $(($(ms_now) - t0))
  done
  # The same two arms with the registry RTT_MS away: a fresh registry, the two copies of the
  # 20 images published into it directly (not timed), then signed (and attested) through
  # bench/lib/latency-proxy.mjs on 127.0.0.1, which holds every chunk RTT/2 each way.
  start_registry
  pair=()
  for set in qa qb; do
    "${berth[@]}" release "${component_flags[@]}" --registry "$reg/$set$round" --tag v1 --quiet --json >"$work/$set.json" 2>/dev/null
  done
  start_proxy "${reg#*:}"
  for set in qa qb; do
    mapfile -t -O "${#pair[@]}" pair < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const c of r.components) for (const p of c.platforms) console.log(`${process.argv[2]}/${c.name}@${p.digest}`);
    ' "$work/$set.json" "$proxy/$set$round")
  done
  ((${#pair[@]} == 40)) || { echo "bench/sign.sh: expected 2 x 20 images, got ${#pair[@]}" >&2; exit 1; }
  read -r direct_ms proxy_ms first_ms <<<"$(measure_rtt "$reg" "$proxy")"
  record rtt_direct "$direct_ms"
  record rtt_proxy "$proxy_ms"
  record rtt_first "$first_ms"
  "${berth[@]}" keygen --output-key-prefix "$work/la-$round" 2>/dev/null
  "${berth[@]}" keygen --output-key-prefix "$work/lb-$round" 2>/dev/null
  line=$(node "$root/bench/lib/sign-attest.mjs" "$order" "$work/la-$round.key" "$work/lb-$round.key" "${pair[@]}")
  record far_alone "$(node -e 'console.log(JSON.parse(process.argv[1]).signMs)' "$line")"
  record far_attest "$(node -e 'console.log(JSON.parse(process.argv[1]).signAttestMs)' "$line")"
  record far_ratio "$(node -e 'const l = JSON.parse(process.argv[1]); console.log((l.signAttestMs / l.signMs).toFixed(2))' "$line")"
  far_requests=$(node -e 'const l = JSON.parse(process.argv[1]); console.log(`${l.signRequests} ${l.signAttestRequests}`)' "$line")
  stop_proxy
  echo "bench/sign.sh: round $round done" >&2
done
stop_registry

med() { tr ' ' '\n' <<<"${results[$1]}" | grep . | median; }
show() { printf '%-44s %6s ms   (runs: %s)\n' "$1" "$(med "$2")" "${results[$2]}"; }
echo "20 images (5 components x 4 platforms); $rounds rounds, medians"
show 'one process: key + sign 20 + verify 20' one_total
show '  of which: read and decrypt the key' one_key
show '  of which: sign 20' one_sign
show '  of which: verify 20' one_verify
show 'berth sign --key K REF x20 (one process)' cli_sign
show 'berth verify --key PUB REF (one image)' cli_verify
show 'sign 20 alone (one process)' sign_alone
show 'sign 20 + attest 20 (one process)' sign_attest
printf '%-44s %6s      (runs: %s)\n' '  the two, per round' "$(med sign_ratio)x" "${results[sign_ratio]}"
read -r sign_req both_req <<<"$requests"
echo "requests: sign 20 alone $sign_req, sign + attest 20 $both_req (last round)"
show 'berth release --sign --recursive (5x4)' rel_sign
show 'berth release --sign --provenance --recursive' rel_prov
awk -v t="$(med one_total)" 'BEGIN { printf "sign + verify 20 images in one process: %.2f s (target < 2 s)\n", t / 1000 }'
echo "with the registry $rtt ms away (bench/lib/latency-proxy.mjs, RTT_MS=$rtt; a fresh registry per round):"
printf '  %-42s %6s ms direct, %s ms through the proxy (medians of the rounds; runs: %s)\n' 'GET /v2/, kept-alive connection' "$(med rtt_direct)" "$(med rtt_proxy)" "${results[rtt_proxy]}"
printf '  %-42s %6s ms (handshake + request: about 2 RTT)\n' 'GET /v2/ through the proxy, new connection' "$(med rtt_first)"
show '  sign 20 alone (one process)' far_alone
show '  sign 20 + attest 20 (one process)' far_attest
printf '%-44s %6s      (runs: %s)\n' '    the two, per round' "$(med far_ratio)x" "${results[far_ratio]}"
read -r sign_req both_req <<<"$far_requests"
echo "  requests: sign 20 alone $sign_req, sign + attest 20 $both_req (last round)"
awk -v a="$(med sign_attest)" -v s="$(med sign_alone)" -v fa="$(med far_attest)" -v fs="$(med far_alone)" -v rtt="$rtt" -v m="$(med rtt_proxy)" -v d="$(med rtt_direct)" \
  'BEGIN { printf "sign + attest 20 / sign 20 alone: %.2fx on loopback (registry CPU-bound), %.2fx with the registry %d ms away (measured %.1f ms per request, %.1f ms direct) (target <= 1.5x)\n", a / s, fa / fs, rtt, m, d }'
awk -v a="$(med rel_prov)" -v s="$(med rel_sign)" 'BEGIN { printf "release --sign --provenance / release --sign: %.2fx\n", a / s }'
