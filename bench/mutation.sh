#!/usr/bin/env bash
# Mutation testing (Stryker 9 with its jest runner) over berth's core folders, one at a time.
# Not in CI: slow on purpose. Usage: bench/mutation.sh [FOLDER...] (default: the five below).
# Environment: CONCURRENCY (default 1; the machine is shared); BERTH_MUTATE_QUICK=1 leaves out the
# in-process tests that start a registry (stryker.config.mjs), for a quicker, lower floor; BERTH_MUTATE_ONLY='GLOB GLOB'
# mutates only those files of the folder (a partial run); FORCE=1 retests every mutant (by default a
# re-run retests only those whose code or covering tests changed since out/mutation/FOLDER.incremental.json).
# Prints each folder's score and writes the reports under out/mutation/ (FOLDER.json, FOLDER.html).
set -euo pipefail
cd "$(dirname "$0")/.."

folders=("$@")
((${#folders[@]})) || folders=(src/oci src/util src/blob src/registry src/release src/sign)
concurrency="${CONCURRENCY:-1}"
mkdir -p out/mutation

for folder in "${folders[@]}"; do
  [[ -d "$folder" ]] || { echo "mutation: no folder $folder" >&2; exit 2; }
  name="${folder//\//-}"
  start=$(date +%s)
  # Stryker makes its sandbox with mode 0700; a test runs berth as `nobody` from it (root reads
  # any file, so that test drops privileges), which needs the sandbox open to others.
  (for _ in $(seq 120); do chmod 755 out/stryker-tmp-"$name"/sandbox-* 2>/dev/null && break; sleep 1; done) &
  # Jest runs this project's tests as ES modules: the runner's node needs the VM modules flag.
  NODE_OPTIONS=--experimental-vm-modules BERTH_MUTATE="$folder" \
    npx stryker run stryker.config.mjs --concurrency "$concurrency" ${FORCE:+--force} 2>&1 | tee "out/mutation/$name.log"
  end=$(date +%s)
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const n = {};
    for (const f of Object.values(r.files)) for (const m of f.mutants) n[m.status] = (n[m.status] ?? 0) + 1;
    const killed = (n.Killed ?? 0) + (n.Timeout ?? 0);
    const valid = killed + (n.Survived ?? 0) + (n.NoCoverage ?? 0);
    const covered = killed + (n.Survived ?? 0);
    const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) : "n/a");
    console.log(`mutation: ${process.argv[2]}: score ${pct(killed, valid)}% (covered ${pct(killed, covered)}%), ` +
      `${killed} killed, ${n.Survived ?? 0} survived, ${n.NoCoverage ?? 0} no coverage, ` +
      `${(n.CompileError ?? 0) + (n.RuntimeError ?? 0)} errors, in ${process.argv[3]} s`);
  ' "out/mutation/$name.json" "$folder" "$((end - start))" | tee -a out/mutation/summary.txt
done
