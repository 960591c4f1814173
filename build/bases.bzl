"""The bases --define image_type selects, pinned by digest. WORKSPACE calls berth_bases(),
which declares the dynamic one: @berth_dynamic_base//:image, pulled by digest only when a
build selects it.

The static base needs no pin: berth makes it (//build:static_base). Bump DYNAMIC_BASE's
digest to take a new base; `skopeo inspect --raw docker://gcr.io/distroless/base-debian12`
shows the current index digest (not checked from here: this machine builds offline).
"""

load(":repositories.bzl", "berth_pull")

# Distroless base (glibc, libssl, CA certificates, tzdata), Debian 12, the index for every
# platform it is built for; these five are what //build:server-images uses.
DYNAMIC_BASE = {
    "image": "gcr.io/distroless/base-debian12",
    "digest": "sha256:9e9b50d2048db3741f86a48d939b4e4cc775f5889b3496439343301ff54cdba8",
    "platforms": ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x"],
}

def berth_bases():
    """Declares @berth_dynamic_base (from WORKSPACE)."""
    berth_pull(name = "berth_dynamic_base", **DYNAMIC_BASE)
