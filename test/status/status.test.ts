/**
 * `berth status` on real git repositories: every key, for tags, pre-releases, dirty trees,
 * detached HEADs, shallow clones, no tags and no git; the overrides and berth.yaml; and the
 * errors that are allowed to fail a build (a broken config), with exit 2.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';
import { parseStatusFile } from '../../src/status/labels.js';
import { cleanEnv, FIRST_COMMIT_EPOCH, TestRepo } from './git-repo.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-status-'));
});
afterAll(() => cleanup());

async function newRepo(): Promise<TestRepo> {
  return TestRepo.init(join(root, `repo-${++n}`));
}

/** Runs `berth status` in `dir` and returns its keys; it must succeed. */
async function status(dir: string, env: Record<string, string> = {}): Promise<{ keys: Map<string, string>; stderr: string }> {
  const r = await berth(['status'], { cwd: dir, env: cleanEnv({ GIT_CEILING_DIRECTORIES: dirname(dir), SOURCE_DATE_EPOCH: '', ...env }) });
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  return { keys: parseStatusFile(r.stdout), stderr: r.stderr };
}

const YEAR_2024 = '2024';

describe('in a git repository', () => {
  test('exactly on a lightweight tag: every key', async () => {
    const repo = await newRepo();
    await repo.commit();
    const sha = await repo.commit();
    await repo.tag('v1.2.3');
    const { keys, stderr } = await status(repo.dir, { SOURCE_DATE_EPOCH: '1700000000' });
    expect(Object.fromEntries(keys)).toEqual({
      STABLE_DOCKER_REGISTRY: 'localhost:5000',
      STABLE_DOCKER_PUSH_REGISTRY: 'localhost:5000',
      STABLE_DOCKER_TAG: 'v1.2.3',
      STABLE_RELEASE_VERSION: 'v1.2.3',
      STABLE_BUILD_GIT_COMMIT: sha,
      STABLE_BUILD_SCM_STATUS: 'clean',
      STABLE_BUILD_SCM_REVISION: 'v1.2.3',
      STABLE_BUILD_MAJOR_VERSION: '1',
      STABLE_BUILD_MINOR_VERSION: '2',
      STABLE_LAST_COMMIT_YEAR: YEAR_2024,
      STABLE_BUILD_SCM_TIMESTAMP: String(TestRepo.epochOf(2)),
      gitCommit: sha,
      gitTreeState: 'clean',
      gitVersion: 'v1.2.3',
      gitMajor: '1',
      gitMinor: '2',
      buildDate: '2023-11-14T22:13:20Z',
    });
    expect(stderr).toBe('');
  });

  test('commits after an annotated tag: v1.2.3-<n>+<14 hex>, and STABLE_DOCKER_TAG with - for +', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.tag('v1.2.3', { annotated: true });
    await repo.commit();
    const sha = await repo.commit();
    const { keys } = await status(repo.dir);
    const v = `v1.2.3-2+${sha.slice(0, 14)}`;
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe(v);
    expect(keys.get('STABLE_BUILD_SCM_REVISION')).toBe(v);
    expect(keys.get('STABLE_DOCKER_TAG')).toBe(`v1.2.3-2-${sha.slice(0, 14)}`);
    expect(keys.get('STABLE_BUILD_MAJOR_VERSION')).toBe('1');
    expect(keys.get('STABLE_BUILD_MINOR_VERSION')).toBe('2+');
    expect(keys.get('STABLE_LAST_COMMIT_YEAR')).toBe(YEAR_2024);
    expect(keys.get('STABLE_BUILD_SCM_TIMESTAMP')).toBe(String(TestRepo.epochOf(3)));
  });

  test('after a pre-release tag: v1.3.0-alpha.0.<n>+<hex>', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.tag('v1.2.3');
    await repo.commit();
    await repo.tag('v1.3.0-alpha.0', { annotated: true });
    for (let i = 0; i < 6; i++) await repo.commit();
    const sha = await repo.head();
    const { keys } = await status(repo.dir);
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.3.0-alpha.0.6+${sha.slice(0, 14)}`);
    expect(keys.get('STABLE_DOCKER_TAG')).toBe(`v1.3.0-alpha.0.6-${sha.slice(0, 14)}`);
    expect(keys.get('STABLE_BUILD_MINOR_VERSION')).toBe('3+');
  });

  test('tags not starting with v are not versions', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.tag('v0.9.0');
    await repo.commit();
    await repo.tag('release-2.0.0');
    const sha = await repo.head();
    const { keys } = await status(repo.dir);
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe(`v0.9.0-1+${sha.slice(0, 14)}`);
  });

  test('a dirty tree: a changed file, or only an untracked one', async () => {
    const repo = await newRepo();
    await repo.commit({ 'a.txt': 'a\n' });
    await repo.tag('v2.0.0');
    await repo.write('a.txt', 'changed\n');
    let { keys } = await status(repo.dir);
    expect(keys.get('STABLE_BUILD_SCM_STATUS')).toBe('dirty');
    expect(keys.get('gitTreeState')).toBe('dirty');
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe('v2.0.0-dirty');
    expect(keys.get('STABLE_DOCKER_TAG')).toBe('v2.0.0-dirty');
    expect(keys.get('STABLE_BUILD_MINOR_VERSION')).toBe('0+');

    await repo.git('checkout', '--', 'a.txt');
    await repo.write('new.txt', 'untracked\n');
    ({ keys } = await status(repo.dir));
    expect(keys.get('STABLE_BUILD_SCM_STATUS')).toBe('dirty');
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe('v2.0.0-dirty');
  });

  test('a detached HEAD at an older commit', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.tag('v1.0.0');
    const older = await repo.commit();
    await repo.commit();
    await repo.tag('v1.1.0');
    await repo.git('checkout', '-q', '--detach', older);
    const { keys } = await status(repo.dir);
    expect(keys.get('STABLE_BUILD_GIT_COMMIT')).toBe(older);
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe(`v1.0.0-1+${older.slice(0, 14)}`);
    expect(keys.get('STABLE_BUILD_SCM_TIMESTAMP')).toBe(String(TestRepo.epochOf(2)));
  });

  test('no v* tag at all: v0.0.0-<commit count>+<14 hex>, with a warning', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.commit();
    const sha = await repo.commit();
    const { keys, stderr } = await status(repo.dir);
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe(`v0.0.0-3+${sha.slice(0, 14)}`);
    expect(keys.get('STABLE_DOCKER_TAG')).toBe(`v0.0.0-3-${sha.slice(0, 14)}`);
    expect(keys.get('STABLE_BUILD_MAJOR_VERSION')).toBe('0');
    expect(keys.get('STABLE_BUILD_MINOR_VERSION')).toBe('0+');
    expect(stderr).toMatch(/warning: no v\* tag is behind HEAD/);
  });

  test('a shallow clone: the tag behind the shallow boundary is not seen; a tag at HEAD is', async () => {
    const origin = await newRepo();
    await origin.commit();
    await origin.tag('v3.1.0');
    await origin.commit();
    const head = await origin.commit();
    const clone = join(root, `clone-${++n}`);
    await origin.git('clone', '-q', '--depth', '1', `file://${origin.dir}`, clone);
    let { keys, stderr } = await status(clone);
    expect(keys.get('STABLE_BUILD_GIT_COMMIT')).toBe(head);
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe(`v0.0.0-1+${head.slice(0, 14)}`);
    expect(stderr).toMatch(/shallow clone/);

    await origin.tag('v3.2.0', { annotated: true });
    const clone2 = join(root, `clone-${++n}`);
    await origin.git('clone', '-q', '--depth', '1', `file://${origin.dir}`, clone2);
    ({ keys } = await status(clone2));
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe('v3.2.0');
  });

  test('the source comes from the origin remote, made https, without credentials', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.git('remote', 'add', 'origin', 'git@github.com:acme/widgets.git');
    expect((await status(repo.dir)).keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://github.com/acme/widgets');
    await repo.git('remote', 'set-url', 'origin', 'https://user:s3cret-token@gitlab.example.com/group/sub/widgets.git');
    const { keys } = await status(repo.dir);
    expect(keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://gitlab.example.com/group/sub/widgets');
    expect([...keys.values()].join(' ')).not.toContain('s3cret');
  });

  test('the source comes from CI when CI says it', async () => {
    const repo = await newRepo();
    await repo.commit();
    await repo.git('remote', 'add', 'origin', 'git@github.com:acme/widgets.git');
    const gh = await status(repo.dir, { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push', GITHUB_SERVER_URL: 'https://github.example.com', GITHUB_REPOSITORY: 'octo/repo' });
    expect(gh.keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://github.example.com/octo/repo');
    const prow = await status(repo.dir, { JOB_TYPE: 'presubmit', REPO_OWNER: 'kubernetes', REPO_NAME: 'test-infra', PULL_NUMBER: '7' });
    expect(prow.keys.get('STABLE_BUILD_SCM_SOURCE')).toBe('https://github.com/kubernetes/test-infra');
  });
});

describe('overrides and berth.yaml', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = await newRepo();
    await repo.commit();
    await repo.tag('v1.0.0');
  });

  test('DOCKER_REGISTRY, DOCKER_PUSH_REGISTRY, DOCKER_TAG, APP_VERSION', async () => {
    let { keys } = await status(repo.dir, { DOCKER_REGISTRY: 'gcr.io/acme', DOCKER_TAG: 'canary', APP_VERSION: 'ignored-when-DOCKER_TAG-is-set' });
    expect(keys.get('STABLE_DOCKER_REGISTRY')).toBe('gcr.io/acme');
    expect(keys.get('STABLE_DOCKER_PUSH_REGISTRY')).toBe('gcr.io/acme');
    expect(keys.get('STABLE_DOCKER_TAG')).toBe('canary');
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe('v1.0.0');
    ({ keys } = await status(repo.dir, { DOCKER_PUSH_REGISTRY: 'staging.example.com:5000/acme', APP_VERSION: 'v9.9.9' }));
    expect(keys.get('STABLE_DOCKER_REGISTRY')).toBe('localhost:5000');
    expect(keys.get('STABLE_DOCKER_PUSH_REGISTRY')).toBe('staging.example.com:5000/acme');
    expect(keys.get('STABLE_DOCKER_TAG')).toBe('v9.9.9');
  });

  test('berth.yaml gives the defaults; the environment wins over it', async () => {
    const dir = join(root, `yaml-${++n}`);
    const r = await TestRepo.init(dir);
    await r.commit({ 'berth.yaml': '# defaults\nregistry: quay.io/acme\npush-registry: quay.io/acme-staging\ntags:\n  - "{{ .Version }}"\n' });
    let { keys } = await status(dir);
    expect(keys.get('STABLE_DOCKER_REGISTRY')).toBe('quay.io/acme');
    expect(keys.get('STABLE_DOCKER_PUSH_REGISTRY')).toBe('quay.io/acme-staging');
    ({ keys } = await status(dir, { DOCKER_REGISTRY: 'ghcr.io/other', DOCKER_PUSH_REGISTRY: 'ghcr.io/other-push' }));
    expect(keys.get('STABLE_DOCKER_REGISTRY')).toBe('ghcr.io/other');
    expect(keys.get('STABLE_DOCKER_PUSH_REGISTRY')).toBe('ghcr.io/other-push');
  });

  test('--json prints the same keys as an object', async () => {
    const r = await berth(['status', '--json'], { cwd: repo.dir, env: cleanEnv({ GIT_CEILING_DIRECTORIES: root }) });
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout) as Record<string, string>;
    expect(obj.STABLE_RELEASE_VERSION).toBe('v1.0.0');
    expect(obj.STABLE_BUILD_SCM_STATUS).toBe('clean');
  });
});

describe('outside git', () => {
  test('every key from the environment and defaults, exit 0', async () => {
    const dir = join(root, `plain-${++n}`);
    await mkdir(dir);
    const { keys, stderr } = await status(dir, { SOURCE_DATE_EPOCH: '1700000000' });
    expect(Object.fromEntries(keys)).toEqual({
      STABLE_DOCKER_REGISTRY: 'localhost:5000',
      STABLE_DOCKER_PUSH_REGISTRY: 'localhost:5000',
      STABLE_DOCKER_TAG: 'v0.0.0-unknown',
      STABLE_RELEASE_VERSION: 'v0.0.0-unknown',
      STABLE_BUILD_GIT_COMMIT: 'unknown',
      STABLE_BUILD_SCM_STATUS: 'unknown',
      STABLE_BUILD_SCM_REVISION: 'v0.0.0-unknown',
      STABLE_BUILD_MAJOR_VERSION: '0',
      STABLE_BUILD_MINOR_VERSION: '0+',
      STABLE_LAST_COMMIT_YEAR: '2023',
      STABLE_BUILD_SCM_TIMESTAMP: '1700000000',
      gitCommit: 'unknown',
      gitTreeState: 'unknown',
      gitVersion: 'v0.0.0-unknown',
      gitMajor: '0',
      gitMinor: '0+',
      buildDate: '2023-11-14T22:13:20Z',
    });
    expect(stderr).toMatch(/not a git checkout/);
  });

  test('APP_VERSION and berth.yaml fill in what git cannot', async () => {
    const dir = join(root, `plain-${++n}`);
    await mkdir(dir);
    await writeFile(join(dir, 'berth.yaml'), 'registry: registry.example.com/team\n');
    const { keys } = await status(dir, { APP_VERSION: 'v4.5.6' });
    expect(keys.get('STABLE_RELEASE_VERSION')).toBe('v4.5.6');
    expect(keys.get('STABLE_DOCKER_TAG')).toBe('v4.5.6');
    expect(keys.get('STABLE_BUILD_MAJOR_VERSION')).toBe('4');
    expect(keys.get('STABLE_BUILD_MINOR_VERSION')).toBe('5');
    expect(keys.get('STABLE_DOCKER_REGISTRY')).toBe('registry.example.com/team');
  });

  test('a repository with no commit yet counts as outside git', async () => {
    const dir = join(root, `empty-${++n}`);
    await TestRepo.init(dir);
    const { keys, stderr } = await status(dir);
    expect(keys.get('STABLE_BUILD_GIT_COMMIT')).toBe('unknown');
    expect(stderr).toMatch(/warning/);
  });
});

describe('a broken config fails with exit 2 and one line naming it', () => {
  async function failing(files: Record<string, string>, env: Record<string, string> = {}) {
    const dir = join(root, `bad-${++n}`);
    await mkdir(dir);
    for (const [p, c] of Object.entries(files)) await writeFile(join(dir, p), c);
    const r = await berth(['status'], { cwd: dir, env: cleanEnv({ GIT_CEILING_DIRECTORIES: root, ...env }) });
    return r;
  }

  test.each([
    ['an unknown key', 'registry: ghcr.io/acme\nregistyr: typo\n', /^berth: berth\.yaml:2: registyr: unknown key \(known here: registry, push-registry, tags, insecure-registries, registry-mirrors, signing, images, release\)$/],
    ['a registry that is no registry', '\n\nregistry: "Not A Registry"\n', /^berth: berth\.yaml:3: registry: "Not A Registry" is not a registry/],
    ['a list where a string belongs', 'registry:\n  - a\n  - b\n', /^berth: berth\.yaml:2: registry: want a string, found a list$/],
    ['malformed YAML', 'registry: [unclosed\n', /^berth: berth\.yaml:\d+: not valid YAML: /],
    ['a duplicate key', 'registry: a.io/x\nregistry: b.io/y\n', /^berth: berth\.yaml:2: not valid YAML: Map keys must be unique/],
    ['a bad tag template', 'tags:\n  - "v{{ .Nope }}"\n', /^berth: berth\.yaml:2: tags\[0\]: unknown template field \.Nope/],
    ['a top level that is not a mapping', '- registry\n', /^berth: berth\.yaml:1: want a mapping of keys/],
  ])('%s', async (_what, yaml, line) => {
    const r = await failing({ 'berth.yaml': yaml });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(line);
  });

  test.each([
    ['DOCKER_TAG', 'has space', /^berth: \$DOCKER_TAG: "has space" is not a valid image tag/],
    ['APP_VERSION', 'v1.2.3+build', /^berth: \$APP_VERSION: "v1\.2\.3\+build" is not a valid image tag/],
    ['DOCKER_REGISTRY', 'UPPER CASE', /^berth: \$DOCKER_REGISTRY: "UPPER CASE" is not a registry/],
    ['SOURCE_DATE_EPOCH', 'yesterday', /^berth: \$SOURCE_DATE_EPOCH: "yesterday" is not a number/],
  ])('a bad $%s', async (name, value, line) => {
    const r = await failing({}, { [name]: value });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toMatch(line);
  });
});

test('the first commit time is what the helper says', () => {
  expect(new Date(FIRST_COMMIT_EPOCH * 1000).toISOString()).toBe('2024-03-05T10:20:30.000Z');
});
