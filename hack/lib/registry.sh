# Sourced by hack/local-registry.sh and bench/lib/registry.sh: the CNCF registry
# (docker-registry) configured and started on 127.0.0.1, and the wait until it answers.

# registry_config DIR PORT SECRET: writes DIR/config.yml (storage in DIR/data, deletes
# allowed, access log off).
registry_config() {
  cat >"$1/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$2
  secret: $3
YAML
}

# registry_wait ADDR PID: returns 0 once http://ADDR/v2/ answers, 1 when the process PID
# has exited or 10 s have passed.
registry_wait() {
  local _
  for _ in $(seq 100); do
    # node's fetch, not curl: node is on every machine berth runs on.
    node -e "fetch('http://$1/v2/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
