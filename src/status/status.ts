/**
 * The workspace status as a pure function of what git, the environment and berth.yaml say,
 * and its `KEY value` form for Bazel (keys starting STABLE_ go to stable-status.txt).
 */
import { UsageError } from '../errors.js';
import { isValidTag } from '../oci/reference.js';
import type { BerthConfig } from '../config/sections.js';
import { ciContext, sourceFromRemote } from './ci.js';
import type { StatusEnv } from './env.js';
import type { GitFactsResult } from './git-facts.js';
import { checkRegistry, DEFAULT_REGISTRY } from './default-registry.js';
import { isScriptSemver, majorMinor, tagFromVersion, versionFromGit } from './version-rules.js';

/** The version printed when neither git nor $APP_VERSION gives one. */
export const UNKNOWN_VERSION = 'v0.0.0-unknown';

export interface WorkspaceStatus {
  registry: string;
  pushRegistry: string;
  dockerTag: string;
  /** STABLE_RELEASE_VERSION and STABLE_BUILD_SCM_REVISION. */
  version: string;
  /** The full commit hash, or `unknown` outside git. */
  commit: string;
  scmStatus: 'clean' | 'dirty' | 'unknown';
  major: string;
  minor: string;
  lastCommitYear: string;
  /** Commit time (seconds since the epoch); outside git, $SOURCE_DATE_EPOCH when set. */
  commitTime?: number;
  /** The repository's web address, from CI or the origin remote. */
  source?: string;
  /** Things a person should know (no git, not semver); the CLI prints them to stderr. */
  warnings: string[];
}

export interface StatusInput {
  git: GitFactsResult;
  env: StatusEnv;
  config: BerthConfig;
  /** The clock, for the year outside git when $SOURCE_DATE_EPOCH is not set. */
  now?: () => Date;
}

export function computeStatus(input: StatusInput): WorkspaceStatus {
  const { env, config } = input;
  const warnings: string[] = [...(config.deprecations ?? [])];
  const registry = envRegistry(env, 'DOCKER_REGISTRY') ?? config.registry ?? DEFAULT_REGISTRY;
  const pushRegistry = envRegistry(env, 'DOCKER_PUSH_REGISTRY') ?? config['push-registry'] ?? registry;
  const epoch = sourceDateEpoch(env);

  let version: string;
  let commit = 'unknown';
  let scmStatus: WorkspaceStatus['scmStatus'] = 'unknown';
  let commitTime: number | undefined = epoch;
  let remote: string | undefined;
  if ('facts' in input.git) {
    const f = input.git.facts;
    commit = f.commit;
    scmStatus = f.dirty ? 'dirty' : 'clean';
    commitTime = f.commitTime;
    remote = f.remote;
    version = versionFromGit(f);
    if (f.describe === undefined) {
      warnings.push(`no v* tag is behind HEAD${f.shallow ? ' in this shallow clone (fetch the tags and enough history)' : ''}; the version is ${version}`);
    }
    if (!isScriptSemver(version)) warnings.push(`the version "${version}" from git describe is not semantic (tags should look like v1.2.3)`);
  } else {
    version = env.APP_VERSION ?? UNKNOWN_VERSION;
    warnings.push(`${input.git.absent}: printing the status from the environment and defaults`);
  }

  let dockerTag: string;
  if (env.DOCKER_TAG !== undefined) dockerTag = envTag(env.DOCKER_TAG, 'DOCKER_TAG');
  else if (env.APP_VERSION !== undefined) dockerTag = envTag(env.APP_VERSION, 'APP_VERSION');
  else dockerTag = tagFromVersion(version);

  const year = commitTime !== undefined ? new Date(commitTime * 1000) : (input.now ?? (() => new Date()))();
  const source = ciContext(env).source ?? (remote !== undefined ? sourceFromRemote(remote) : undefined);
  return {
    registry,
    pushRegistry,
    dockerTag,
    version,
    commit,
    scmStatus,
    ...majorMinor(version),
    lastCommitYear: String(year.getUTCFullYear()),
    ...(commitTime !== undefined ? { commitTime } : {}),
    ...(source !== undefined ? { source } : {}),
    warnings,
  };
}

function envRegistry(env: StatusEnv, name: 'DOCKER_REGISTRY' | 'DOCKER_PUSH_REGISTRY'): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const why = checkRegistry(v);
  if (why !== undefined) throw new UsageError('BAD_ENV', `$${name}: ${why}`);
  return v;
}

function envTag(value: string, name: string): string {
  if (!isValidTag(value)) throw new UsageError('BAD_ENV', `$${name}: "${value}" is not a valid image tag (want [A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  return value;
}

function sourceDateEpoch(env: StatusEnv): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,12}$/.test(v)) throw new UsageError('BAD_ENV', `$SOURCE_DATE_EPOCH: "${v}" is not a number of seconds since 1970`);
  return Number.parseInt(v, 10);
}

/** The keys Bazel reads, in the order they are printed. Values never hold a newline. */
export function statusEntries(s: WorkspaceStatus, opts: { buildDate?: string } = {}): Array<[string, string]> {
  const e: Array<[string, string]> = [
    ['STABLE_DOCKER_REGISTRY', s.registry],
    ['STABLE_DOCKER_PUSH_REGISTRY', s.pushRegistry],
    ['STABLE_DOCKER_TAG', s.dockerTag],
    ['STABLE_RELEASE_VERSION', s.version],
    ['STABLE_BUILD_GIT_COMMIT', s.commit],
    ['STABLE_BUILD_SCM_STATUS', s.scmStatus],
    ['STABLE_BUILD_SCM_REVISION', s.version],
    ['STABLE_BUILD_MAJOR_VERSION', s.major],
    ['STABLE_BUILD_MINOR_VERSION', s.minor],
    ['STABLE_LAST_COMMIT_YEAR', s.lastCommitYear],
  ];
  if (s.commitTime !== undefined) e.push(['STABLE_BUILD_SCM_TIMESTAMP', String(s.commitTime)]);
  if (s.source !== undefined) e.push(['STABLE_BUILD_SCM_SOURCE', s.source]);
  // Volatile keys, as Kubernetes' print-workspace-status.sh names them.
  e.push(['gitCommit', s.commit], ['gitTreeState', s.scmStatus], ['gitVersion', s.version], ['gitMajor', s.major], ['gitMinor', s.minor]);
  if (opts.buildDate !== undefined) e.push(['buildDate', opts.buildDate]);
  return e.map(([k, v]) => [k, v.replace(/[\r\n]+/g, ' ')]);
}

/** `KEY value` lines, as Bazel's workspace status command prints them. */
export function formatStatus(s: WorkspaceStatus, opts: { buildDate?: string } = {}): string {
  return statusEntries(s, opts)
    .map(([k, v]) => `${k} ${v}\n`)
    .join('');
}

/** Kubernetes' buildDate: $SOURCE_DATE_EPOCH or now, as `YYYY-MM-DDTHH:MM:SSZ`. */
export function buildDate(env: StatusEnv, now: () => Date = () => new Date()): string {
  const epoch = sourceDateEpoch(env);
  const d = epoch !== undefined ? new Date(epoch * 1000) : now();
  return d.toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}
