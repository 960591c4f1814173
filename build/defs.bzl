"""berth's Bazel rules: what a BUILD file loads.

    load("@berth//build:defs.bzl", "berth_image", "image_bundle", "image_release", "multi_arch_image")

berth_pull, a repository rule, is loaded in WORKSPACE from repositories.bzl. See
docs/bazel.md.
"""

load(":image.bzl", _BerthImageInfo = "BerthImageInfo", _BerthIndexInfo = "BerthIndexInfo", _berth_image = "berth_image", _berth_static_base = "berth_static_base", _image_type_base = "image_type_base", _multi_arch_image = "multi_arch_image")
load(":bundle.bzl", _image_bundle = "image_bundle")
load(":platforms.bzl", _KNOWN_PLATFORMS = "KNOWN_PLATFORMS")
load(":release.bzl", _image_release = "image_release")

berth_image = _berth_image
multi_arch_image = _multi_arch_image
image_release = _image_release
image_bundle = _image_bundle
berth_static_base = _berth_static_base
image_type_base = _image_type_base
BerthImageInfo = _BerthImageInfo
BerthIndexInfo = _BerthIndexInfo
KNOWN_PLATFORMS = _KNOWN_PLATFORMS
