import { describe, expect, test } from '@jest/globals';
import { ciContext, sourceFromRemote } from '../../src/status/ci.js';
import { pickEnv } from '../../src/status/env.js';
import { remoteFromGitConfig } from '../../src/status/git-facts.js';

const ctx = (env: Record<string, string>) => ciContext(pickEnv(env));

describe('the CI context', () => {
  test('no CI', () => {
    expect(ctx({})).toEqual({ system: 'none', event: 'other' });
  });

  test('Prow presubmit: the pull request and its head commit', () => {
    expect(
      ctx({ JOB_TYPE: 'presubmit', PULL_NUMBER: '1234', PULL_BASE_SHA: 'b'.repeat(40), PULL_PULL_SHA: 'a'.repeat(40), PULL_HEAD_REF: 'fix-things', REPO_OWNER: 'kubernetes', REPO_NAME: 'kubernetes' }),
    ).toEqual({ system: 'prow', event: 'pull_request', prNumber: '1234', commit: 'a'.repeat(40), branch: 'fix-things', source: 'https://github.com/kubernetes/kubernetes' });
  });

  test('Prow postsubmit: a push to the base branch', () => {
    expect(ctx({ JOB_TYPE: 'postsubmit', PULL_BASE_SHA: 'b'.repeat(40), PULL_BASE_REF: 'main', REPO_OWNER: 'o', REPO_NAME: 'r' })).toEqual({
      system: 'prow',
      event: 'push',
      commit: 'b'.repeat(40),
      branch: 'main',
      source: 'https://github.com/o/r',
    });
  });

  test('Prow postsubmit for a release tag', () => {
    expect(ctx({ JOB_TYPE: 'postsubmit', PULL_BASE_SHA: 'c'.repeat(40), PULL_BASE_REF: 'v1.4.0' })).toEqual({ system: 'prow', event: 'tag', tag: 'v1.4.0', commit: 'c'.repeat(40) });
  });

  test('Prow periodic and batch jobs leave the rest to git', () => {
    expect(ctx({ JOB_TYPE: 'periodic', REPO_OWNER: 'o', REPO_NAME: 'r' })).toEqual({ system: 'prow', event: 'other', source: 'https://github.com/o/r' });
    expect(ctx({ JOB_TYPE: 'batch', PULL_BASE_SHA: 'b'.repeat(40) })).toEqual({ system: 'prow', event: 'other' });
  });

  test('GitHub Actions pull_request: the number from GITHUB_REF, the branch from GITHUB_HEAD_REF', () => {
    expect(
      ctx({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/42/merge', GITHUB_SHA: 'd'.repeat(40), GITHUB_HEAD_REF: 'feature/x', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/repo' }),
    ).toEqual({ system: 'github-actions', event: 'pull_request', prNumber: '42', commit: 'd'.repeat(40), branch: 'feature/x', source: 'https://github.com/octo/repo' });
    expect(ctx({ GITHUB_EVENT_NAME: 'pull_request_target', GITHUB_REF: 'refs/heads/main' }).event).toBe('pull_request');
  });

  test('GitHub Actions push to a branch, and a tag', () => {
    expect(ctx({ GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main', GITHUB_SHA: 'e'.repeat(40) })).toEqual({ system: 'github-actions', event: 'push', branch: 'main', commit: 'e'.repeat(40) });
    expect(ctx({ GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/tags/v2.0.0', GITHUB_SHA: 'e'.repeat(40) })).toEqual({ system: 'github-actions', event: 'tag', tag: 'v2.0.0', commit: 'e'.repeat(40) });
    expect(ctx({ GITHUB_EVENT_NAME: 'schedule', GITHUB_REF: 'refs/heads/main' })).toMatchObject({ event: 'other', branch: 'main' });
  });

  test('GitHub Enterprise: the server URL names the source', () => {
    expect(ctx({ GITHUB_EVENT_NAME: 'push', GITHUB_SERVER_URL: 'https://ghe.example.com/', GITHUB_REPOSITORY: 'team/app' }).source).toBe('https://ghe.example.com/team/app');
  });
});

describe('sourceFromRemote', () => {
  test.each([
    ['git@github.com:acme/widgets.git', 'https://github.com/acme/widgets'],
    ['github.com:acme/widgets', 'https://github.com/acme/widgets'],
    ['ssh://git@gitlab.example.com:2222/group/sub/app.git', 'https://gitlab.example.com/group/sub/app'],
    ['https://github.com/acme/widgets.git', 'https://github.com/acme/widgets'],
    ['https://user:token@github.com/acme/widgets.git/', 'https://github.com/acme/widgets'],
    ['http://git.internal:8080/app', 'http://git.internal:8080/app'],
    ['git://example.org/app.git', 'https://example.org/app'],
  ])('%s -> %s', (remote, want) => {
    expect(sourceFromRemote(remote)).toBe(want);
  });

  test.each([['/srv/git/app.git'], ['file:///srv/git/app.git'], ['../sibling'], ['']])('a local remote %s names nothing', (remote) => {
    expect(sourceFromRemote(remote)).toBeUndefined();
  });
});

describe('remoteFromGitConfig reads plain git config files, and asks git otherwise', () => {
  test('the url of origin', () => {
    const text = '[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://example.com/up.git\n[remote "origin"]\n\turl = git@github.com:acme/app.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch "main"]\n\tremote = origin\n';
    expect(remoteFromGitConfig(text)).toBe('git@github.com:acme/app.git');
  });
  test('no origin', () => {
    expect(remoteFromGitConfig('[core]\n\tbare = false\n')).toBeNull();
  });
  test.each([
    ['[include]\n\tpath = other\n'],
    ['[remote "origin"]\n\turl = "quoted"\n'],
    ['[remote.origin]\n\turl = x\n'],
    ['[remote "origin"] url = inline\n'],
  ])('unusual files ask git: %j', (text) => {
    expect(remoteFromGitConfig(text)).toBe('ask-git');
  });
  test('case and spacing as git allows', () => {
    expect(remoteFromGitConfig('[Remote "origin"]\n  URL=https://h/a/b\n')).toBe('https://h/a/b');
  });
});
