#!/usr/bin/env bash
# A registry on this machine to try berth against: the CNCF registry (Debian's docker-registry,
# which hack/install-deps.sh installs) on localhost:PORT (default 5000), plain HTTP, no auth,
# storing under dist/registry. It runs in the foreground: start it with `&`, stop it with kill.
#
#   hack/local-registry.sh &          # localhost:5000
#   hack/local-registry.sh 5001 &     # another port
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-5000}
command -v docker-registry >/dev/null || { echo "local-registry: docker-registry is not installed: run hack/install-deps.sh (or: docker run -d -p $port:5000 registry:2)" >&2; exit 1; }
dir=${BERTH_REGISTRY_DIR:-dist/registry}
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
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
echo "local-registry: localhost:$port (storage $dir/data, log $dir/log); stop it with: kill $$" >&2
exec docker-registry serve "$dir/config.yml" 2>>"$dir/log"
