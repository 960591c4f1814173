/**
 * Reads what tags and labels are computed from: the CI context from the environment, and
 * git for whatever CI does not say (the commit and its date, the branch, the version, the
 * repository's release tags).
 */
import { ciContext, sourceFromRemote, type CIContext } from '../status/ci.js';
import { pickEnv } from '../status/env.js';
import { readGitFacts } from '../status/git-facts.js';
import { gitIn, type Git } from '../status/git.js';
import { ociLabels } from '../status/labels.js';
import { versionFromGit } from '../status/version-rules.js';

export interface TagContext {
  ci: CIContext;
  /** The release version: a pushed tag in CI, else git's (as `berth status` prints it). */
  version?: string;
  commit?: string;
  /** Time of `commit`, seconds since the epoch. */
  commitTime?: number;
  branch?: string;
  prNumber?: string;
  source?: string;
  /** The repository's `v*` tags, for semver expansion. */
  repoTags: string[];
  warnings: string[];
}

export interface TagContextOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Overrides the release version (`--release-version`). */
  version?: string;
  /** Read the repository's tags too (for --semver). */
  repoTags?: boolean;
  git?: Git;
}

export async function collectTagContext(opts: TagContextOptions): Promise<TagContext> {
  const env = pickEnv(opts.env);
  const ci = ciContext(env);
  const git = opts.git ?? gitIn(opts.cwd, opts.env as NodeJS.ProcessEnv);
  const [factsR, branchR, tagsR, shallowR] = await Promise.all([
    readGitFacts(git, {}, { remote: ci.source === undefined }),
    ci.branch === undefined ? git(['symbolic-ref', '-q', '--short', 'HEAD']) : undefined,
    opts.repoTags ? git(['tag', '--list', 'v*']) : undefined,
    opts.repoTags ? git(['rev-parse', '--is-shallow-repository']) : undefined,
  ]);
  const ctx: TagContext = { ci, repoTags: [], warnings: [] };
  const facts = 'facts' in factsR ? factsR.facts : undefined;
  if (facts === undefined) ctx.warnings.push(`${'absent' in factsR ? factsR.absent : 'no git'}: tags come from the environment only`);

  ctx.version = opts.version ?? (ci.event === 'tag' && ci.tag ? ci.tag : facts ? versionFromGit(facts) : env.APP_VERSION);
  ctx.commit = ci.commit ?? facts?.commit;
  if (ctx.commit !== undefined && facts !== undefined && ctx.commit !== facts.commit) {
    const log = await git(['log', '-1', '--format=%ct', `${ctx.commit}^{commit}`]);
    const t = Number.parseInt(log.stdout.trim(), 10);
    if (log.code === 0 && Number.isFinite(t)) ctx.commitTime = t;
    else ctx.warnings.push(`commit ${ctx.commit} from ${ci.system} is not in this clone; its date is taken from HEAD`);
  }
  ctx.commitTime ??= facts?.commitTime ?? (env.SOURCE_DATE_EPOCH && /^[0-9]+$/.test(env.SOURCE_DATE_EPOCH) ? Number(env.SOURCE_DATE_EPOCH) : undefined);
  ctx.branch = ci.branch ?? (branchR && branchR.code === 0 && branchR.stdout.trim() !== '' ? branchR.stdout.trim() : undefined);
  if (ci.prNumber !== undefined) ctx.prNumber = ci.prNumber;
  ctx.source = ci.source ?? (facts?.remote !== undefined ? sourceFromRemote(facts.remote) : undefined);
  if (tagsR && tagsR.code === 0) ctx.repoTags = tagsR.stdout.split('\n').filter((t) => t !== '');
  if (shallowR?.stdout.trim() === 'true') ctx.warnings.push('this clone is shallow: its tags may be incomplete, so "latest" may be wrong (fetch the tags)');
  return ctx;
}

/** The OCI labels and annotations a release image should carry in this context. */
export function contextLabels(ctx: TagContext): Record<string, string> {
  return ociLabels({
    ...(ctx.version !== undefined ? { version: ctx.version } : {}),
    ...(ctx.commit !== undefined ? { revision: ctx.commit } : {}),
    ...(ctx.commitTime !== undefined ? { created: ctx.commitTime } : {}),
    ...(ctx.source !== undefined ? { source: ctx.source } : {}),
  });
}
