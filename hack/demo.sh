#!/usr/bin/env bash
# berth's demo, end to end with no registry and no network: per-architecture image tarballs
# built FROM berth's static base with a tiny hello program (what `bazel run --stamp` makes),
# then released as one multi-arch index into the OCI layout dist/demo/release (what a
# release job does, with a layout standing in for the registry), then inspected.
# Run it with `npm run demo` (which builds berth first).
set -euo pipefail
cd "$(dirname "$0")/.."

berth() { node bin/berth.js "$@"; }
out=${BERTH_DEMO_OUT:-dist/demo}
rm -rf "$out"
mkdir -p "$out/images"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"

pids=()
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  arch=$(echo "${platform#linux/}" | tr / -)
  berth build --base static --platform "$platform" \
    --file "demo/hello/bin/hello-$arch:/app/hello:0755" --entrypoint /app/hello \
    --label org.opencontainers.image.title=hello \
    --tag "example.com/berth/hello:v0.1.0-$arch" \
    --output "$out/images/hello-$arch.tar" >/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

berth release --component "hello=$out/images/hello-*.tar" --tag v0.1.0 --tag latest --output "oci:$out/release"
echo
berth inspect "oci:$out/release:hello:v0.1.0"
echo
echo "Per-arch tarballs: $out/images; the released index: OCI layout $out/release (skopeo inspect oci:$out/release:hello:v0.1.0)"
