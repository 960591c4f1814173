"""A small stamped rule that shows what the workspace status gives a rule.

`stamp_file` writes one file from a template in which `{KEY}` is replaced by the value of
KEY in bazel-out/stable-status.txt (ctx.info_file) or volatile-status.txt
(ctx.version_file). It exists to test hack/build/print-workspace-status.sh with real Bazel;
the image rules stamp names the same way.
"""

_DOC = """Writes `<name>.txt` from `template`, with `{KEY}` replaced by the workspace status value of KEY.

Example:

    stamp_file(
        name = "image_name",
        template = "{STABLE_DOCKER_REGISTRY}/server:{STABLE_DOCKER_TAG}",
    )

Build with `--stamp` for the real values; a key the status does not print is left as written.
"""

def _stamp_file_impl(ctx):
    if not ctx.attr.template:
        fail("stamp_file %s: give a template, e.g. \"{STABLE_DOCKER_TAG}\"" % ctx.label)
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    args = ctx.actions.args()
    args.add(ctx.info_file)
    args.add(ctx.version_file)
    args.add(out)
    args.add(ctx.attr.template)

    # awk reads both status files (KEY, a space, the value) and replaces {KEY} in the
    # template with index/substr, so no value is ever read as a pattern.
    ctx.actions.run_shell(
        inputs = [ctx.info_file, ctx.version_file],
        outputs = [out],
        arguments = [args],
        command = """
TEMPLATE="$4" awk '
  { sp = index($0, " "); if (sp == 0) { k = $0; v = "" } else { k = substr($0, 1, sp - 1); v = substr($0, sp + 1) }; val[k] = v }
  END {
    out = ""; rest = ENVIRON["TEMPLATE"]
    while ((o = index(rest, "{")) > 0) {
      c = index(substr(rest, o), "}")
      if (c == 0) break
      key = substr(rest, o + 1, c - 2)
      out = out substr(rest, 1, o - 1) ((key in val) ? val[key] : "{" key "}")
      rest = substr(rest, o + c)
    }
    print out rest
  }' "$1" "$2" > "$3"
""",
        mnemonic = "StampFile",
        progress_message = "Stamping %{output}",
    )
    return [DefaultInfo(files = depset([out]))]

stamp_file = rule(
    implementation = _stamp_file_impl,
    doc = _DOC,
    attrs = {
        "template": attr.string(
            doc = "The text to write; each `{KEY}` becomes the status value of KEY.",
        ),
    },
)
