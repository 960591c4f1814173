#!/usr/bin/env bash
# berth's demo, end to end with no registry and no network: images for three architectures
# built FROM berth's static base with a tiny hello program, collected in one OCI layout
# (dist/demo), then inspected. Run it with `npm run demo` (which builds berth first).
set -euo pipefail
cd "$(dirname "$0")/.."

berth() { node bin/berth.js "$@"; }
out=dist/demo
rm -rf "$out"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"

pids=()
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  bin="demo/hello/bin/hello-$(echo "${platform#linux/}" | tr / -)"
  berth build --base static --platform "$platform" \
    --file "$bin:/app/hello:0755" --entrypoint /app/hello \
    --label org.opencontainers.image.title=hello \
    --tag example.com/berth/hello:v0.1.0 \
    --output "oci:$out" >/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

berth inspect "oci:$out:example.com/berth/hello:v0.1.0"
echo
echo "OCI layout: $out, one index.json entry per platform (berth inspect --json oci:$out for the machine-readable form)"
