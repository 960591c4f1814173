#!/usr/bin/env bash
# Prints the workspace status keys berth stamps images with (docs/status.md). Bazel runs it
# before every build, in the workspace root, as .bazelrc says:
#
#   build --workspace_status_command=hack/build/print-workspace-status.sh
#
# The keys come from `berth status`, through its lean bundled entry point
# (dist/lean/status.cjs). Its output is cached in <git dir>/berth/status.cache, keyed on
# everything it depends on: HEAD, the tags, the dirty state, the shallow boundary, the git
# config (the origin remote), berth.yaml, the environment variables below, the workspace
# path, and this script and the bundle (either newer than the cache: miss). When the key
# matches, node is not started at all. When it does not, node is started as soon as that is
# known and gets the git facts read here on stdin, so its start-up overlaps the git calls.
#
# It never fails a build over the state of the repository: without git it prints the keys
# from the environment and defaults; without node or the bundle it does the same with a
# warning. It exits non-zero only when the configuration is broken (a bad berth.yaml or
# override), after one line on stderr saying what to fix.

export LC_ALL=C             # byte semantics for the key's lengths and comparisons
export GIT_OPTIONAL_LOCKS=0 # `git status` must not take the index lock from the user
trap '' PIPE                # a node that died early must not take this script with it

# The environment the status depends on. Keep in step with STATUS_ENV_VARS in
# src/status/env.ts (test/status/script.test.ts checks that they agree).
env_vars=(
  DOCKER_REGISTRY DOCKER_PUSH_REGISTRY DOCKER_TAG APP_VERSION SOURCE_DATE_EPOCH
  JOB_TYPE PULL_NUMBER PULL_BASE_SHA PULL_PULL_SHA PULL_BASE_REF PULL_HEAD_REF REPO_OWNER REPO_NAME
  GITHUB_ACTIONS GITHUB_EVENT_NAME GITHUB_REF GITHUB_SHA GITHUB_HEAD_REF GITHUB_SERVER_URL GITHUB_REPOSITORY
)

self=${BASH_SOURCE[0]}
self_dir=${self%/*}
[[ $self_dir == "$self" ]] && self_dir=.

# The bundled entry point: $BERTH_STATUS_ENTRY, berth's own checkout, or berth installed in
# the workspace's node_modules.
entry=${BERTH_STATUS_ENTRY-}
if [[ -z $entry ]]; then
  for candidate in "$self_dir/../../dist/lean/status.cjs" "$PWD/node_modules/berth/dist/lean/status.cjs"; do
    if [[ -f $candidate ]]; then
      entry=$candidate
      break
    fi
  done
fi
have_node=0
[[ -n $entry && -f $entry ]] && command -v node >/dev/null 2>&1 && have_node=1

# Reads a whole file into the variable named $1 without starting a process.
slurp() {
  if [[ -f $2 && -r $2 ]]; then
    IFS= read -r -d '' "$1" <"$2"
  else
    printf -v "$1" '%s' '<none>'
  fi
  return 0
}

# Kubernetes' buildDate: $SOURCE_DATE_EPOCH or now, in UTC. Never cached.
print_build_date() {
  local epoch=-1
  [[ ${SOURCE_DATE_EPOCH-} =~ ^[0-9]+$ ]] && epoch=$SOURCE_DATE_EPOCH
  if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 2))); then
    TZ=UTC0 printf 'buildDate %(%Y-%m-%dT%H:%M:%SZ)T\n' "$epoch"
  elif ((epoch >= 0)); then
    printf 'buildDate %s\n' "$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$epoch" +%Y-%m-%dT%H:%M:%SZ)"
  else
    printf 'buildDate %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  fi
}

# Every key from the environment and defaults, for when berth itself cannot run.
print_fallback() {
  printf 'berth: warning: %s; printing the keys from the environment and defaults\n' "$1" >&2
  local registry=${DOCKER_REGISTRY-} line
  if [[ -z $registry && -f berth.yaml ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      if [[ $line =~ ^registry:[[:space:]]*[\"\']?([^\"\'#[:space:]]+) ]]; then
        registry=${BASH_REMATCH[1]}
        break
      fi
    done <berth.yaml
  fi
  registry=${registry:-localhost:5000}
  local version=${APP_VERSION:-v0.0.0-unknown}
  local commit=${head:-unknown} tree=${scm_status:-unknown}
  local major='' minor='' year
  if [[ $version =~ ^v([0-9]+)\.([0-9]+)(\.[0-9]+)?([-].*)?([+].*)?$ ]]; then
    major=${BASH_REMATCH[1]}
    minor=${BASH_REMATCH[2]}
    [[ -n ${BASH_REMATCH[4]} ]] && minor+='+'
  fi
  year=$(print_build_date)
  year=${year#buildDate }
  year=${year%%-*}
  printf '%s\n' \
    "STABLE_DOCKER_REGISTRY $registry" \
    "STABLE_DOCKER_PUSH_REGISTRY ${DOCKER_PUSH_REGISTRY:-$registry}" \
    "STABLE_DOCKER_TAG ${DOCKER_TAG:-${APP_VERSION:-${version//+/-}}}" \
    "STABLE_RELEASE_VERSION $version" \
    "STABLE_BUILD_GIT_COMMIT $commit" \
    "STABLE_BUILD_SCM_STATUS $tree" \
    "STABLE_BUILD_SCM_REVISION $version" \
    "STABLE_BUILD_MAJOR_VERSION $major" \
    "STABLE_BUILD_MINOR_VERSION $minor" \
    "STABLE_LAST_COMMIT_YEAR $year" \
    "gitCommit $commit" \
    "gitTreeState $tree" \
    "gitVersion $version" \
    "gitMajor $major" \
    "gitMinor $minor"
  print_build_date
  exit 0
}

# Ends the run after node: its exit code decides.
finish() {
  if (($1 == 0)); then
    print_build_date
    exit 0
  elif (($1 == 2)); then
    exit 2 # a broken berth.yaml or override: berth said what to fix on stderr
  fi
  print_fallback "berth status failed (exit $1)"
}

# Outside git (or before the first commit) there is nothing to key a cache on.
head='' scm_status=''
if ! rev=$(git rev-parse --absolute-git-dir --git-common-dir HEAD 2>/dev/null); then
  ((have_node)) || print_fallback "node or dist/lean/status.cjs was not found (run npm ci && npm run build)"
  node "$entry" --no-build-date
  finish $?
fi
git_dir=${rev%%$'\n'*}
rest=${rev#*$'\n'}
common_dir=${rest%%$'\n'*}
head=${rest#*$'\n'}
[[ $common_dir == /* ]] || common_dir=$PWD/$common_dir
cache=$git_dir/berth/status.cache

# The tags are listed while the rest of the key is read.
exec 3< <(git for-each-ref --format='%(objectname) %(refname)' refs/tags 2>/dev/null)

# The key, in two parts: what costs no process first, then the dirty state and the tags.
# Each part is written as <length>:<text> so no two different inputs give the same key.
slurp shallow "$common_dir/shallow"
slurp git_config "$common_dir/config"
slurp config berth.yaml
key="berth status cache 2"$'\n'
for part in "root=$PWD" "entry=$entry" "head=$head" "shallow=$shallow" "gitconfig=$git_config" "berth.yaml=$config"; do
  key+="${#part}:$part"$'\n'
done
for name in "${env_vars[@]}"; do
  if [[ -n ${!name+set} ]]; then part="$name=${!name}"; else part=$name; fi
  key+="${#part}:$part"$'\n'
done

cached=''
if [[ -f $cache && -n $entry && ! $entry -nt $cache && ! $self -nt $cache ]]; then
  IFS= read -r -d '' cached <"$cache"
fi
cached_key=${cached#*$'\n'}

# Start node now when the key cannot match (so its start-up overlaps git status), else
# after the full comparison. It reads the git facts and the key from stdin, prints the
# keys, and writes the cache. Waiting for a process substitution needs bash 4.4.
overlap=0
((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))) && overlap=1
[[ -n ${BERTH_STATUS_SEQUENTIAL-} ]] && overlap=0 # the older bash's way, for tests and doubt
node_args=(--no-build-date --stdin "--commit=$head" "--git-common-dir=$common_dir" "--cache-dir=$git_dir/berth")
node_pid=''
if ((overlap && have_node)) && [[ ${cached_key:0:${#key}} != "$key" ]]; then
  exec 5> >(exec node "$entry" "${node_args[@]}" 3<&-)
  node_pid=$!
fi

if porcelain=$(git status --porcelain 2>/dev/null 5>&-) && [[ -z $porcelain ]]; then
  scm_status=clean
else
  scm_status=dirty # as Kubernetes does: a failing git status counts as dirty
fi
tags=''
IFS= read -r -d '' tags <&3
exec 3<&-
for part in "scm=$scm_status" "tags=$tags"; do
  key+="${#part}:$part"$'\n'
done

if [[ -z $node_pid ]]; then
  header="${#key}"$'\n'"$key"
  if [[ -n $cached && ${cached:0:${#header}} == "$header" ]]; then
    printf '%s' "${cached:${#header}}"
    print_build_date
    exit 0
  fi
  ((have_node)) || print_fallback "node or dist/lean/status.cjs was not found (run npm ci && npm run build)"
  if ((overlap)); then
    exec 5> >(exec node "$entry" "${node_args[@]}" 3<&-)
    node_pid=$!
  fi
fi

# The commit's time and describe, in the format of DESCRIBE_FORMAT in src/status/git-facts.ts.
facts="scm-status=$scm_status"$'\n'
if meta=$(git log -1 --format='%ct%n%(describe:tags,match=v*,abbrev=14)%n.' "$head^{commit}" 2>/dev/null 5>&-); then
  meta=${meta%$'\n.'}
  facts+="commit-time=${meta%%$'\n'*}"$'\n'"describe=${meta#*$'\n'}"$'\n'
fi
if [[ -n $node_pid ]]; then
  printf '%s\n%s' "$facts" "$key" >&5 2>/dev/null # node may have died: finish says so
  exec 5>&-
  wait "$node_pid"
  finish $?
fi
node "$entry" "${node_args[@]}" < <(printf '%s\n%s' "$facts" "$key")
finish $?
