"""node as a declared tool: the toolchain every berth action runs berth's bundle with.

Every berth action runs `node` on dist/lean/berth.cjs. node is resolved as a toolchain of
type @berth//build:node_toolchain_type, so it is an input of every action (its bytes are in
the cache key, not the PATH) and no action uses the default shell environment.

    # WORKSPACE: the default, the host's node, found when the workspace is loaded
    load("@berth//build:repositories.bzl", "berth_register_toolchains")
    berth_register_toolchains()

Another node (a node binary archive from an http_archive, or a file in the workspace):

    # BUILD.bazel
    load("@berth//build:toolchains.bzl", "node_toolchain")
    node_toolchain(name = "node", node = "@nodejs_linux_amd64//:bin/node")
    toolchain(
        name = "node_toolchain",
        exec_compatible_with = ["@platforms//os:linux", "@platforms//cpu:x86_64"],
        toolchain = ":node",
        toolchain_type = "@berth//build:node_toolchain_type",
    )

    # WORKSPACE: registered before berth's, so it wins
    register_toolchains("//:node_toolchain")
    berth_register_toolchains()    # or berth_register_toolchains(host_node = False)
"""

NODE_TOOLCHAIN_TYPE = Label("//build:node_toolchain_type")

def _node_toolchain_impl(ctx):
    return [platform_common.ToolchainInfo(node = ctx.file.node)]

node_toolchain = rule(
    implementation = _node_toolchain_impl,
    doc = "A node (20 or later) for berth's actions: wrap it in a toolchain() of type @berth//build:node_toolchain_type and register it.",
    attrs = {
        "node": attr.label(mandatory = True, allow_single_file = True, cfg = "exec", doc = "The node executable: a file, e.g. @nodejs_linux_amd64//:bin/node."),
    },
)

def node_of(ctx):
    """The node File of the resolved toolchain."""
    return ctx.toolchains[NODE_TOOLCHAIN_TYPE].node

# node's process.arch -> @platforms//cpu, for the host node's exec_compatible_with.
_NODE_CPUS = {
    "x64": "x86_64",
    "arm64": "aarch64",
    "ppc64": "ppc",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "arm": "armv7",
    "ia32": "x86_32",
}

# Where node is when it is not on the PATH the repository rule sees.
_USUAL_PLACES = ["/usr/local/bin/node", "/usr/bin/node", "/opt/homebrew/bin/node"]

def _host_node_impl(rctx):
    where = "berth_host_node %s" % rctx.name
    wanted = rctx.os.environ.get("BERTH_NODE", "")
    node = rctx.path(wanted) if wanted else rctx.which("node")
    if not wanted and node == None:
        # Bazel gives repository rules --action_env's PATH too: look where node is installed.
        for p in _USUAL_PLACES:
            if rctx.path(p).exists:
                node = rctx.path(p)
                break
    if node == None or not node.exists:
        fail("%s: %s; install node 20 or later, or set BERTH_NODE to its path, or register your own node_toolchain (docs/bazel.md)" % (where, "BERTH_NODE=%s does not exist" % wanted if wanted else "node is not on the PATH"))
    r = rctx.execute([node, "-p", "process.version + ' ' + process.arch"], timeout = 60)
    version, _, arch = r.stdout.strip().partition(" ")
    if r.return_code != 0 or not version.startswith("v"):
        fail("%s: %s --version failed: %s" % (where, node, (r.stderr or r.stdout).strip()))
    major = version[1:].split(".")[0]
    if not major.isdigit() or int(major) < 20:
        fail("%s: %s is node %s; berth needs 20 or later" % (where, node, version))

    # The file itself, not a link to it: its bytes, not its path, are what actions depend on.
    rctx.symlink(node, "bin/node")
    cpu = _NODE_CPUS.get(arch, "")
    compat = ['"@platforms//os:linux"'] + (['"@platforms//cpu:%s"' % cpu] if cpu else [])
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", """# The host's node ({node}, {version}), found by berth_host_node when the workspace was loaded.
load("{defs}", "node_toolchain")

exports_files(["bin/node"])

node_toolchain(
    name = "node",
    node = "bin/node",
    visibility = ["//visibility:public"],
)

toolchain(
    name = "toolchain",
    exec_compatible_with = [{compat}],
    toolchain = ":node",
    toolchain_type = "{type}",
)
""".format(
        node = node,
        version = version,
        defs = "@%s//build:toolchains.bzl" % Label("//build:toolchains.bzl").workspace_name,
        type = "@%s//build:node_toolchain_type" % NODE_TOOLCHAIN_TYPE.workspace_name,
        compat = ", ".join(compat),
    ))

berth_host_node = repository_rule(
    implementation = _host_node_impl,
    doc = "The host's node ($BERTH_NODE, else the PATH, else /usr/local/bin, /usr/bin, /opt/homebrew/bin) as a node_toolchain: @<name>//:toolchain.",
    environ = ["PATH", "BERTH_NODE"],
    local = True,
)
