"""berth_image, berth_static_base, image_type_base and multi_arch_image: image tarballs built by `berth build`.

Each image is two actions, so that a new name never rebuilds a layer:

  BerthImage   `berth build` -> <name>.unnamed.tar: base + a layer of files + config, with
               no names in it. Reads the base, the files and berth; never the status.
  BerthStamp   `berth copy <name>.unnamed.tar <name>.tar --tag NAME` -> the image tarball,
               named (RepoTags, org.opencontainers.image.ref.name). Reads the status when
               stamping. It re-bundles the blobs and compresses nothing, and the manifest
               digest stays the same whatever the name.

Actions run node, resolved as a toolchain (build/toolchains.bzl: the host's by default), on
berth's one-file bundle dist/lean/berth.cjs; both are declared inputs, so a new berth or
another node re-runs them, and no action reads the PATH.
"""

load(":platforms.bzl", "KNOWN_PLATFORMS", "check_platform", "platform_suffix", "platform_transition", "target_platform")
load(":stamp.bzl", "UNSTAMPED_TAG", "is_stamping", "stamp_attrs", "stamp_detect", "stamp_status", "unstamped_repository", "unstamped_values")
load(":toolchains.bzl", "NODE_TOOLCHAIN_TYPE", "node_of")

BerthImageInfo = provider(
    doc = "One platform's image, built by berth_image.",
    fields = {
        "tarball": "File: the named image tarball (what `docker load` takes)",
        "unnamed": "File: the same image with no names in it (what indexes and releases read)",
        "digest": "File: the image's manifest digest (sha256:...), one line",
        "platform": "string: os/arch[/variant]",
        "names": "list of string: the names as written (status keys not yet replaced)",
    },
)

BerthIndexInfo = provider(
    doc = "A multi-platform image: an index over berth_images, made by multi_arch_image.",
    fields = {
        "component": "string: the name a release publishes it under (registry/<component>:tag)",
        "index": "File: the named index tarball (every platform's layers, once)",
        "images": "list of BerthImageInfo, one per platform",
    },
)

# The berth CLI as one file (dist/lean/berth.cjs, written by `npm run build`), by label from
# this file's repository: @berth//:berth_tool when the rules are loaded from another workspace.
BERTH_TOOL = Label("//:berth_tool")

# Only bash builtins: the action has no PATH.
_RUN_BERTH = """
out=$1
node=$2
shift 2
log=$("$node" "$@" 2>&1 >"$out") && exit 0
rc=$?
printf '%s\\n' "$log" >&2
exit $rc
"""

def berth_tool(ctx, where):
    """berth's bundle, or a failure saying how to make it."""
    files = ctx.files._berth
    if len(files) != 1:
        fail("%s: berth's bundle dist/lean/berth.cjs is missing from %s; run `npm ci && npm run build` there" % (where, ctx.attr._berth.label.workspace_root or "this workspace"))
    return files[0]

def run_berth(ctx, where, mnemonic, message, arguments, inputs, outputs, stdout = None):
    """Runs `node berth.cjs <arguments>` (node from the toolchain); its stderr is shown only when it fails, stdout goes to `stdout`."""
    tool = berth_tool(ctx, where)
    node = node_of(ctx)
    ctx.actions.run_shell(
        command = _RUN_BERTH,
        arguments = [stdout.path if stdout else "/dev/null", node.path, tool.path] + arguments,
        inputs = inputs + [tool],
        tools = [node],
        outputs = outputs + ([stdout] if stdout else []),
        mnemonic = mnemonic,
        progress_message = message,
    )

def _tool_attrs():
    return {
        "_berth": attr.label(default = BERTH_TOOL, allow_files = True, cfg = "exec"),
    }

def image_names(ctx, repository, tags, stamping):
    """The names to give berth: templates when stamping, placeholders when not."""
    if not stamping:
        repository = unstamped_repository(repository, ctx.label.name)
        tags = unstamped_values(tags, UNSTAMPED_TAG)
    return ["%s:%s" % (repository, t) for t in tags]

def name_image(ctx, where, mnemonic, verb, out, names, stamping, args, inputs):
    """Adds --tag and --status-file to `args` and runs berth to write the named `out`."""
    for n in names:
        args.add("--tag", n)
    if stamping:
        status = stamp_status(ctx, where, names)
        args.add("--status-file", status)
        inputs = inputs + [status]
    run_berth(ctx, where, mnemonic, "%s %s" % (verb, out.short_path), [args], inputs, [out])

def _base_file(ctx, where):
    """The base tarball: a berth_image's (or a multi_arch_image's, for this platform) unnamed tarball, or the one file a target gives."""
    base = ctx.attr.base
    if BerthImageInfo in base:
        return base[BerthImageInfo].unnamed
    if BerthIndexInfo in base:
        images = base[BerthIndexInfo].images
        for image in images:
            if image.platform == _platform(ctx):
                return image.unnamed
        fail("%s: base %s has no image for %s (it has %s)" % (where, base.label, _platform(ctx), ", ".join([i.platform for i in images])))
    files = base[DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("%s: base %s gives %d files; give one image tarball (or a berth_image)" % (where, base.label, len(files)))
    return files[0]

def _platform(ctx):
    return ctx.attr.platform or ctx.attr.private_target_platform

def _binary(ctx):
    """The binary File: `binary`, or `platform_binary` (built for the image's platform through the transition)."""
    if ctx.attr.platform_binary:
        target = ctx.attr.platform_binary
        if type(target) == "list":  # Bazel 4 gives a 1:1 transition's target as a list of one
            target = target[0]
        files = target.files.to_list()
        if len(files) != 1:
            fail("berth_image %s: binary %s gives %d files for %s; give one program" % (ctx.label, target.label, len(files), _platform(ctx)))
        return files[0]
    return ctx.file.binary

def _berth_image_impl(ctx):
    where = "berth_image %s" % ctx.label
    if not _platform(ctx):
        fail("%s: the target platform has none of the constraints of a platform berth knows (//build/platforms); give platform = \"linux/amd64\" or another of %s, or build with --platforms=@berth//build/platforms:linux_amd64" % (where, ", ".join(KNOWN_PLATFORMS)))
    check_platform(_platform(ctx), where)
    stamping = is_stamping(ctx)
    unnamed = ctx.actions.declare_file(ctx.label.name + ".unnamed.tar")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    tarball = ctx.actions.declare_file(ctx.label.name + ".tar")

    args = ctx.actions.args()
    args.add("build")
    inputs = []
    if ctx.attr.base:
        base = _base_file(ctx, where)
        args.add("--base", base)
        inputs.append(base)
    else:
        args.add("--base", "static")
    args.add("--platform", _platform(ctx))
    entrypoint = ctx.attr.entrypoint
    binary = _binary(ctx)
    if binary:
        path = ctx.attr.binary_path or "/app/" + ctx.label.name
        if not path.startswith("/"):
            fail('%s: binary_path "%s" must be an absolute path in the image' % (where, path))
        args.add("--file", "%s:%s:0755" % (binary.path, path))
        inputs.append(binary)
        entrypoint = entrypoint or [path]
    for target, dest in ctx.attr.files.items():
        files = target.files.to_list()
        if len(files) != 1:
            fail("%s: files: %s gives %d files; name one file per entry" % (where, target.label, len(files)))
        args.add("--file", "%s:%s" % (files[0].path, dest))
        inputs.append(files[0])
    if entrypoint:
        args.add("--entrypoint", json.encode(entrypoint))
    if ctx.attr.cmd:
        args.add("--cmd", json.encode(ctx.attr.cmd))
    if ctx.attr.user:
        args.add("--user", ctx.attr.user)
    if ctx.attr.workdir:
        args.add("--workdir", ctx.attr.workdir)
    for k, v in sorted(ctx.attr.env.items()):
        args.add("--env", "%s=%s" % (k, v))
    for k, v in sorted(ctx.attr.labels.items()):
        args.add("--label", "%s=%s" % (k, v))
    for k, v in sorted(ctx.attr.annotations.items()):
        args.add("--annotation", "%s=%s" % (k, v))
    if ctx.attr.status_labels and stamping:
        labels = stamp_status(ctx, where, [], optional = STATUS_LABEL_KEYS, suffix = "labels")
        args.add("--labels-from-status", labels)
        inputs.append(labels)
    args.add("--format", ctx.attr.format)
    args.add("--output", unnamed)
    run_berth(ctx, where, "BerthImage", "Building image %s (%s)" % (ctx.label, _platform(ctx)), [args], inputs, [unnamed], stdout = digest)

    names = image_names(ctx, ctx.attr.repository or "{STABLE_DOCKER_REGISTRY}/" + ctx.label.name, ctx.attr.image_tags, stamping)
    stamp = ctx.actions.args()
    stamp.add_all(["copy", unnamed, tarball, "--quiet"])
    name_image(ctx, where, "BerthStamp", "Naming image", tarball, names, stamping, stamp, [unnamed])

    return [
        DefaultInfo(files = depset([tarball])),
        OutputGroupInfo(unnamed = depset([unnamed]), digest = depset([digest])),
        BerthImageInfo(tarball = tarball, unnamed = unnamed, digest = digest, platform = _platform(ctx), names = names),
    ]

# The keys `berth build --labels-from-status` reads (src/status/labels.ts).
STATUS_LABEL_KEYS = ["STABLE_BUILD_SCM_TIMESTAMP", "STABLE_RELEASE_VERSION", "STABLE_BUILD_SCM_REVISION", "STABLE_BUILD_GIT_COMMIT", "STABLE_BUILD_SCM_SOURCE"]

_IMAGE_ATTRS = {
    "base": attr.label(allow_files = True, doc = "The base: an image tarball (one image, or an index to pick `platform` from), a berth_image, or //build:base (chosen by --define image_type). Default: berth's static base (`berth build --base static`)."),
    "binary": attr.label(allow_single_file = True, doc = "The program, added at `binary_path` with mode 0755; the entrypoint unless `entrypoint` is given."),
    "platform_binary": attr.label(cfg = platform_transition, doc = "As `binary`, but built for the image's platform (--platforms=//build/platforms:<platform>): what berth_image(build_for_platform = True) and multi_arch_image(binary = ...) set."),
    "private_target_platform": attr.string(doc = "Set by the macro: the target platform's OCI platform, used when `platform` is not given."),
    "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    "binary_path": attr.string(doc = "Where `binary` goes in the image (default /app/<name>)."),
    "files": attr.label_keyed_string_dict(allow_files = True, doc = "More files: label -> `DEST[:MODE]` (one file per label), in the same layer as the binary."),
    "platform": attr.string(doc = "os/arch[/variant], one of %s. Default: the target platform's (its @platforms constraints; linux/amd64 on an x86-64 host)." % ", ".join(KNOWN_PLATFORMS)),
    "entrypoint": attr.string_list(doc = "The entrypoint (default [binary_path] when there is a binary)."),
    "cmd": attr.string_list(doc = "Default arguments."),
    "user": attr.string(doc = "user[:group] the container runs as (the static base's default is 65532:65532)."),
    "workdir": attr.string(doc = "Working directory (absolute)."),
    "env": attr.string_dict(doc = "Environment variables."),
    "labels": attr.string_dict(doc = "Config labels."),
    "annotations": attr.string_dict(doc = "Manifest annotations (OCI format only)."),
    "repository": attr.string(doc = "registry/repository the image is named; may hold {STABLE_...} status keys. Default {STABLE_DOCKER_REGISTRY}/<name>."),
    "image_tags": attr.string_list(default = ["{STABLE_DOCKER_TAG}"], doc = "Tags (the macro's `tags`); may hold status keys."),
    "status_labels": attr.bool(default = False, doc = "When stamping, add the org.opencontainers.image.version, .revision, .created and .source labels from the status (this changes the image's digest with every commit)."),
    "format": attr.string(default = "oci", values = ["oci", "docker"], doc = "Media types."),
}

_berth_image = rule(
    implementation = _berth_image_impl,
    doc = "One image tarball for one platform, built by `berth build` and named by `berth copy --tag`.",
    attrs = dict(_IMAGE_ATTRS.items() + stamp_attrs().items() + _tool_attrs().items()),
    toolchains = [str(NODE_TOOLCHAIN_TYPE)],
)

def berth_image(name, tags = None, build_for_platform = False, **kwargs):
    """One image tarball, `<name>.tar`, for one platform.

    Args:
      name: the target; outputs <name>.tar (named), <name>.unnamed.tar and <name>.digest.
      tags: image tags (default ["{STABLE_DOCKER_TAG}"]); may hold status keys. (Bazel's own
        `tags` attribute is not passed through this macro.)
      build_for_platform: build `binary` for the image's platform, through a transition of
        --platforms to //build/platforms:<platform> (a target whose output follows the
        platform: a go_binary, a select() on @platforms//cpu); default: `binary` as it is.
      **kwargs: base, binary, binary_path, files, platform (default: the target platform's),
        entrypoint, cmd, user, workdir, env, labels, annotations, repository, status_labels,
        format, stamp, visibility.
    """
    if tags != None:
        kwargs["image_tags"] = tags
    if build_for_platform and kwargs.get("binary") != None:
        kwargs["platform_binary"] = kwargs.pop("binary")
    _berth_image(name = name, private_stamp_detect = stamp_detect(), private_target_platform = target_platform(), **kwargs)

def _berth_index_impl(ctx):
    where = "multi_arch_image %s" % ctx.label
    images = [t[BerthImageInfo] for t in ctx.attr.images]
    stamping = is_stamping(ctx)
    out = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = ctx.actions.args()
    args.add("index")
    for i in images:
        args.add("--image", i.unnamed)
    args.add("--format", ctx.attr.format)
    args.add("--output", out)
    names = image_names(ctx, ctx.attr.repository or "{STABLE_DOCKER_REGISTRY}/" + ctx.label.name, ctx.attr.image_tags, stamping)
    name_image(ctx, where, "BerthIndex", "Writing index", out, names, stamping, args, [i.unnamed for i in images])
    # The index tarball holds every platform's layers once; the per-platform named tarballs
    # (the same layers again) are built only when asked for: --output_groups=images.
    return [
        DefaultInfo(files = depset([out])),
        OutputGroupInfo(images = depset([i.tarball for i in images]), unnamed = depset([i.unnamed for i in images])),
        BerthIndexInfo(component = ctx.attr.component or ctx.label.name, index = out, images = images),
    ]

_berth_index = rule(
    implementation = _berth_index_impl,
    doc = "An index (or Docker manifest list) over berth_images, as a named tarball.",
    attrs = dict({
        "images": attr.label_list(providers = [BerthImageInfo], mandatory = True),
        "component": attr.string(),
        "repository": attr.string(),
        "image_tags": attr.string_list(default = ["{STABLE_DOCKER_TAG}"]),
        "format": attr.string(default = "oci", values = ["oci", "docker"]),
    }.items() + stamp_attrs().items() + _tool_attrs().items()),
    toolchains = [str(NODE_TOOLCHAIN_TYPE)],
)

def multi_arch_image(name, binaries = None, platforms = None, binary = None, component = None, repository = None, tags = None, binary_path = None, format = "oci", stamp = -1, visibility = None, **kwargs):
    """One berth_image per platform and an index over them; building `name` builds them all.

    Targets: `<name>.<os>_<arch>[_<variant>]` per platform (e.g. controller.linux_arm_v7, a
    berth_image), and `name`: the index tarball `<name>.tar` (every platform's layers, once).
    The per-platform named tarballs are its output group `images`, built only when asked for
    (`bazel build --output_groups=images`) or by building a platform's target.

    Give either `binary` and `platforms` (the binary target is built once per platform, through
    a transition of --platforms to //build/platforms:<platform>) or `binaries`.

    Args:
      name: the index target, and the default component.
      binary: the program's target, built for each of `platforms`.
      binaries: dict platform -> label of that platform's program, as it is.
      platforms: the platforms to build (with `binaries`, default its keys; each needs a binary).
      component: the name a release publishes it under (default `name`).
      repository: default {STABLE_DOCKER_REGISTRY}/<component>.
      tags: image tags (default ["{STABLE_DOCKER_TAG}"]).
      binary_path: where the binary goes (default /app/<component>).
      format: oci or docker, for the images and the index.
      stamp: 1, 0 or -1 (follow --stamp).
      visibility: of every target.
      **kwargs: more berth_image attributes, the same for every platform (base, entrypoint,
        user, env, labels, files, ...).
    """
    where = "multi_arch_image %s" % name
    if binary != None:
        if binaries != None:
            fail("%s: give binary (built for each platform) or binaries (one per platform), not both" % where)
        if not platforms:
            fail("%s: binary needs platforms, like [\"linux/amd64\", \"linux/arm64\"]" % where)
    elif type(binaries) != "dict" or not binaries:
        fail("%s: binaries must be a dict of platform -> binary label, like {\"linux/amd64\": \":app-amd64\"}, or give binary and platforms" % where)
    else:
        for p in binaries:
            check_platform(p, where)
        platforms = platforms if platforms != None else list(binaries.keys())
    for p in platforms:
        check_platform(p, where)
        if binary == None and p not in binaries:
            fail("%s: no binary for %s in binaries (it has %s)" % (where, p, ", ".join(sorted(binaries.keys()))))
    component = component or name
    repository = repository or "{STABLE_DOCKER_REGISTRY}/" + component
    tags = tags if tags != None else ["{STABLE_DOCKER_TAG}"]
    images = []
    for p in platforms:
        image = "%s.%s" % (name, platform_suffix(p))
        berth_image(
            name = image,
            platform = p,
            binary = binary if binary != None else binaries[p],
            build_for_platform = binary != None,
            binary_path = binary_path or "/app/" + component,
            repository = repository,
            tags = tags,
            format = format,
            stamp = stamp,
            visibility = visibility,
            **kwargs
        )
        images.append(":" + image)
    _berth_index(
        name = name,
        images = images,
        component = component,
        repository = repository,
        image_tags = tags,
        format = format,
        stamp = stamp,
        private_stamp_detect = stamp_detect(),
        visibility = visibility,
    )

def _berth_static_base_impl(ctx):
    where = "berth_static_base %s" % ctx.label
    for p in ctx.attr.platforms:
        check_platform(p, where)
    out = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = ctx.actions.args()
    args.add_all(["base", "static"])
    args.add_all(ctx.attr.platforms, before_each = "--platform")
    args.add("--format", ctx.attr.format)
    args.add("--output", out)
    run_berth(ctx, where, "BerthBase", "Writing berth's static base %s" % out.short_path, [args], [], [out])
    return [DefaultInfo(files = depset([out]))]


berth_static_base = rule(
    implementation = _berth_static_base_impl,
    doc = "berth's distroless-static equivalent (`berth base static`) for the platforms given: an index tarball, made with no download.",
    attrs = dict({
        "platforms": attr.string_list(default = KNOWN_PLATFORMS, doc = "Platforms (default: every one the rules know)."),
        "format": attr.string(default = "oci", values = ["oci", "docker"]),
    }.items() + _tool_attrs().items()),
    toolchains = [str(NODE_TOOLCHAIN_TYPE)],
)

IMAGE_TYPES = ["static", "dynamic"]

def _image_type_base_impl(ctx):
    image_type = ctx.var.get("image_type", "static")
    if image_type not in IMAGE_TYPES:
        fail('--define image_type=%s is not an image type berth knows; use static (the default: no libc) or dynamic (glibc)' % image_type)
    providers = [DefaultInfo(files = ctx.attr.base[DefaultInfo].files)]
    for info in [BerthImageInfo, BerthIndexInfo]:
        if info in ctx.attr.base:
            providers.append(ctx.attr.base[info])
    return providers

image_type_base = rule(
    implementation = _image_type_base_impl,
    doc = "Forwards `base` (a select() on --define image_type) after checking that image_type is static or dynamic.",
    attrs = {
        "base": attr.label(mandatory = True, allow_files = True),
    },
)
