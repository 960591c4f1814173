#!/usr/bin/env bash
# Runs every test of the given jest files on its own (jest -t with its full name), to find
# tests that pass only after an earlier test made what they read. Prints each test that fails
# alone; exits 1 if any did. Usage: npm run build && hack/test-alone.sh test/registry/push.test.ts ...
# (Slow: one jest start, and each file's beforeAll, per test.) `jest --randomize` checks order too.
set -uo pipefail
cd "$(dirname "$0")/.."
export NODE_OPTIONS=--experimental-vm-modules
failed=0
for file in "$@"; do
  list=$(mktemp --suffix=.json)
  npx jest "$file" --json --outputFile="$list" >/dev/null 2>&1
  while IFS= read -r name; do
    pattern=$(node -e 'console.log("^" + process.argv[1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$")' "$name")
    if ! npx jest "$file" --testNamePattern="$pattern" >/dev/null 2>&1; then
      echo "fails alone: $file: $name"
      failed=1
    fi
  done < <(node -e 'for (const f of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).testResults) for (const t of f.assertionResults) console.log(t.fullName)' "$list")
  rm -f "$list"
done
exit "$failed"
