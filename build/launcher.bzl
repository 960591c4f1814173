"""What the executable rules' bash launchers share (no sh_binary: each rule writes its own)."""

_RUNFILES = """set -euo pipefail
if [[ -n ${RUNFILES_DIR:-} ]]; then
  runfiles=$RUNFILES_DIR
elif [[ -d "$0.runfiles" ]]; then
  runfiles=$(cd "$0.runfiles" && pwd)
else
  echo "LABEL: its runfiles ($0.runfiles) are missing; run it with bazel run" >&2
  exit 1
fi
"""

def launcher_preamble(label):
    """Bash that stops on errors and sets $runfiles, the root of the launcher's runfiles."""
    return _RUNFILES.replace("LABEL", label)

def runfiles_path(ctx, f):
    """`f`'s path under the runfiles root."""
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path
