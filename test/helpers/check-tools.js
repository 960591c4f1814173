// jest's globalSetup: before any test, check that every tool the tests use is installed, and
// stop with one message naming the missing Debian packages (the list is hack/install-deps.sh's)
// rather than let each test fail on its own. BERTH_TEST_SKIP_TOOL_CHECK=1 skips the check.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function checkTools() {
  if (process.env.BERTH_TEST_SKIP_TOOL_CHECK === '1') return;
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'hack', 'install-deps.sh');
  const r = spawnSync('/bin/bash', [script, '--check'], { encoding: 'utf8', env: process.env });
  if (r.status === 0) return;
  const missing = (r.stdout ?? '').trim() || `(the check itself failed: ${r.error?.message ?? r.stderr})`;
  throw new Error(`berth's tests need Debian packages that are not installed: ${missing}\nInstall them with: hack/install-deps.sh (as root, or it asks sudo; then run npm test again)`);
}
