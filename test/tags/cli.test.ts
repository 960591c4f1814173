/**
 * `berth tags` on real git repositories, in every CI context it knows: Prow presubmit,
 * postsubmit (branch and tag) and periodic; GitHub Actions pull_request, push and tag push;
 * and plain git when neither is set.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { berth } from '../helpers/cli.js';
import { tempDir } from '../helpers/tools.js';
import { cleanEnv, TestRepo } from '../status/git-repo.js';

let root: string;
let cleanup: () => Promise<void>;
let repo: TestRepo;
let first: string;
let second: string;
let head: string;

// commit n was made on 2024-03-05 + (n-1) days
const DATE = (n: number) => new Date(TestRepo.epochOf(n) * 1000).toISOString().slice(0, 10).replaceAll('-', '');

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('berth-tags-'));
  repo = await TestRepo.init(join(root, 'repo'));
  first = await repo.commit();
  await repo.tag('v1.0.0');
  second = await repo.commit();
  await repo.tag('v1.1.0', { annotated: true });
  head = await repo.commit();
  await repo.git('remote', 'add', 'origin', 'git@github.com:acme/app.git');
});
afterAll(() => cleanup());

async function tags(args: string[], env: Record<string, string> = {}, cwd = repo.dir) {
  return berth(['tags', ...args], { cwd, env: cleanEnv({ GIT_CEILING_DIRECTORIES: root, ...env }) });
}

async function values(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const r = await tags(args, env);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('defaults by context', () => {
  test('plain git: v<YYYYMMDD of the commit>-<8 hex>', async () => {
    expect(await values([])).toEqual([`v${DATE(3)}-${head.slice(0, 8)}`]);
  });

  test('--json: name and value, as kyma image-builder prints them', async () => {
    const r = await tags(['--json']);
    expect(JSON.parse(r.stdout)).toEqual([{ name: 'default', value: `v${DATE(3)}-${head.slice(0, 8)}` }]);
  });

  test('Prow presubmit: pr-<number>', async () => {
    const env = { JOB_TYPE: 'presubmit', PULL_NUMBER: '1234', PULL_BASE_SHA: first, PULL_PULL_SHA: second, REPO_OWNER: 'acme', REPO_NAME: 'app' };
    expect(await values([], env)).toEqual(['pr-1234']);
    expect(await values(['--tag', 'v{{ .Date }}-{{ .ShortSHA }}', '--tag', 'pr-{{ .PRNumber }}'], env)).toEqual([`v${DATE(2)}-${second.slice(0, 8)}`, 'pr-1234']);
  });

  test('Prow postsubmit: the base commit', async () => {
    const env = { JOB_TYPE: 'postsubmit', PULL_BASE_SHA: second, PULL_BASE_REF: 'main', REPO_OWNER: 'acme', REPO_NAME: 'app' };
    expect(await values([], env)).toEqual([`v${DATE(2)}-${second.slice(0, 8)}`]);
    expect(await values(['--tag', '{{ .Branch }}-{{ .ShortSHA }}'], env)).toEqual([`main-${second.slice(0, 8)}`]);
  });

  test('Prow postsubmit for a tag: --semver expands the pushed tag', async () => {
    const env = { JOB_TYPE: 'postsubmit', PULL_BASE_SHA: head, PULL_BASE_REF: 'v1.2.0' };
    expect(await values(['--semver'], env)).toEqual(['v1.2.0', 'v1.2', 'v1', 'latest']);
  });

  test('Prow periodic: git says the rest', async () => {
    expect(await values([], { JOB_TYPE: 'periodic', REPO_OWNER: 'acme', REPO_NAME: 'app' })).toEqual([`v${DATE(3)}-${head.slice(0, 8)}`]);
  });

  test('GitHub Actions pull_request: pr-<number> from GITHUB_REF', async () => {
    const env = { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/42/merge', GITHUB_SHA: head, GITHUB_HEAD_REF: 'feature/login' };
    expect(await values([], env)).toEqual(['pr-42']);
    expect(await values(['--tag', 'branch={{ .Branch }}'], env)).toEqual(['feature-login']);
  });

  test('GitHub Actions push: GITHUB_SHA and its date', async () => {
    const env = { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: first };
    expect(await values([], env)).toEqual([`v${DATE(1)}-${first.slice(0, 8)}`]);
    expect(await values(['--tag', '{{ .CommitSHA }}'], env)).toEqual([first]);
  });

  test('GitHub Actions tag push: --semver, with latest only when highest', async () => {
    const env = { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/tags/v1.1.1', GITHUB_SHA: head };
    expect(await values(['--semver'], env)).toEqual(['v1.1.1', 'v1.1', 'v1', 'latest']);
    await repo.tag('v2.0.0', { at: first });
    try {
      expect(await values(['--semver'], env)).toEqual(['v1.1.1', 'v1.1', 'v1']);
    } finally {
      await repo.git('tag', '-d', 'v2.0.0');
    }
    expect(await values(['--semver'], { ...env, GITHUB_REF: 'refs/tags/v1.2.0-rc.1' })).toEqual(['v1.2.0-rc.1']);
  });

  test('a commit CI names that is not in the clone: HEAD dates it, with a warning', async () => {
    const r = await tags([], { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: 'f'.repeat(40) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`v${DATE(3)}-ffffffff\n`);
    expect(r.stderr).toMatch(/is not in this clone/);
  });
});

describe('specs, config and semver from git', () => {
  test('--semver on a commit after a tag: the git version is a pre-release, so only itself', async () => {
    expect(await values(['--semver'])).toEqual([`v1.1.0-1-${head.slice(0, 14)}`]);
  });

  test('--semver with --release-version', async () => {
    expect(await values(['--semver', '--release-version', 'v1.1.0'])).toEqual(['v1.1.0', 'v1.1', 'v1', 'latest']);
    expect(await values(['--semver', '--release-version', 'v1.0.1'])).toEqual(['v1.0.1', 'v1.0']);
  });

  test('{{ .Version }} is the status version with + made -', async () => {
    expect(await values(['--tag', '{{ .Version }}'])).toEqual([`v1.1.0-1-${head.slice(0, 14)}`]);
  });

  test('berth.yaml tags are the default; --tag replaces them', async () => {
    const dir = join(root, 'with-config');
    const r = await TestRepo.init(dir);
    const sha = await r.commit({ 'berth.yaml': 'tags:\n  - "{{ .ShortSHA }}"\n  - edge\n  - pr-{{ .PRNumber }}\n' });
    // A template with no value here is an error, as in berth release; --skip-empty-tags leaves it out.
    const strict = await tags([], {}, dir);
    expect(strict).toEqual({ code: 2, stdout: '', stderr: 'berth: berth.yaml tags "pr-{{ .PRNumber }}": no value here for .PRNumber (--skip-empty-tags leaves such tags out)\n' });
    const out = await tags(['--skip-empty-tags'], {}, dir);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`${sha.slice(0, 8)}\nedge\n`);
    expect(out.stderr).toBe('berth: skipped tag "pr-{{ .PRNumber }}": no value here for .PRNumber\n');
    const flag = await tags(['--tag', 'only'], {}, dir);
    expect(flag.stdout).toBe('only\n');
  });

  test('duplicates appear once', async () => {
    expect(await values(['--tag', 'a={{ .ShortSHA }}', '--tag', 'b={{ .ShortSHA }}', '--tag', 'latest', '--tag', 'latest'])).toEqual([head.slice(0, 8), 'latest']);
  });

  test('--labels: the OCI labels and annotations of a release image', async () => {
    const r = await tags(['--labels', '--json'], { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/tags/v1.1.0', GITHUB_SHA: second, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      'org.opencontainers.image.version': 'v1.1.0',
      'org.opencontainers.image.revision': second,
      'org.opencontainers.image.created': new Date(TestRepo.epochOf(2) * 1000).toISOString().replace('.000Z', 'Z'),
      'org.opencontainers.image.source': 'https://github.com/acme/app',
    });
    const plain = await tags(['--labels']);
    expect(plain.stdout.split('\n')).toContain('org.opencontainers.image.source=https://github.com/acme/app');
    expect(plain.stdout.split('\n')).toContain(`org.opencontainers.image.version=v1.1.0-1+${head.slice(0, 14)}`);
  });
});

describe('bad input: one line naming the field or value, exit 2', () => {
  test.each([
    [['--tag', 'v{{ .Nope }}'], /^berth: --tag "v\{\{ \.Nope \}\}": unknown template field \.Nope /],
    [['--tag', 'bad value'], /^berth: --tag "bad value": "bad value" is not a valid tag/],
    [['--tag', 'x={{ .Env "V" }}'], /^berth: tag "x=\{\{ \.Env "V" \}\}" gives "a\/b", which is not a valid tag/],
    [['--semver', '--release-version', 'seven'], /^berth: --semver: "seven" is not a semantic version/],
  ])('%j', async (args, message) => {
    const r = await tags(args, { V: 'a/b' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });

  test('a bad berth.yaml', async () => {
    const dir = join(root, 'bad-config');
    const r = await TestRepo.init(dir);
    await r.commit();
    await writeFile(join(dir, 'berth.yaml'), 'tags:\n  - ok\n  - "{{ .Bogus }}"\n');
    const out = await tags([], {}, dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^berth: berth\.yaml:3: tags\[1\]: unknown template field \.Bogus/);
  });
});

test('outside git: from the environment only', async () => {
  const dir = join(root, 'nogit');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  const r = await tags(['--tag', '{{ .Version }}', '--tag', 'pr-{{ .PRNumber }}'], { APP_VERSION: 'v3.0.0', JOB_TYPE: 'presubmit', PULL_NUMBER: '9', PULL_PULL_SHA: 'a'.repeat(40) }, dir);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('v3.0.0\npr-9\n');
});
