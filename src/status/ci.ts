/**
 * The CI context from the environment: Prow (JOB_TYPE, PULL_NUMBER, PULL_BASE_SHA,
 * PULL_PULL_SHA, PULL_BASE_REF, PULL_HEAD_REF, REPO_OWNER, REPO_NAME) or GitHub Actions
 * (GITHUB_EVENT_NAME, GITHUB_REF, GITHUB_SHA, GITHUB_HEAD_REF, GITHUB_SERVER_URL,
 * GITHUB_REPOSITORY). Pure; git fills in what is left when neither is set.
 */
import type { StatusEnv } from './env.js';

export type CISystem = 'prow' | 'github-actions' | 'none';
export type CIEvent = 'pull_request' | 'push' | 'tag' | 'other';

export interface CIContext {
  system: CISystem;
  /** What triggered the build; `other` for periodic, batch and scheduled jobs or no CI. */
  event: CIEvent;
  prNumber?: string;
  /** The commit CI says it is building. */
  commit?: string;
  /** The branch: the pull request's head branch, or the pushed branch. */
  branch?: string;
  /** The tag pushed, for a tag event. */
  tag?: string;
  /** The repository's web address. */
  source?: string;
}

const RELEASE_TAG_RE = /^v[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function ciContext(env: StatusEnv): CIContext {
  if (env.JOB_TYPE !== undefined) return prowContext(env);
  if (env.GITHUB_ACTIONS === 'true' || env.GITHUB_EVENT_NAME !== undefined) return githubContext(env);
  return { system: 'none', event: 'other' };
}

function prowContext(env: StatusEnv): CIContext {
  const ctx: CIContext = { system: 'prow', event: 'other' };
  if (env.REPO_OWNER && env.REPO_NAME) ctx.source = `https://github.com/${env.REPO_OWNER}/${env.REPO_NAME}`;
  switch (env.JOB_TYPE) {
    case 'presubmit':
      ctx.event = 'pull_request';
      if (env.PULL_NUMBER) ctx.prNumber = env.PULL_NUMBER;
      if (env.PULL_PULL_SHA) ctx.commit = env.PULL_PULL_SHA;
      if (env.PULL_HEAD_REF) ctx.branch = env.PULL_HEAD_REF;
      break;
    case 'postsubmit':
      if (env.PULL_BASE_SHA) ctx.commit = env.PULL_BASE_SHA;
      // Prow runs postsubmits for pushed tags too, with the tag as the base ref.
      if (env.PULL_BASE_REF && RELEASE_TAG_RE.test(env.PULL_BASE_REF)) {
        ctx.event = 'tag';
        ctx.tag = env.PULL_BASE_REF;
      } else {
        ctx.event = 'push';
        if (env.PULL_BASE_REF) ctx.branch = env.PULL_BASE_REF;
      }
      break;
    default:
      // periodic and batch jobs: no single pull request or push; git says the rest
      break;
  }
  return ctx;
}

function githubContext(env: StatusEnv): CIContext {
  const ctx: CIContext = { system: 'github-actions', event: 'other' };
  if (env.GITHUB_REPOSITORY) ctx.source = `${(env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '')}/${env.GITHUB_REPOSITORY}`;
  if (env.GITHUB_SHA) ctx.commit = env.GITHUB_SHA;
  const ref = env.GITHUB_REF ?? '';
  const event = env.GITHUB_EVENT_NAME ?? '';
  const pr = /^refs\/pull\/([0-9]+)\/(?:merge|head)$/.exec(ref);
  if (event === 'pull_request' || event === 'pull_request_target' || pr) {
    ctx.event = 'pull_request';
    if (pr) ctx.prNumber = pr[1]!;
    if (env.GITHUB_HEAD_REF) ctx.branch = env.GITHUB_HEAD_REF;
    return ctx;
  }
  if (ref.startsWith('refs/tags/')) {
    ctx.event = 'tag';
    ctx.tag = ref.slice('refs/tags/'.length);
  } else if (ref.startsWith('refs/heads/')) {
    ctx.event = event === 'push' || event === '' ? 'push' : 'other';
    ctx.branch = ref.slice('refs/heads/'.length);
  }
  return ctx;
}

/**
 * A git remote as a web address for `org.opencontainers.image.source`: scp-style and ssh
 * remotes become https, credentials and a trailing `.git` are dropped. Local paths give
 * undefined (they name nothing another machine can open).
 */
export function sourceFromRemote(remote: string): string | undefined {
  let r = remote.trim();
  if (r === '') return undefined;
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(r);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(r)) {
    r = `https://${scp[1]}/${scp[2]}`;
  }
  let url: URL;
  try {
    url = new URL(r);
  } catch {
    return undefined;
  }
  if (!['http:', 'https:', 'ssh:', 'git:', 'git+ssh:', 'ssh+git:'].includes(url.protocol)) return undefined;
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (path === '' || path === '/') return undefined;
  const port = url.protocol === 'http:' || url.protocol === 'https:' ? (url.port ? `:${url.port}` : '') : '';
  const scheme = url.protocol === 'http:' ? 'http' : 'https';
  return `${scheme}://${url.hostname}${port}${path}`;
}
