# Sourced by the benchmarks that talk to a registry (push.sh, release.sh, sign.sh): timing
# helpers and a fresh CNCF registry (docker-registry) on 127.0.0.1 with a free port.
# The caller sets `work` (its temporary folder) and `bench` (its name, for messages) first;
# start_registry sets `reg` (host:port) and `reg_pid`.

# shellcheck source=hack/lib/registry.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../hack/lib/registry.sh"

# need_tools TOOL...: stops the bench (exit 1) naming the first one not on PATH.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$bench: $tool is not installed" >&2; exit 1; }
  done
}

# need_build FILE: stops the bench (exit 1) when berth's build output FILE (under the checkout) is missing.
need_build() {
  [[ -f $root/$1 ]] || { echo "$bench: dist/ is missing; run npm run build first" >&2; exit 1; }
}

ms_now() { date +%s%N | cut -c1-13; }

# Runs a command, discarding its output, and prints how long it took in ms.
timed() {
  local t0 t1
  t0=$(ms_now)
  "$@" >/dev/null 2>"$work/last.err" || { echo "$bench: failed: $*" >&2; cat "$work/last.err" >&2; exit 1; }
  t1=$(ms_now)
  echo $((t1 - t0))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

reg_pid=
start_registry() {
  stop_registry
  rm -rf "$work/registry"
  mkdir -p "$work/registry"
  local port
  port=$(free_port)
  registry_config "$work/registry" "$port" bench
  docker-registry serve "$work/registry/config.yml" >/dev/null 2>&1 &
  reg_pid=$!
  reg=127.0.0.1:$port
  registry_wait "$reg" "$reg_pid" && return 0
  echo "$bench: docker-registry did not start" >&2
  exit 1
}

stop_registry() {
  if [[ -n $reg_pid ]]; then
    kill "$reg_pid" 2>/dev/null || true
    wait "$reg_pid" 2>/dev/null || true
    reg_pid=
  fi
}
