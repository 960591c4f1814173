#!/usr/bin/env bash
# Start-up of three short commands, this checkout against another (an older commit, say),
# interleaved round by round so that load slows both alike; medians in ms.
#
#   npm run build && bash bench/startup.sh /path/to/other/checkout      # 15 rounds
#   ROUNDS=30 bash bench/startup.sh ../berth-before
#
# Both checkouts need `npm run build`. The commands: `berth --version`, `berth tags --tag
# v1.2.3` (no git, no registry) and `berth build --dockerfile` of a COPY onto scratch.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
other=${1:?usage: bench/startup.sh OTHER_CHECKOUT}
other=$(cd "$other" && pwd)
rounds=${ROUNDS:-15}
for c in "$root" "$other"; do
  [[ -f $c/bin/berth.js && -d $c/dist ]] || { echo "bench/startup.sh: $c has no bin/berth.js or dist/ (npm run build)" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-startup.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf 'FROM scratch\nCOPY a /a\n' >"$work/Dockerfile"
echo hi >"$work/a"
export XDG_CACHE_HOME=$work/cache

ms() { local t0; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "bench/startup.sh: failed: $*" >&2; exit 1; }; echo $((($(date +%s%N) - t0) / 1000000)); }
declare -A r
for ((i = 0; i < rounds; i++)); do
  for side in this other; do
    dir=$root
    [[ $side == other ]] && dir=$other
    b=(node "$dir/bin/berth.js")
    r[$side-version]+="$(ms "${b[@]}" --version) "
    r[$side-tags]+="$(ms "${b[@]}" tags --tag v1.2.3) "
    r[$side-build]+="$(ms "${b[@]}" build --dockerfile "$work/Dockerfile" --context "$work" -o "$work/out-$side.tar") "
  done
done
med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "bench/startup.sh: $rounds rounds, medians; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s\n' command "this" "other"
for k in version tags build; do
  case $k in version) name='berth --version' ;; tags) name='berth tags --tag v1.2.3' ;; build) name='berth build --dockerfile (COPY)' ;; esac
  printf '%-34s %6s ms %6s ms\n' "$name" "$(med "${r[this-$k]}")" "$(med "${r[other-$k]}")"
done
