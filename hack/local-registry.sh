#!/usr/bin/env bash
# A registry on this machine to try berth against: the CNCF registry (Debian's docker-registry,
# which hack/install-deps.sh installs) on localhost:PORT (default 5000), plain HTTP, no auth,
# storing and logging under dist/registry. It starts in the background and this script
# returns once the registry answers; `stop` stops it.
#
#   hack/local-registry.sh            # localhost:5000
#   hack/local-registry.sh 5001       # another port
#   hack/local-registry.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib/registry.sh
source hack/lib/registry.sh
dir=${BERTH_REGISTRY_DIR:-dist/registry}
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)

if [[ ${1:-} == stop ]]; then
  [[ -f $dir/pid ]] || { echo "local-registry: none running (no $dir/pid)" >&2; exit 1; }
  kill "$(cat "$dir/pid")" 2>/dev/null || true
  rm -f "$dir/pid"
  echo "local-registry: stopped" >&2
  exit 0
fi

port=${1:-5000}
command -v docker-registry >/dev/null || { echo "local-registry: docker-registry is not installed: run hack/install-deps.sh (or: docker run -d -p $port:5000 registry:2)" >&2; exit 1; }
if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
  echo "local-registry: already running (pid $(cat "$dir/pid")); hack/local-registry.sh stop stops it" >&2
  exit 1
fi
registry_config "$dir" "$port" berth-local-registry
docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 </dev/null &
echo $! >"$dir/pid"
if registry_wait "127.0.0.1:$port" "$(cat "$dir/pid")"; then
  echo "local-registry: localhost:$port answers (pid $(cat "$dir/pid"), storage $dir/data, log $dir/log); hack/local-registry.sh stop stops it" >&2
  exit 0
fi
kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "local-registry: docker-registry exited: $(tail -n 3 "$dir/log")" >&2; rm -f "$dir/pid"; exit 1; }
echo "local-registry: localhost:$port did not answer within 10 s (log $dir/log)" >&2
exit 1
