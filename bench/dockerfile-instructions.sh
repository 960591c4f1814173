#!/usr/bin/env bash
# Issue 19's figure: processing 10,000 Dockerfile instructions in under 1 s. Builds a
# Dockerfile of 5,000 LABEL and 5,000 ENV lines (each ENV expanding ${VAR:-default}) from
# scratch with berth (native engine, node's start-up included) and with buildah bud, RUNS
# times each, interleaved; prints each run and the medians. Usage: bench/dockerfile-instructions.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/Dockerfile" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('FROM scratch\n')
    for i in range(5000): f.write(f'LABEL l{i}=v{i}\n')
    for i in range(5000): f.write(f'ENV E{i % 50}=${{E{(i + 1) % 50}:-x}}\n')
PY
mkdir -p "$work/ctx"
echo "input: $(($(wc -l < "$work/Dockerfile") - 1)) instructions after FROM scratch; $runs runs of each, interleaved"
b=(); p=()
for i in $(seq "$runs"); do
  s=$(date +%s.%N)
  node bin/berth.js build --dockerfile "$work/Dockerfile" --context "$work/ctx" --output "$work/out.tar" >/dev/null 2>&1
  e=$(date +%s.%N); b+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N)
  buildah --root "$work/b/root" --runroot "$work/b/run" --storage-driver vfs bud --isolation chroot -q -f "$work/Dockerfile" "$work/ctx" >/dev/null 2>&1
  e=$(date +%s.%N); p+=("$(echo "$e - $s" | bc)")
  echo "run $i: berth ${b[-1]} s, buildah bud ${p[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${b[@]}"); mp=$(median "${p[@]}")
echo "median: berth ${mb} s (target under 1 s), buildah bud ${mp} s; buildah / berth: $(echo "scale=2; $mp / $mb" | bc)x"
