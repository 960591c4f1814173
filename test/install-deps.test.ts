/**
 * hack/install-deps.sh is the one list of the Debian packages the tests use; the test run's
 * globalSetup stops with one message naming what is missing.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/tools.js';
// @ts-expect-error a plain JS module (jest's globalSetup)
import checkTools from './helpers/check-tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let partial: string;
const SCRIPT = join(REPO_ROOT, 'hack', 'install-deps.sh');

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('berth-deps-'));
  // A PATH with every tool the script checks for but htpasswd and tmux.
  partial = join(dir, 'bin');
  await mkdir(partial);
  const tools = [...(await readFile(SCRIPT, 'utf8')).matchAll(/^command -v (\S+) /gm)].map((m) => m[1]!);
  for (const tool of tools.filter((t) => t !== 'htpasswd' && t !== 'tmux')) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    await symlink(found, join(partial, tool));
  }
});
afterAll(async () => cleanup?.());

test('--check names the missing packages (not the commands) and exits 1; with everything there, exit 0', () => {
  const r = spawnSync('/bin/bash', [SCRIPT, '--check'], { encoding: 'utf8', env: { PATH: partial } });
  expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: 'apache2-utils tmux\n' });
  expect(spawnSync('/bin/bash', [SCRIPT, '--check'], { encoding: 'utf8' }).status).toBe(0);
});

test('the test run stops first with one message naming them', () => {
  const saved = process.env.PATH;
  process.env.PATH = partial;
  try {
    expect(() => checkTools()).toThrow("berth's tests need Debian packages that are not installed: apache2-utils tmux\nInstall them with: sudo hack/install-deps.sh");
  } finally {
    process.env.PATH = saved;
  }
});

test('.ci/run installs through the script, and README names it in the quick start', async () => {
  expect(await readFile(join(REPO_ROOT, '.ci', 'run'), 'utf8')).toContain('\nhack/install-deps.sh\n');
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Commands'));
  expect(quickStart).toContain('sudo hack/install-deps.sh');
});
