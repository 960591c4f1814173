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
cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: berth-local-registry
YAML
docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 </dev/null &
echo $! >"$dir/pid"
for _ in $(seq 100); do
  if node -e "fetch('http://127.0.0.1:$port/v2/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    echo "local-registry: localhost:$port answers (pid $!, storage $dir/data, log $dir/log); hack/local-registry.sh stop stops it" >&2
    exit 0
  fi
  kill -0 "$!" 2>/dev/null || { echo "local-registry: docker-registry exited: $(tail -n 3 "$dir/log")" >&2; rm -f "$dir/pid"; exit 1; }
  sleep 0.1
done
echo "local-registry: localhost:$port did not answer within 10 s (log $dir/log)" >&2
exit 1
