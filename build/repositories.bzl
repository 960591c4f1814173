"""berth_pull: a base image pulled by digest, through berth, into an external repository.

    load("@berth//build:repositories.bzl", "berth_pull")
    berth_pull(
        name = "berth_dynamic_base",
        image = "gcr.io/distroless/base-debian12",
        digest = "sha256:...",
        platforms = ["linux/amd64", "linux/arm64"],
    )

gives `@berth_dynamic_base//:image`, an image tarball (an index over the platforms named, or
the whole image or index when none is). Bazel fetches it the first time a build needs it
(with --define image_type=static it never does), and again only when an attribute (the
digest) or berth's repository rule changes: what a digest names never changes. berth checks
every blob against its digest on the way. Credentials come from ~/.docker/config.json, as for
`berth pull`; plain HTTP is used for localhost and 127.0.0.1 only. $BERTH_REGISTRY_MIRRORS
(mirrors tried first for what is named by digest, then the origin) reaches berth: set it in
the environment or with `--repo_env=BERTH_REGISTRY_MIRRORS=http://127.0.0.1:5000`.
"""

load(":platforms.bzl", "check_platform", "platform_suffix")
load(":toolchains.bzl", "berth_host_node")

def _defs(names):
    return "".join(["def %s(**kwargs):\n    native.%s(**kwargs)\n\n" % (n, n) for n in names])

_STAND_INS = {
    "rules_java": ("java", _defs(["java_binary", "java_import", "java_library", "java_plugin", "java_runtime", "java_test", "java_toolchain"])),
    "rules_cc": ("cc", _defs(["cc_binary", "cc_import", "cc_library", "cc_proto_library", "cc_test", "cc_toolchain", "cc_toolchain_suite", "objc_import", "objc_library"])),
}

def _stand_in_impl(rctx):
    package, defs = _STAND_INS[rctx.attr.rules]
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "")
    rctx.file(package + "/BUILD.bazel", "")
    rctx.file(package + "/defs.bzl", "# berth_register_toolchains' stand-in for %s: Bazel 4's built-in rules.\n\n%s" % (rctx.attr.rules, defs))

_stand_in = repository_rule(implementation = _stand_in_impl, attrs = {"rules": attr.string()})

def berth_register_toolchains(host_node = True, offline = False):
    """Registers berth's default node toolchain: the host's node ($BERTH_NODE, else PATH).

    Call it from WORKSPACE. Register your own node_toolchain before it (or pass
    host_node = False) to use another node; see build/toolchains.bzl.

    offline: resolving any toolchain makes Bazel 4 read its own registered Java toolchains,
    whose package loads @rules_java and @rules_cc, which Bazel downloads. With offline = True,
    those the workspace has not declared already are stand-ins holding Bazel's built-in Java
    and C++ rules, so a build needs no network (berth's own workspace and tests do this).
    """
    if offline:
        for name in _STAND_INS:
            if not native.existing_rule(name):
                _stand_in(name = name, rules = name)
    if host_node:
        berth_host_node(name = "berth_node")
        native.register_toolchains("@berth_node//:toolchain")

def _hex64(s):
    if len(s) != 64:
        return False
    for ch in s.elems():
        if ch not in "0123456789abcdef":
            return False
    return True

def _berth_run(rctx, where, command, args, what):
    env = {}
    mirrors = rctx.os.environ.get("BERTH_REGISTRY_MIRRORS")
    if mirrors != None:
        env["BERTH_REGISTRY_MIRRORS"] = mirrors
    r = rctx.execute(command + args, timeout = rctx.attr.timeout, quiet = True, environment = env)
    if r.return_code != 0:
        fail("%s: %s failed: %s" % (where, what, (r.stderr or r.stdout).strip()))

def _berth_pull_impl(rctx):
    where = "berth_pull %s" % rctx.name
    image = rctx.attr.image
    digest = rctx.attr.digest
    if not image or "@" in image:
        fail('%s: image "%s" must be registry/repository, without a digest (give that as digest)' % (where, image))
    if not digest.startswith("sha256:") or not _hex64(digest[len("sha256:"):]):
        fail('%s: digest "%s" is not sha256:<64 hex digits>' % (where, digest))
    for p in rctx.attr.platforms:
        check_platform(p, where)

    wanted = rctx.os.environ.get("BERTH_NODE", "")
    node = rctx.path(wanted) if wanted else rctx.which("node")
    if node == None:
        fail("%s: node (20 or later) is not on the PATH (or set BERTH_NODE)" % where)

    # berth's bundle, found from this file (already what the rule depends on, so a new berth
    # does not re-fetch: rctx.path(Label) of the bundle would, and would fail without saying
    # how to make it when it is missing).
    berth = rctx.path(Label("//build:repositories.bzl")).dirname.dirname.get_child("dist").get_child("lean").get_child("berth.cjs")
    if not berth.exists:
        fail("%s: berth's bundle %s is missing; run `npm ci && npm run build` in berth's checkout" % (where, berth))

    ref = "%s@%s" % (image, digest)
    tool = [node, berth]

    rctx.report_progress("pulling " + ref)
    if rctx.attr.platforms:
        parts = []
        for p in rctx.attr.platforms:
            part = "pulled-%s.tar" % platform_suffix(p)
            _berth_run(rctx, where, tool, ["pull", ref, "--quiet", "--platform", p, "--output", part], "berth pull %s --platform %s" % (ref, p))
            parts += ["--image", part]
        _berth_run(rctx, where, tool, ["index"] + parts + ["--output", "image.tar"], "berth index")
        for part in parts[1::2]:
            rctx.delete(part)
    else:
        _berth_run(rctx, where, tool, ["pull", ref, "--quiet", "--output", "image.tar"], "berth pull " + ref)

    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", """# {ref}, pulled by berth_pull.
exports_files(["image.tar"])

filegroup(
    name = "image",
    srcs = ["image.tar"],
    visibility = ["//visibility:public"],
)
""".format(ref = ref))

berth_pull = repository_rule(
    implementation = _berth_pull_impl,
    doc = "A base image pulled by digest through berth: @<name>//:image is its image tarball.",
    attrs = {
        "image": attr.string(mandatory = True, doc = "registry/repository, e.g. gcr.io/distroless/base-debian12."),
        "digest": attr.string(mandatory = True, doc = "sha256:... of the image or index: what is pulled, and checked."),
        "platforms": attr.string_list(doc = "Platforms to pull out of an index (default: the whole image or index)."),
        "timeout": attr.int(default = 600, doc = "Seconds each berth call may take."),
    },
    environ = ["BERTH_REGISTRY_MIRRORS", "BERTH_NODE"],
)
