#!/usr/bin/env bash
# The Debian packages berth's tests use: the real tools they read berth's output with and talk
# to. Installs the missing ones with apt-get (as root: directly, as containers and CI images
# run it, where there is no sudo; as another user: through sudo, saying so, or naming the
# command to run as root when there is no sudo), or with --check only prints their names and
# exits 1 when any is missing (the test run's first step: test/helpers/check-tools.js).
#
#   hack/install-deps.sh               # on a fresh Debian machine, before npm test
#   hack/install-deps.sh --check       # what is missing, installing nothing
#
# One line per package: the command (or file) that shows it is there, then the package.
set -euo pipefail

# skopeo, umoci: readers of what berth writes; docker-registry: the CNCF registry;
# apache2-utils: htpasswd (bcrypt) for basic auth; openssl: the token server's certificate;
# bazel-bootstrap: Bazel 4.2.3 for the stamping test; pigz: the build benchmark's floor;
# buildah, docker.io (dockerd 20.10), runc: the RUN engines of berth build --dockerfile;
# busybox-static: the shell of the base image those tests make;
# tmux: the progress display is tested in a real terminal.
need=()
command -v skopeo >/dev/null || need+=(skopeo)
command -v umoci >/dev/null || need+=(umoci)
command -v pigz >/dev/null || need+=(pigz)
# chattr: the layout tests make a folder read-only even for root (the immutable attribute).
command -v chattr >/dev/null || need+=(e2fsprogs)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v openssl >/dev/null || need+=(openssl)
command -v bazel >/dev/null || need+=(bazel-bootstrap)
command -v buildah >/dev/null || need+=(buildah)
command -v dockerd >/dev/null || need+=(docker.io)
command -v runc >/dev/null || need+=(runc)
[[ -x /bin/busybox ]] || need+=(busybox-static)
command -v tmux >/dev/null || need+=(tmux)
# gcc and the C library headers: the Bazel test builds a dynamically linked program.
command -v gcc >/dev/null || need+=(gcc)
[[ -f /usr/include/stdio.h ]] || need+=(libc6-dev)
# nginx (with its WebDAV module, in Debian's nginx-common build): the Bazel HTTP remote cache
# of test/e2e/bazel/remote-cache.test.ts; unshare (util-linux): another host name there.
command -v nginx >/dev/null || need+=(nginx)
command -v unshare >/dev/null || need+=(util-linux)
# podman: berth load and berth images load put images into it (vfs storage, as root).
command -v podman >/dev/null || need+=(podman)
# qemu-user-static, binfmt-support: a RUN for another architecture (arm64 on an amd64 runner)
# runs under qemu through binfmt_misc (.ci/run mounts it and registers the emulators).
[[ -x /usr/bin/qemu-aarch64-static ]] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)

if [[ "${1:-}" == --check ]]; then
  if ((${#need[@]})); then
    echo "${need[*]}"
    exit 1
  fi
  exit 0
fi
if ((${#need[@]})); then
  as_root=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "install-deps: installing ${need[*]} needs root, and there is no sudo: run hack/install-deps.sh as root (su -c hack/install-deps.sh)" >&2
      exit 1
    fi
    echo "install-deps: not root: running apt-get through sudo" >&2
    as_root=(sudo DEBIAN_FRONTEND=noninteractive)
  fi
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
