"""image_bundle: a group of images that `bazel run` lists, and copies out with --output.

    bazel run --stamp //build:server-images                  # builds them; prints platform, names, file
    bazel run --stamp //build:server-images -- --output out  # and copies the tarballs into ./out

`bazel build` of the target builds each multi_arch_image's index tarball (every platform's
layers, once) and each berth_image's tarball, as a filegroup would; the per-platform named
tarballs of the indexes are the output group `images` (`bazel build
--output_groups=images`), built only when asked for. Run, the launcher
(bash; no sh_binary) reads each tarball's names from its index.json, so what it prints is
what the workspace status stamped, and copies through a temporary file and a rename, so
a copy interrupted half-way leaves no partial tarball under its name.
"""

load(":launcher.bzl", "launcher_preamble", "runfiles_path")
load(":image.bzl", "BerthImageInfo", "BerthIndexInfo")

_LAUNCHER = """#!/usr/bin/env bash
# {label}: the image tarballs built; written by image_bundle (berth's build/bundle.bzl).
#   bazel run [--stamp] {label} [-- --output DIR]
{preamble}out=
while (($#)); do
  case $1 in
    --output)
      [[ $# -ge 2 && -n $2 ]] || {{ echo "{label}: --output needs a folder" >&2; exit 2; }}
      out=$2
      shift 2
      ;;
    --output=*)
      out=${{1#--output=}}
      [[ -n $out ]] || {{ echo "{label}: --output needs a folder" >&2; exit 2; }}
      shift
      ;;
    -h | --help)
      echo "usage: bazel run {label} [-- --output DIR]: lists the image tarballs built; --output copies them into DIR"
      exit 0
      ;;
    *)
      echo "{label}: unknown argument \\"$1\\" (it takes --output DIR)" >&2
      exit 2
      ;;
  esac
done
if [[ -n $out && $out != /* && -n ${{BUILD_WORKING_DIRECTORY:-}} ]]; then
  out=$BUILD_WORKING_DIRECTORY/$out
fi
if [[ -n $out ]]; then
  mkdir -p "$out"
fi
printf '%-14s %-56s %s\\n' PLATFORM NAMES FILE
while IFS=$'\\t' read -r platform rel; do
  file=$(readlink -f "$runfiles/$rel")
  names=$(tar -xOf "$file" index.json | grep -o '"org.opencontainers.image.ref.name":"[^"]*"' | sed 's/^.*:"//; s/"$//' | sort -u | paste -sd, -)
  if [[ -n $out ]]; then
    dest=$out/$(basename "$file")
    cp "$file" "$dest.tmp.$$"
    chmod 0644 "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
    file=$dest
  fi
  printf '%-14s %-56s %s\\n' "$platform" "${{names:-(none)}}" "$file"
done <<'EOF'
{entries}
EOF
"""

def _image_bundle_impl(ctx):
    entries = []
    tarballs = []
    per_platform = []
    for target in ctx.attr.images:
        if BerthIndexInfo in target:
            info = target[BerthIndexInfo]
            pairs = [("index", info.index)]
            per_platform += [i.tarball for i in info.images]
        else:
            image = target[BerthImageInfo]
            pairs = [(image.platform, image.tarball)]
        for platform, tarball in pairs:
            tarballs.append(tarball)
            entries.append("%s\t%s" % (platform, runfiles_path(ctx, tarball)))
    if not entries:
        fail("image_bundle %s: images is empty; name multi_arch_image or berth_image targets" % ctx.label)
    launcher = ctx.actions.declare_file(ctx.label.name + ".bundle.sh")
    ctx.actions.write(
        output = launcher,
        is_executable = True,
        content = _LAUNCHER.format(label = str(ctx.label), preamble = launcher_preamble(str(ctx.label)), entries = "\n".join(entries)),
    )
    return [
        DefaultInfo(
            executable = launcher,
            files = depset(tarballs + [launcher]),  # the launcher too: `bazel run --output_groups=...` builds it
            runfiles = ctx.runfiles(files = tarballs),
        ),
        OutputGroupInfo(images = depset(per_platform)),
    ]

image_bundle = rule(
    implementation = _image_bundle_impl,
    executable = True,
    doc = "Images that `bazel build` builds and `bazel run` lists (and copies out with `-- --output DIR`).",
    attrs = {
        "images": attr.label_list(providers = [[BerthIndexInfo], [BerthImageInfo]], mandatory = True, doc = "multi_arch_image or berth_image targets."),
    },
)
