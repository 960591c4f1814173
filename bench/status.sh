#!/usr/bin/env bash
# Times hack/build/print-workspace-status.sh, in a git repository of a few thousand files,
# against a plain bash script that runs the same git commands and prints the same keys, and
# against `node -e ''`, in the same run. Runs are interleaved (one of each per round) so that
# a busy machine slows all of them alike; the median of each is reported.
#
#   bash bench/status.sh            # 30 rounds
#   ROUNDS=60 bash bench/status.sh
#
# Needs `npm run build` first (dist/lean/status.cjs). Targets (docs/performance.md):
#   unchanged (cache hit)   < 2x the plain bash script
#   changed (cache miss)    < 1.5x `node -e ''`
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
unset BERTH_STATUS_ENTRY
rounds=${ROUNDS:-30}
files=${FILES:-3000}
status_script=$root/hack/build/print-workspace-status.sh
if [[ ! -f $root/dist/lean/status.cjs ]]; then
  echo "bench/status.sh: dist/lean/status.cjs is missing; run npm run build first" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-status.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo=$work/repo
mkdir -p "$repo"
cd "$repo"
git init -q -b main .
git config user.email bench@example.com
git config user.name bench
git config commit.gpgsign false
git config tag.gpgsign false
git remote add origin git@github.com:example/bench.git
for ((d = 0; d < files / 50; d++)); do
  mkdir -p "src/pkg$d"
  for ((f = 0; f < 50; f++)); do
    printf 'package pkg%d\n\nconst N%d = %d\n' "$d" "$f" "$((d * 50 + f))" >"src/pkg$d/file$f.go"
  done
done
printf 'registry: ghcr.io/example\ntags:\n  - "{{ .Version }}"\n' >berth.yaml
printf '/bazel-*\n' >.gitignore
git add -A
git commit -qm initial
git tag v1.0.0
echo 1 >>src/pkg0/file0.go
git commit -qam second
git tag -a v1.1.0 -m v1.1.0
echo 2 >>src/pkg0/file0.go
git commit -qam third
tracked=$(git ls-files | wc -l | tr -d ' ')

# The plain script: the same git commands as berth, Kubernetes' rewrite done in bash.
cat >"$work/plain-status.sh" <<'EOF'
#!/usr/bin/env bash
commit=$(git rev-parse HEAD)
if s=$(git status --porcelain 2>/dev/null) && [[ -z $s ]]; then tree=clean; else tree=dirty; fi
version=$(git describe --tags --match='v*' --abbrev=14 "$commit^{commit}" 2>/dev/null)
time=$(git log -1 --format=%ct "$commit")
remote=$(git config --get remote.origin.url)
dashes=${version//[^-]/}
if [[ $dashes == --- && $version =~ ^(.*)-([0-9]+)-g([0-9a-f]{14})$ ]]; then
  version="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}+${BASH_REMATCH[3]}"
elif [[ $dashes == -- && $version =~ ^(.*)-g([0-9a-f]{14})$ ]]; then
  version="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}"
fi
[[ $tree == dirty ]] && version+=-dirty
major='' minor=''
if [[ $version =~ ^v([0-9]+)\.([0-9]+)(\.[0-9]+)?([-].*)?([+].*)?$ ]]; then
  major=${BASH_REMATCH[1]}; minor=${BASH_REMATCH[2]}; [[ -n ${BASH_REMATCH[4]} ]] && minor+=+
fi
registry=${DOCKER_REGISTRY:-ghcr.io/example}
r=${remote#git@}; r=${r/://}; r=https://${r%.git}
cat <<KEYS
STABLE_DOCKER_REGISTRY $registry
STABLE_DOCKER_PUSH_REGISTRY ${DOCKER_PUSH_REGISTRY:-$registry}
STABLE_DOCKER_TAG ${DOCKER_TAG:-${APP_VERSION:-${version//+/-}}}
STABLE_RELEASE_VERSION $version
STABLE_BUILD_GIT_COMMIT $commit
STABLE_BUILD_SCM_STATUS $tree
STABLE_BUILD_SCM_REVISION $version
STABLE_BUILD_MAJOR_VERSION $major
STABLE_BUILD_MINOR_VERSION $minor
STABLE_LAST_COMMIT_YEAR $(TZ=UTC0 printf '%(%Y)T' "$time")
STABLE_BUILD_SCM_TIMESTAMP $time
STABLE_BUILD_SCM_SOURCE $r
gitCommit $commit
gitTreeState $tree
gitVersion $version
gitMajor $major
gitMinor $minor
buildDate $(TZ=UTC0 printf '%(%Y-%m-%dT%H:%M:%SZ)T' -1)
KEYS
EOF
chmod +x "$work/plain-status.sh"

# The two must print the same keys, or the comparison means nothing.
diff <(bash "$work/plain-status.sh" | grep -v '^buildDate' | sort) <(BERTH_STATUS_ENTRY='' bash "$status_script" 2>/dev/null | grep -v '^buildDate' | sort) >/dev/null || {
  echo "bench/status.sh: the plain script and berth print different keys:" >&2
  diff <(bash "$work/plain-status.sh" | sort) <(bash "$status_script" | sort) >&2 || true
  exit 1
}

variants=(node plain hit miss late yaml)
declare -A label=(
  [node]="node -e ''"
  [plain]="plain bash status script (5 git calls)"
  [hit]="berth, nothing changed (cache hit)"
  [miss]="berth, HEAD/env changed (cache miss)"
  [late]="berth, only the tags changed (miss)"
  [yaml]="berth, berth.yaml changed too"
)
declare -A samples
prepare() {
  case $1 in
    miss) rm -f .git/berth/status.cache ;;
    late) git tag -f "bench-$i" HEAD >/dev/null ;; # found only after git status
    yaml) rm -rf .git/berth ;;
  esac
}
runone() {
  case $1 in
    node) node -e '' ;;
    plain) bash "$work/plain-status.sh" ;;
    *) bash "$status_script" ;;
  esac
}
bash "$status_script" >/dev/null 2>&1 # warm the cache and the page cache
for ((i = 0; i < rounds; i++)); do
  for v in "${variants[@]}"; do
    prepare "$v"
    s=$EPOCHREALTIME
    runone "$v" >/dev/null 2>&1
    e=$EPOCHREALTIME
    samples[$v]+="$((${e/./} - ${s/./})) "
  done
done

median_us() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
declare -A med
for v in "${variants[@]}"; do med[$v]=$(median_us "${samples[$v]}"); done

echo "berth status benchmark: $tracked tracked files, $rounds rounds, median wall time"
echo "machine: $(nproc 2>/dev/null || echo '?') cores, node $(node --version), git $(git --version | awk '{print $3}'), bash ${BASH_VERSION%%(*}"
for v in "${variants[@]}"; do
  printf '  %-42s %7s ms\n' "${label[$v]}" "$(ms "${med[$v]}")"
done
hit_ratio=$(ratio "${med[hit]}" "${med[plain]}")
miss_ratio=$(ratio "${med[miss]}" "${med[node]}")
late_ratio=$(ratio "${med[late]}" "${med[node]}")
yaml_ratio=$(ratio "${med[yaml]}" "${med[node]}")
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r < t) ? "meets" : "MISSES"}'; }
echo "  unchanged / plain bash:      ${hit_ratio}x  ($(verdict "$hit_ratio" 2) the target < 2x)"
echo "  changed / node -e '':        ${miss_ratio}x  ($(verdict "$miss_ratio" 1.5) the target < 1.5x)"
echo "  tags changed / node -e '':   ${late_ratio}x  ($(verdict "$late_ratio" 1.5) the target < 1.5x)"
echo "  berth.yaml changed / node:   ${yaml_ratio}x  (rare: the parsed berth.yaml is cached too)"

# A hostile berth.yaml (issue 20): a 324-byte alias bomb must end berth status with exit 2
# within 1 s (it hung before). Timed a few times in this same run, worst case printed.
bomb=$work/bomb
mkdir -p "$bomb"
{
  echo 'a: &a ["x","x","x","x","x","x","x","x","x"]'
  prev=a
  for n in b c d e f g h i; do echo "$n: &$n [$(printf "*$prev,%.0s" 1 2 3 4 5 6 7 8)*$prev]"; prev=$n; done
} >"$bomb/berth.yaml"
worst_case() { # DIR: the worst of 5 runs of the status script there, in µs; sets rc
  local w=0 t s e
  for ((i = 0; i < 5; i++)); do
    s=$EPOCHREALTIME
    rc=0
    (cd "$1" && BERTH_STATUS_ENTRY='' bash "$status_script" >/dev/null 2>&1) || rc=$?
    e=$EPOCHREALTIME
    t=$((${e/./} - ${s/./}))
    ((t > w)) && w=$t
  done
  echo "$w"
}
worst=$(worst_case "$bomb")
echo "  alias-bomb berth.yaml:       exit 2, worst of 5 $(ms "$worst") ms  ($(verdict "$(ratio "$worst" 1000000)" 1) the target < 1 s)"
# 15,000 aliases in 45 KB: the yaml package resolves each alias by walking the whole document.
aliases=$work/aliases
mkdir -p "$aliases"
{ printf 'a: &a [x, y]\nb: ['; for ((i = 0; i < 14999; i++)); do printf '*a,'; done; printf '*a]\n'; } >"$aliases/berth.yaml"
worst=$(worst_case "$aliases")
echo "  15,000 aliases berth.yaml:   exit 2, worst of 5 $(ms "$worst") ms  ($(verdict "$(ratio "$worst" 1000000)" 1) the target < 1 s)"
