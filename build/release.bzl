"""image_release: `bazel run --stamp //build:release -- [--dry-run]` runs `berth release`.

The rule writes a launcher (bash; no sh_binary) whose runfiles are berth's bundle, every
image's unnamed tarball, and, when stamping, a copy of the workspace status. Run, it calls

    berth release --component NAME=<tarball>... --registry R... --tag T... \\
        --status-file <stable-status.txt> "$@"

in the directory `bazel run` was started from. Registries and tags are status keys by
default ({STABLE_DOCKER_PUSH_REGISTRY}, {STABLE_DOCKER_TAG}); berth replaces them from the
status file, and without --stamp says that it needs one. A --registry, --output (--to) or --tag given
after `--` replaces the rule's own.
"""

load(":launcher.bzl", "launcher_preamble", "runfiles_path")
load(":image.bzl", "BERTH_TOOL", "BerthImageInfo", "BerthIndexInfo", "berth_tool")
load(":stamp.bzl", "is_stamping", "stamp_attrs", "stamp_detect", "status_keys_of")
load(":toolchains.bzl", "NODE_TOOLCHAIN_TYPE", "node_of")

_LAUNCHER = """#!/usr/bin/env bash
# {label}: berth release over the images built; written by image_release (berth's build/release.bzl).
#   bazel run --stamp {label} -- [--dry-run] [more berth release flags]
{preamble}
own_registries=1
own_tags=1
for arg in "$@"; do
  case $arg in
    --registry | --registry=* | --to | --to=* | --output | --output=* | -o) own_registries=0 ;;
    --tag | --tag=* | -t) own_tags=0 ;;
  esac
done
args=(release{components}{options})
if ((own_registries)); then
  args+=({registries})
fi
if ((own_tags)); then
  args+=({tags})
fi
args+=({status})
if [[ -n ${{BUILD_WORKING_DIRECTORY:-}} ]]; then
  cd "$BUILD_WORKING_DIRECTORY"
fi
exec "$runfiles/{node}" "$runfiles/{berth}" "${{args[@]}}" "$@"
"""

def _quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _in_runfiles(ctx, f):
    """A double-quoted word for `f` under $runfiles."""
    return '"$runfiles/%s"' % runfiles_path(ctx, f).replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")

def _flags(flag, values):
    return "".join([" %s %s" % (flag, _quote(v)) for v in values])

def _image_release_impl(ctx):
    where = "image_release %s" % ctx.label
    tool = berth_tool(ctx, where)
    node = node_of(ctx)
    stamping = is_stamping(ctx)
    components = []
    tarballs = []
    seen = {}
    for target in ctx.attr.images:
        if BerthIndexInfo in target:
            info = target[BerthIndexInfo]
            name, images = info.component, info.images
        else:
            name, images = target.label.name, [target[BerthImageInfo]]
        if name in seen:
            fail("%s: component %s is given twice (%s and %s)" % (where, name, seen[name], target.label))
        seen[name] = target.label
        for image in images:
            tarballs.append(image.unnamed)
            components.append(" --component %s=%s" % (_quote(name), _in_runfiles(ctx, image.unnamed)))
    if not components:
        fail("%s: images is empty; name multi_arch_image or berth_image targets" % where)

    status = []
    if stamping:
        # The whole stable status (berth release's tag templates may read any key), and the
        # volatile one when a key not starting STABLE_ is named (it changes on every build).
        # Copied with bash builtins: actions have no PATH.
        files = [ctx.info_file]
        if [k for k in status_keys_of(ctx.attr.registries + ctx.attr.image_tags) if not k.startswith("STABLE_")]:
            files.append(ctx.version_file)
        for f in files:
            copy = ctx.actions.declare_file("%s.%s" % (ctx.label.name, f.basename))
            ctx.actions.run_shell(
                command = 'while IFS= read -r l || [[ -n $l ]]; do printf "%s\\n" "$l"; done <"$1" >"$2"',
                arguments = [f.path, copy.path],
                inputs = [f],
                outputs = [copy],
                mnemonic = "BerthStatus",
                progress_message = "Copying the workspace status for %s" % ctx.label,
            )
            status.append(copy)

    options = ""
    if ctx.attr.format:
        options += " --format " + _quote(ctx.attr.format)

    launcher = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.write(
        output = launcher,
        is_executable = True,
        content = _LAUNCHER.format(
            label = str(ctx.label),
            preamble = launcher_preamble(str(ctx.label)),
            components = "".join(components),
            options = options,
            registries = _flags("--registry", ctx.attr.registries).strip(),
            tags = _flags("--tag", ctx.attr.image_tags).strip(),
            status = " ".join(["--status-file " + _in_runfiles(ctx, f) for f in status]),
            berth = runfiles_path(ctx, tool),
            node = runfiles_path(ctx, node),
        ),
    )
    return [DefaultInfo(
        executable = launcher,
        files = depset([launcher]),
        runfiles = ctx.runfiles(files = [tool, node] + tarballs + status),
    )]

_image_release = rule(
    implementation = _image_release_impl,
    executable = True,
    doc = "An executable that runs `berth release` over the images built: `bazel run --stamp :release -- [--dry-run]`.",
    attrs = dict({
        "images": attr.label_list(providers = [[BerthIndexInfo], [BerthImageInfo]], mandatory = True, doc = "multi_arch_image (one component each) or berth_image targets."),
        "registries": attr.string_list(default = ["{STABLE_DOCKER_PUSH_REGISTRY}"], doc = "host[/path] each component goes to; may hold status keys."),
        "image_tags": attr.string_list(default = ["{STABLE_DOCKER_TAG}"], doc = "Tags (the macro's `tags`); status keys or berth tag templates."),
        "format": attr.string(values = ["", "oci", "docker"], doc = "oci (indexes) or docker (manifest lists); default berth release's (oci)."),
        "_berth": attr.label(default = BERTH_TOOL, allow_files = True, cfg = "exec"),
    }.items() + stamp_attrs().items()),
    toolchains = [str(NODE_TOOLCHAIN_TYPE)],
)

def image_release(name, images, registries = None, tags = None, **kwargs):
    """An executable target running `berth release` over `images`.

    Args:
      name: the target: `bazel run --stamp //pkg:<name> -- [--dry-run]`.
      images: multi_arch_image targets (each a component, published as registry/<component>)
        or berth_image targets (component: the target's name).
      registries: default ["{STABLE_DOCKER_PUSH_REGISTRY}"] (DOCKER_PUSH_REGISTRY, else DOCKER_REGISTRY).
      tags: default ["{STABLE_DOCKER_TAG}"]; berth tag templates ({{ .Version }}) work too.
      **kwargs: format, stamp, visibility, and Bazel's `args` for executables: more
        `berth release` flags, e.g. ["--arch-suffixed-repos"].
    """
    if registries != None:
        kwargs["registries"] = registries
    if tags != None:
        kwargs["image_tags"] = tags
    _image_release(name = name, images = images, private_stamp_detect = stamp_detect(), **kwargs)
