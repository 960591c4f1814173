"""berth_image, berth_static_base, image_type_base and multi_arch_image: image tarballs built by `berth build`.

Each image is two actions, so that a new name never rebuilds a layer:

  BerthImage   `berth build` -> <name>.unnamed.tar: base + a layer of files + config, with
               no names in it. Reads the base, the files and berth; never the status.
  BerthStamp   `berth copy <name>.unnamed.tar <name>.tar --tag NAME` -> the image tarball,
               named (RepoTags, org.opencontainers.image.ref.name). Reads the status when
               stamping. It re-bundles the blobs and compresses nothing, and the manifest
               digest stays the same whatever the name.

Actions run the host's `node` (found on the PATH Bazel gives actions) on berth's one-file
bundle dist/lean/berth.cjs, a declared input: a new berth re-runs them.
"""

load(":platforms.bzl", "KNOWN_PLATFORMS", "check_platform", "platform_suffix")
load(":stamp.bzl", "UNSTAMPED_TAG", "is_stamping", "stamp_attrs", "stamp_detect", "status_files", "unstamped_repository", "unstamped_values")

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
        "index": "File: the named index tarball",
        "images": "list of BerthImageInfo, one per platform",
    },
)

# The berth CLI as one file (dist/lean/berth.cjs, written by `npm run build`), by label from
# this file's repository: @berth//:berth_tool when the rules are loaded from another workspace.
BERTH_TOOL = Label("//:berth_tool")

_RUN_BERTH = """
command -v node >/dev/null 2>&1 || { echo "berth: node (20 or later) is not on the PATH Bazel gives actions: $PATH" >&2; exit 1; }
out=$1
shift
log=$(node "$@" 2>&1 >"$out") && exit 0
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
    """Runs `node berth.cjs <arguments>`; its stderr is shown only when it fails, stdout goes to `stdout`."""
    tool = berth_tool(ctx, where)
    ctx.actions.run_shell(
        command = _RUN_BERTH,
        arguments = [stdout.path if stdout else "/dev/null", tool.path] + arguments,
        inputs = inputs + [tool],
        outputs = outputs + ([stdout] if stdout else []),
        mnemonic = mnemonic,
        progress_message = message,
        use_default_shell_env = True,
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
        files = status_files(ctx, names)
        for f in files:
            args.add("--status-file", f)
        inputs = inputs + files
    run_berth(ctx, where, mnemonic, "%s %s" % (verb, out.short_path), [args], inputs, [out])

def _base_file(ctx, where):
    """The base tarball: a berth_image's (or a multi_arch_image's, for this platform) unnamed tarball, or the one file a target gives."""
    base = ctx.attr.base
    if BerthImageInfo in base:
        return base[BerthImageInfo].unnamed
    if BerthIndexInfo in base:
        images = base[BerthIndexInfo].images
        for image in images:
            if image.platform == ctx.attr.platform:
                return image.unnamed
        fail("%s: base %s has no image for %s (it has %s)" % (where, base.label, ctx.attr.platform, ", ".join([i.platform for i in images])))
    files = base[DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("%s: base %s gives %d files; give one image tarball (or a berth_image)" % (where, base.label, len(files)))
    return files[0]

def _berth_image_impl(ctx):
    where = "berth_image %s" % ctx.label
    check_platform(ctx.attr.platform, where)
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
    args.add("--platform", ctx.attr.platform)
    entrypoint = ctx.attr.entrypoint
    if ctx.file.binary:
        path = ctx.attr.binary_path or "/app/" + ctx.label.name
        if not path.startswith("/"):
            fail('%s: binary_path "%s" must be an absolute path in the image' % (where, path))
        args.add("--file", "%s:%s:0755" % (ctx.file.binary.path, path))
        inputs.append(ctx.file.binary)
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
        args.add("--labels-from-status", ctx.info_file)
        inputs.append(ctx.info_file)
    args.add("--format", ctx.attr.format)
    args.add("--output", unnamed)
    run_berth(ctx, where, "BerthImage", "Building image %s (%s)" % (ctx.label, ctx.attr.platform), [args], inputs, [unnamed], stdout = digest)

    names = image_names(ctx, ctx.attr.repository or "{STABLE_DOCKER_REGISTRY}/" + ctx.label.name, ctx.attr.image_tags, stamping)
    stamp = ctx.actions.args()
    stamp.add_all(["copy", unnamed, tarball, "--quiet"])
    name_image(ctx, where, "BerthStamp", "Naming image", tarball, names, stamping, stamp, [unnamed])

    return [
        DefaultInfo(files = depset([tarball])),
        OutputGroupInfo(unnamed = depset([unnamed]), digest = depset([digest])),
        BerthImageInfo(tarball = tarball, unnamed = unnamed, digest = digest, platform = ctx.attr.platform, names = names),
    ]

_IMAGE_ATTRS = {
    "base": attr.label(allow_files = True, doc = "The base: an image tarball (one image, or an index to pick `platform` from), a berth_image, or //build:base (chosen by --define image_type). Default: berth's static base (`berth build --base static`)."),
    "binary": attr.label(allow_single_file = True, doc = "The program, added at `binary_path` with mode 0755; the entrypoint unless `entrypoint` is given."),
    "binary_path": attr.string(doc = "Where `binary` goes in the image (default /app/<name>)."),
    "files": attr.label_keyed_string_dict(allow_files = True, doc = "More files: label -> `DEST[:MODE]` (one file per label), in the same layer as the binary."),
    "platform": attr.string(default = "linux/amd64", doc = "os/arch[/variant], one of %s." % ", ".join(KNOWN_PLATFORMS)),
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
)

def berth_image(name, tags = None, **kwargs):
    """One image tarball, `<name>.tar`, for one platform.

    Args:
      name: the target; outputs <name>.tar (named), <name>.unnamed.tar and <name>.digest.
      tags: image tags (default ["{STABLE_DOCKER_TAG}"]); may hold status keys. (Bazel's own
        `tags` attribute is not passed through this macro.)
      **kwargs: base, binary, binary_path, files, platform, entrypoint, cmd, user, workdir,
        env, labels, annotations, repository, status_labels, format, stamp, visibility.
    """
    if tags != None:
        kwargs["image_tags"] = tags
    _berth_image(name = name, private_stamp_detect = stamp_detect(), **kwargs)

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
    return [
        DefaultInfo(files = depset([out] + [i.tarball for i in images])),
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
)

def multi_arch_image(name, binaries, platforms = None, component = None, repository = None, tags = None, binary_path = None, format = "oci", stamp = -1, visibility = None, **kwargs):
    """One berth_image per platform and an index over them; building `name` builds them all.

    Targets: `<name>.<os>_<arch>[_<variant>]` per platform (e.g. controller.linux_arm_v7, a
    berth_image), and `name`: the index tarball `<name>.tar`, which also gives every
    platform's tarball.

    Args:
      name: the index target, and the default component.
      binaries: dict platform -> label of that platform's program.
      platforms: the platforms to build (default: the keys of `binaries`); each needs a binary.
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
    if type(binaries) != "dict" or not binaries:
        fail("%s: binaries must be a dict of platform -> binary label, like {\"linux/amd64\": \":app-amd64\"}" % where)
    for p in binaries:
        check_platform(p, where)
    platforms = platforms if platforms != None else list(binaries.keys())
    for p in platforms:
        check_platform(p, where)
        if p not in binaries:
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
            binary = binaries[p],
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
