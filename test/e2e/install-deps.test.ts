/**
 * hack/install-deps.sh is the one list of the Debian packages the tests use; the test run's
 * globalSetup stops with one message naming what is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tools.js';
// @ts-expect-error a plain JS module (jest's globalSetup)
import checkTools from '../helpers/check-tools.js';

let dir: string;
let cleanup: () => Promise<void>;
let partial: string;
const SCRIPT = join(REPO_ROOT, 'hack', 'install-deps.sh');
const SETPRIV = spawnSync('bash', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();

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
    expect(() => checkTools()).toThrow("berth's tests need Debian packages that are not installed: apache2-utils tmux\nInstall them with: hack/install-deps.sh (as root, or it asks sudo");
  } finally {
    process.env.PATH = saved;
  }
});

test('.ci/run installs through the script, and README names it in the quick start', async () => {
  expect(await readFile(join(REPO_ROOT, '.ci', 'run'), 'utf8')).toContain('\nhack/install-deps.sh\n');
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Commands'));
  // Containers and CI images run as root and have no sudo: the quick start must not need it.
  expect(quickStart).toContain('\nhack/install-deps.sh && npm test');
  expect(quickStart).not.toContain('sudo hack/install-deps.sh');
});

/**
 * The install itself, with apt-get (and sudo) standing in as scripts that record how they were
 * called: as root it runs apt-get directly (no sudo on the PATH, as in a container); as another
 * user through sudo, saying so; as another user with no sudo it names what to run, exit 1.
 */
describe('installing', () => {
  let fake: string;
  let script: string;
  beforeAll(async () => {
    fake = join(dir, 'fake');
    await mkdir(fake);
    // A copy nobody may read and run, in folders nobody may enter.
    script = join(fake, 'install-deps.sh');
    await copyFile(SCRIPT, script);
    for (const tool of ['apt-get', 'sudo']) {
      await mkdir(join(fake, tool + '-bin'));
      await writeFile(join(fake, tool + '-bin', tool), `#!/bin/sh\necho "${tool} $*" >> ${join(fake, 'calls')}\n${tool === 'sudo' ? 'shift; exec "$@"' : ''}\n`, { mode: 0o755 });
    }
    await writeFile(join(fake, 'calls'), '');
    await chmod(join(fake, 'calls'), 0o666);
    await chmod(dir, 0o755);
    await chmod(fake, 0o755);
    await spawnSync('chmod', ['-R', 'a+rX', partial]);
  });
  const calls = async () => {
    const text = await readFile(join(fake, 'calls'), 'utf8');
    await writeFile(join(fake, 'calls'), '');
    return text;
  };
  const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '/bin/bash', ''];

  test('as root, with no sudo anywhere: apt-get itself', async () => {
    const r = spawnSync('/bin/bash', [script], { encoding: 'utf8', env: { PATH: `${partial}:${fake}/apt-get-bin` } });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'install-deps: installing apache2-utils tmux\n' });
    expect(await calls()).toBe('apt-get update -qq\napt-get install -y -qq --no-install-recommends apache2-utils tmux\n');
  });

  test('as another user: through sudo, saying so', async () => {
    const r = spawnSync(SETPRIV, [...asNobody.slice(0, -1), script], { encoding: 'utf8', env: { PATH: `${partial}:${fake}/sudo-bin:${fake}/apt-get-bin` } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: 'install-deps: not root: running apt-get through sudo\n' });
    expect(await calls()).toBe('sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq\napt-get update -qq\nsudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apache2-utils tmux\napt-get install -y -qq --no-install-recommends apache2-utils tmux\n');
  });

  test('as another user with no sudo: what to run, exit 1, nothing run', async () => {
    const r = spawnSync(SETPRIV, [...asNobody.slice(0, -1), script], { encoding: 'utf8', env: { PATH: `${partial}:${fake}/apt-get-bin` } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: 'install-deps: installing apache2-utils tmux needs root, and there is no sudo: run hack/install-deps.sh as root (su -c hack/install-deps.sh)\n' });
    expect(await calls()).toBe('');
  });
});
