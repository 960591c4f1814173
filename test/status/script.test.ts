/**
 * hack/build/print-workspace-status.sh as Bazel runs it: the cache answers without starting
 * node when nothing changed, and misses whenever any input changes (HEAD, tags, the dirty
 * state, the shallow boundary, the remote, every environment variable, berth.yaml, the
 * bundle). Without node or the bundle it still prints every key and exits 0; a broken
 * config exits 2.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tools.js';
import { STATUS_ENV_VARS } from '../../src/status/env.js';
import { DESCRIBE_FORMAT } from '../../src/status/git-facts.js';
import { parseStatusFile } from '../../src/status/labels.js';
import { cleanEnv, TestRepo } from './git-repo.js';

const SCRIPT = join(REPO_ROOT, 'hack', 'build', 'print-workspace-status.sh');
const BUNDLE_DIR = join(REPO_ROOT, 'dist', 'lean');

/** Every key DESIGN.md promises, in and out of git. */
const REQUIRED_KEYS = [
  'STABLE_DOCKER_REGISTRY',
  'STABLE_DOCKER_PUSH_REGISTRY',
  'STABLE_DOCKER_TAG',
  'STABLE_RELEASE_VERSION',
  'STABLE_BUILD_GIT_COMMIT',
  'STABLE_BUILD_SCM_STATUS',
  'STABLE_BUILD_SCM_REVISION',
  'STABLE_BUILD_MAJOR_VERSION',
  'STABLE_BUILD_MINOR_VERSION',
  'STABLE_LAST_COMMIT_YEAR',
];

let root: string;
let cleanup: () => Promise<void>;
let entry: string;
let nodeLog: string;
let wrapperBin: string;
let n = 0;

beforeAll(async () => {
  if (!existsSync(join(BUNDLE_DIR, 'status.cjs'))) throw new Error('dist/lean/status.cjs is missing: run npm run build first');
  ({ dir: root, cleanup } = await tempDir('berth-status-script-'));
  // A private copy of the bundle (so a test can "rebuild" it) and a node that logs its runs.
  await mkdir(join(root, 'lean'));
  await copyFile(join(BUNDLE_DIR, 'status.cjs'), join(root, 'lean', 'status.cjs'));
  await copyFile(join(BUNDLE_DIR, 'yaml.cjs'), join(root, 'lean', 'yaml.cjs'));
  entry = join(root, 'lean', 'status.cjs');
  nodeLog = join(root, 'node-runs.log');
  wrapperBin = join(root, 'bin');
  await mkdir(wrapperBin);
  await writeFile(join(wrapperBin, 'node'), `#!/bin/sh\necho run >> '${nodeLog}'\nexec '${process.execPath}' "$@"\n`);
  await chmod(join(wrapperBin, 'node'), 0o755);
});
afterAll(() => cleanup());

interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
  keys: Map<string, string>;
  /** How many times node was started. */
  nodeRuns: number;
}

async function countRuns(): Promise<number> {
  try {
    return (await readFile(nodeLog, 'utf8')).split('\n').filter((l) => l === 'run').length;
  } catch {
    return 0;
  }
}

async function runScript(cwd: string, env: Record<string, string> = {}, opts: { path?: string } = {}): Promise<ScriptRun> {
  const before = await countRuns();
  const fullEnv = cleanEnv({ BERTH_STATUS_ENTRY: entry, GIT_CEILING_DIRECTORIES: root, ...env });
  fullEnv.PATH = opts.path ?? `${wrapperBin}:${fullEnv.PATH}`;
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('/bin/bash', [SCRIPT], { cwd, env: fullEnv }, (err, stdout, stderr) => {
      const c = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code: c, stdout, stderr });
    });
  });
  return { code, stdout, stderr, keys: parseStatusFile(stdout), nodeRuns: (await countRuns()) - before };
}

/** Output without the one key that changes with the clock. */
function stable(out: string): string {
  return out
    .split('\n')
    .filter((l) => !l.startsWith('buildDate '))
    .join('\n');
}

async function newRepo(): Promise<TestRepo> {
  const repo = await TestRepo.init(join(root, `repo-${++n}`));
  await repo.commit({ 'README.md': 'hello\n' });
  await repo.tag('v1.0.0');
  return repo;
}

/** The run misses (node starts once), exits 0 and prints every key. */
async function expectMiss(cwd: string, env: Record<string, string> = {}): Promise<ScriptRun> {
  const r = await runScript(cwd, env);
  expect({ code: r.code, stderr: r.stderr.replace(/^berth: warning: .*\n/gm, ''), nodeRuns: r.nodeRuns }).toEqual({ code: 0, stderr: '', nodeRuns: 1 });
  for (const k of REQUIRED_KEYS) expect(r.keys.has(k)).toBe(true);
  return r;
}

async function expectHit(cwd: string, env: Record<string, string> = {}): Promise<ScriptRun> {
  const r = await runScript(cwd, env);
  expect({ code: r.code, stderr: r.stderr, nodeRuns: r.nodeRuns }).toEqual({ code: 0, stderr: '', nodeRuns: 0 });
  return r;
}

describe('the cache', () => {
  test('a second run with nothing changed starts no node and prints the same keys', async () => {
    const repo = await newRepo();
    const first = await expectMiss(repo.dir);
    expect(first.keys.get('STABLE_RELEASE_VERSION')).toBe('v1.0.0');
    const second = await expectHit(repo.dir);
    expect(stable(second.stdout)).toBe(stable(first.stdout));
    expect(second.keys.get('buildDate')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // the cache lives in the git dir: the tree stays clean
    expect(existsSync(join(repo.dir, '.git', 'berth', 'status.cache'))).toBe(true);
    expect(await repo.git('status', '--porcelain')).toBe('');
  });

  test('a hit prints a fresh buildDate, from SOURCE_DATE_EPOCH when set', async () => {
    const repo = await newRepo();
    await expectMiss(repo.dir, { SOURCE_DATE_EPOCH: '100' });
    const hit = await expectHit(repo.dir, { SOURCE_DATE_EPOCH: '100' });
    expect(hit.keys.get('buildDate')).toBe('1970-01-01T00:01:40Z');
    await expectMiss(repo.dir);
    const now = await expectHit(repo.dir);
    expect(Math.abs(Date.parse(now.keys.get('buildDate')!) - Date.now())).toBeLessThan(60_000);
  });

  test('the output matches `berth status` itself', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.write('dirty.txt', 'x');
    const { berth } = await import('../helpers/cli.js');
    const direct = await berth(['status'], { cwd: repo.dir, env: cleanEnv({ GIT_CEILING_DIRECTORIES: root }) });
    const miss = await expectMiss(repo.dir);
    const hit = await expectHit(repo.dir);
    expect(stable(miss.stdout)).toBe(stable(direct.stdout));
    expect(stable(hit.stdout)).toBe(stable(direct.stdout));
  });

  test('misses when HEAD moves: a commit, a checkout of another commit', async () => {
    const repo = await newRepo();
    await expectMiss(repo.dir);
    const second = await repo.commit();
    let r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_GIT_COMMIT')).toBe(second);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.0.0-1+${second.slice(0, 14)}`);
    await expectHit(repo.dir);
    await repo.git('checkout', '-q', '--detach', 'HEAD~1');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe('v1.0.0');
  });

  test('misses when the tags change: a new tag, a moved tag, a tag object replaced', async () => {
    const repo = await newRepo();
    await repo.commit();
    const third = await repo.commit();
    await expectMiss(repo.dir);
    await repo.tag('v1.1.0');
    let r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe('v1.1.0');
    await repo.git('tag', '-f', 'v1.1.0', 'HEAD~1');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.1.0-1+${third.slice(0, 14)}`);
    await repo.git('tag', '-f', '-a', 'v1.1.0', '-m', 'annotated now', 'HEAD~1');
    await expectMiss(repo.dir);
    await expectHit(repo.dir);
    // a tag that is not a version still changes the key; the answer stays right
    await repo.tag('not-a-version');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.1.0-1+${third.slice(0, 14)}`);
    await repo.git('tag', '-d', 'v1.1.0');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.0.0-2+${third.slice(0, 14)}`);
  });

  test('misses when the tree gets dirty and when it is clean again', async () => {
    const repo = await newRepo();
    await expectMiss(repo.dir);
    await repo.write('README.md', 'edited\n');
    let r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_SCM_STATUS')).toBe('dirty');
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe('v1.0.0-dirty');
    await expectHit(repo.dir);
    await repo.git('checkout', '--', 'README.md');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_SCM_STATUS')).toBe('clean');
    await repo.write('untracked.txt', 'new\n');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_SCM_STATUS')).toBe('dirty');
    await rm(join(repo.dir, 'untracked.txt'));
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_SCM_STATUS')).toBe('clean');
  });

  const envValues: Record<string, string> = {
    DOCKER_REGISTRY: 'gcr.io/acme',
    DOCKER_PUSH_REGISTRY: 'gcr.io/acme-push',
    DOCKER_TAG: 'canary',
    APP_VERSION: 'v7.0.0',
    SOURCE_DATE_EPOCH: '1234567890',
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.example.com',
    GITHUB_REPOSITORY: 'octo/repo',
    REPO_OWNER: 'kubernetes',
    JOB_TYPE: 'periodic',
  };
  test.each([...STATUS_ENV_VARS])('misses when $%s is set, changed, or unset again', async (name) => {
    const repo = await newRepo();
    await expectMiss(repo.dir);
    const value = envValues[name] ?? 'some-value';
    await expectMiss(repo.dir, { [name]: value });
    await expectHit(repo.dir, { [name]: value });
    await expectMiss(repo.dir, { [name]: `${value}2` === 'true2' ? 'false' : name === 'SOURCE_DATE_EPOCH' ? '1234567891' : `${value}2` });
    await expectMiss(repo.dir);
  });

  test('the environment overrides show up after a miss', async () => {
    const repo = await newRepo();
    await expectMiss(repo.dir);
    const r = await expectMiss(repo.dir, { DOCKER_REGISTRY: 'gcr.io/acme', DOCKER_TAG: 'canary' });
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('gcr.io/acme');
    expect(r.keys.get('STABLE_DOCKER_TAG')).toBe('canary');
    const gh = await expectMiss(repo.dir, { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/repo' });
    expect(gh.keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://github.com/octo/repo');
  });

  test('misses when berth.yaml appears, changes or goes', async () => {
    const repo = await newRepo();
    await expectMiss(repo.dir);
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: quay.io/one\n');
    let r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('quay.io/one');
    await expectHit(repo.dir);
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: quay.io/two\n');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('quay.io/two');
    // the same text again is answered from the parsed-config cache, still correctly
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: quay.io/one\n');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('quay.io/one');
    await rm(join(repo.dir, 'berth.yaml'));
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('localhost:5000');
  });

  test('misses when the origin remote changes', async () => {
    const repo = await newRepo();
    await repo.git('remote', 'add', 'origin', 'git@github.com:acme/one.git');
    let r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://github.com/acme/one');
    await repo.git('remote', 'set-url', 'origin', 'https://github.com/acme/two.git');
    r = await expectMiss(repo.dir);
    expect(r.keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://github.com/acme/two');
  });

  test('misses when a shallow clone is deepened (HEAD and tags unchanged)', async () => {
    const origin = await newRepo();
    await origin.commit();
    const head = await origin.commit();
    const clone = join(root, `clone-${++n}`);
    await origin.git('clone', '-q', '--depth', '1', `file://${origin.dir}`, clone);
    const c = TestRepo.at(clone);
    await c.git('fetch', '-q', '--depth', '1', 'origin', 'refs/tags/v1.0.0:refs/tags/v1.0.0');
    let r = await expectMiss(clone);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe(`v0.0.0-1+${head.slice(0, 14)}`);
    await expectHit(clone);
    await c.git('fetch', '-q', '--unshallow', 'origin', 'main');
    r = await expectMiss(clone);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.0.0-2+${head.slice(0, 14)}`);
  });

  test('misses when the bundle is rebuilt', async () => {
    const repo = await newRepo();
    await expectMiss(repo.dir);
    await expectHit(repo.dir);
    const cache = join(repo.dir, '.git', 'berth', 'status.cache');
    const past = (s: number) => new Date(Date.now() - s * 1000);
    await utimes(cache, past(20), past(20));
    await utimes(entry, past(10), past(10));
    await expectMiss(repo.dir);
    await expectHit(repo.dir);
  });

  test('each worktree has its own cache', async () => {
    const repo = await newRepo();
    await repo.commit();
    const wt = join(root, `worktree-${++n}`);
    await repo.git('worktree', 'add', '-q', '--detach', wt, 'HEAD~1');
    const main = await expectMiss(repo.dir);
    const other = await expectMiss(wt);
    expect(other.keys.get('STABLE_RELEASE_VERSION')).toBe('v1.0.0');
    expect(main.keys.get('STABLE_RELEASE_VERSION')).not.toBe('v1.0.0');
    await expectHit(repo.dir);
    await expectHit(wt);
  });

  test('runs at the same time agree and leave a good cache', async () => {
    const repo = await newRepo();
    const runs = await Promise.all([1, 2, 3, 4].map(() => runScript(repo.dir)));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(stable(r.stdout)).toBe(stable(runs[0]!.stdout));
    }
    const hit = await expectHit(repo.dir);
    expect(stable(hit.stdout)).toBe(stable(runs[0]!.stdout));
  });
});

describe('without overlapping node and git (bash before 4.4)', () => {
  test('misses, hits and answers alike', async () => {
    const seq = { BERTH_STATUS_SEQUENTIAL: '1' };
    const repo = await newRepo();
    const miss = await expectMiss(repo.dir, seq);
    const hit = await expectHit(repo.dir, seq);
    expect(stable(hit.stdout)).toBe(stable(miss.stdout));
    await repo.write('README.md', 'edited\n');
    expect((await expectMiss(repo.dir, seq)).keys.get('STABLE_BUILD_SCM_STATUS')).toBe('dirty');
    await expectHit(repo.dir);
    await writeFile(join(repo.dir, 'berth.yaml'), 'bogus: 1\n');
    const broken = await runScript(repo.dir, seq);
    expect(broken.code).toBe(2);
  });
});

describe('the lean entry point does not cache what changed under it', () => {
  test('a berth.yaml saved after the script read it is printed but not cached', async () => {
    const repo = await newRepo();
    const head = await repo.head();
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: quay.io/new\n');
    const cacheDir = join(repo.dir, '.git', 'berth');
    const part = (name: string, text: string) => `${Buffer.byteLength(`${name}=${text}`)}:${name}=${text}\n`;
    const run = (yamlInKey: string) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(process.execPath, [entry, '--no-build-date', '--stdin', `--commit=${head}`, `--git-common-dir=${join(repo.dir, '.git')}`, `--cache-dir=${cacheDir}`], { cwd: repo.dir, env: cleanEnv() }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        );
        child.stdin!.end(`scm-status=clean\n\nberth status cache 2\n${part('berth.yaml', yamlInKey)}`);
      });
    const out = await run('registry: quay.io/old\n');
    expect(parseStatusFile(out).get('STABLE_DOCKER_REGISTRY')).toBe('quay.io/new');
    expect(existsSync(join(cacheDir, 'status.cache'))).toBe(false);
  });
});

describe('it never fails a build over the repository', () => {
  test('outside git: every key from the environment and defaults, exit 0', async () => {
    const dir = join(root, `plain-${++n}`);
    await mkdir(dir);
    const r = await runScript(dir, { DOCKER_REGISTRY: 'ghcr.io/acme', APP_VERSION: 'v2.3.4' });
    expect(r.code).toBe(0);
    for (const k of REQUIRED_KEYS) expect(r.keys.has(k)).toBe(true);
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('ghcr.io/acme');
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe('v2.3.4');
    expect(r.keys.get('STABLE_BUILD_GIT_COMMIT')).toBe('unknown');
  });

  test('without node on PATH: every key from the environment and defaults, a warning, exit 0', async () => {
    const repo = await newRepo();
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: "quay.io/from-yaml" # comment\n');
    const bin = join(root, `gitonly-${++n}`);
    await mkdir(bin);
    await symlink((await whichGit()).trim(), join(bin, 'git'));
    const r = await runScript(repo.dir, { DOCKER_TAG: 'dev' }, { path: bin });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: node or dist\/lean\/status\.cjs was not found/);
    for (const k of REQUIRED_KEYS) expect(r.keys.has(k)).toBe(true);
    expect(r.keys.get('STABLE_DOCKER_REGISTRY')).toBe('quay.io/from-yaml');
    expect(r.keys.get('STABLE_DOCKER_TAG')).toBe('dev');
    expect(r.keys.get('STABLE_BUILD_GIT_COMMIT')).toBe(await repo.head());
    expect(r.keys.get('STABLE_BUILD_SCM_STATUS')).toBe('dirty');
    expect(r.keys.get('buildDate')).toMatch(/Z$/);
  });

  test('without the bundle: the same fallback', async () => {
    const repo = await newRepo();
    const r = await runScript(repo.dir, { BERTH_STATUS_ENTRY: join(root, 'no-such-bundle.cjs') });
    expect(r.code).toBe(0);
    expect(r.nodeRuns).toBe(0);
    expect(r.stderr).toMatch(/was not found/);
    for (const k of REQUIRED_KEYS) expect(r.keys.has(k)).toBe(true);
    expect(r.keys.get('STABLE_RELEASE_VERSION')).toBe('v0.0.0-unknown');
    expect(r.keys.get('STABLE_BUILD_SCM_STATUS')).toBe('clean');
  });

  test('when node fails for another reason: the fallback, nothing cached', async () => {
    const repo = await newRepo();
    const crash = join(root, `crash-${++n}.cjs`);
    await writeFile(crash, 'process.exit(1)\n');
    const r = await runScript(repo.dir, { BERTH_STATUS_ENTRY: crash });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/berth status failed \(exit 1\)/);
    for (const k of REQUIRED_KEYS) expect(r.keys.has(k)).toBe(true);
    expect(existsSync(join(repo.dir, '.git', 'berth', 'status.cache'))).toBe(false);
  });

  test('a broken berth.yaml fails the build with exit 2 and one line saying what to fix', async () => {
    const repo = await newRepo();
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: ghcr.io/acme\nunknownKey: 1\n');
    const r = await runScript(repo.dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('berth: berth.yaml:2: unknownKey: unknown key (known here: registry, push-registry, tags, insecure-registries, registry-mirrors, signing, images, release)\n');
    // and it stays broken until fixed: nothing was cached
    expect((await runScript(repo.dir)).code).toBe(2);
    await writeFile(join(repo.dir, 'berth.yaml'), 'registry: ghcr.io/acme\n');
    expect((await expectMiss(repo.dir)).keys.get('STABLE_DOCKER_REGISTRY')).toBe('ghcr.io/acme');
  });
});

describe('the script and the library agree', () => {
  test('on the environment variables the status depends on', async () => {
    const text = await readFile(SCRIPT, 'utf8');
    const m = /^env_vars=\(([^)]*)\)/m.exec(text);
    expect(m).not.toBeNull();
    expect(m![1]!.split(/\s+/).filter((s) => s !== '').sort()).toEqual([...STATUS_ENV_VARS].sort());
  });

  test('on the describe format', async () => {
    expect(await readFile(SCRIPT, 'utf8')).toContain(`--format='%ct%n${DESCRIBE_FORMAT}%n.'`);
  });
});

function whichGit(): Promise<string> {
  return new Promise((resolve, reject) => execFile('/bin/sh', ['-c', 'command -v git'], (err, out) => (err ? reject(err) : resolve(out))));
}
