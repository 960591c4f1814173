"""Stamping: `{KEY}` status keys in image names, tags and registries.

With stamping on (`--stamp`, or `stamp = 1`), a name such as
`{STABLE_DOCKER_REGISTRY}/controller:{STABLE_DOCKER_TAG}` is passed to berth as written,
with `--status-file` naming `<name>.status.txt`: the lines of bazel-out/stable-status.txt
(ctx.info_file) for just the keys the target names, written by a small action of its own
(BerthStatusKeys). So BUILD_HOST, BUILD_USER or a commit change only that action's input;
the naming action re-runs (and misses a cache) only when a key it uses changes, and a new tag
re-bundles the image tarballs and never rebuilds a layer. volatile-status.txt
(ctx.version_file) is read only when a key that does not start with STABLE_ is named.

With stamping off, no status file is read and every name is a placeholder, so nothing in
the output depends on the workspace status: a repository naming a key becomes
`bazel.local/<its last path element without the keys>` (or `bazel.local/<target name>`),
and a tag naming a key becomes `latest`.
"""

STAMP_DOC = """Whether to stamp names with the workspace status: 1 always, 0 never, -1 (the default) when Bazel runs with `--stamp`."""

UNSTAMPED_REGISTRY = "bazel.local"
UNSTAMPED_TAG = "latest"

def stamp_attrs():
    """The attributes every stamping rule has."""
    return {
        "stamp": attr.int(default = -1, values = [-1, 0, 1], doc = STAMP_DOC),
        # Set by the macros from `--stamp` (a select on //build:stamp_detect): Starlark cannot read the flag itself.
        "private_stamp_detect": attr.bool(default = False),
    }

def stamp_detect():
    """The value the macros give private_stamp_detect."""
    return select({
        str(Label("//build:stamp_detect")): True,
        "//conditions:default": False,
    })

def is_stamping(ctx):
    return ctx.attr.stamp == 1 or (ctx.attr.stamp == -1 and ctx.attr.private_stamp_detect)

def status_keys(text):
    """The `{KEY}` names in `text` (letters, digits and _; not `{{ ... }}` templates)."""
    keys = []
    rest = text
    for _ in range(len(text)):
        o = rest.find("{")
        if o < 0:
            break
        c = rest.find("}", o)
        if c < 0:
            break
        key = rest[o + 1:c]
        if key and (key[0].isalpha() or key[0] == "_") and key.replace("_", "a").isalnum():
            if key not in keys:
                keys.append(key)
            rest = rest[c + 1:]
        else:
            rest = rest[o + 1:]
    return keys

def _strip_keys(text):
    for key in status_keys(text):
        text = text.replace("{%s}" % key, "")
    return text

def _sanitize(name):
    out = ""
    for ch in name.lower().elems():
        out += ch if (ch.isalnum() or ch in "._-") else "-"
    return out.strip("._-") or "image"

def unstamped_repository(repository, fallback):
    """The placeholder for a repository that names a status key, when not stamping."""
    if not status_keys(repository):
        return repository
    parts = [p for p in _strip_keys(repository).split("/") if p]
    last = _sanitize(parts[-1]) if parts else ""
    return "%s/%s" % (UNSTAMPED_REGISTRY, last or _sanitize(fallback))

def unstamped_values(values, placeholder):
    """`values`, each naming a status key replaced by `placeholder`, without repeats."""
    out = []
    for v in values:
        v = placeholder if status_keys(v) else v
        if v not in out:
            out.append(v)
    return out

_EXTRACT = """
out=$1 where=$2 required=" $3 " optional=" $4 "
shift 4
found=" "
: >"$out"
for f in "$@"; do
  while IFS= read -r line || [[ -n $line ]]; do
    k=${line%% *}
    if [[ $required$optional == *" $k "* && $found != *" $k "* ]]; then
      printf '%s\\n' "$line" >>"$out"
      found="$found$k "
    fi
  done <"$f"
done
for k in $required; do
  if [[ $found != *" $k "* ]]; then
    names=""
    for f in "$@"; do names="$names, ${f##*/}"; done
    echo "$where: no status file gives $k (read ${names#, }); the workspace status command prints the keys (docs/status.md)" >&2
    exit 2
  fi
done
"""

def status_keys_of(texts):
    """The status keys named in `texts`, sorted, without repeats."""
    keys = {}
    for text in texts:
        for k in status_keys(text):
            keys[k] = True
    return sorted(keys.keys())

def stamp_status(ctx, where, texts, optional = [], suffix = "status"):
    """A file `<name>.<suffix>.txt` of only the status lines whose keys `texts` name (and `optional`'s).

    The small action writing it reads stable-status.txt (and volatile-status.txt when a key
    not starting STABLE_ is named), so it is what re-runs, and misses a cache, when the status
    changes anywhere else (BUILD_HOST, BUILD_USER, a commit); what reads its output re-runs
    only when those keys' values change. A key no status file gives fails it.
    """
    required = status_keys_of(texts)
    files = [ctx.info_file]
    if [k for k in required + optional if not k.startswith("STABLE_")]:
        files.append(ctx.version_file)
    out = ctx.actions.declare_file("%s.%s.txt" % (ctx.label.name, suffix))
    ctx.actions.run_shell(
        command = _EXTRACT,
        arguments = [out.path, where, " ".join(required), " ".join(optional)] + [f.path for f in files],
        inputs = files,
        outputs = [out],
        mnemonic = "BerthStatusKeys",
        progress_message = "Reading the status keys of %s" % ctx.label,
    )
    return out
