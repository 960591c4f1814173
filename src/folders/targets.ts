/**
 * Where `berth images push` publishes and under which tags, as kyma's image-builder decides:
 * registries by CI job type from berth.yaml (`images.registries.presubmit` / `.postsubmit`,
 * or `.restricted` with --restricted), else `--registry`, else `images.registry`. Where
 * job-type registries are configured, the job's default tag (`pr-<N>` for a presubmit,
 * `v<date>-<sha>` otherwise) is always added to the user's tags. Pure.
 */
import { UsageError } from '../errors.js';
import type { TagContext } from '../tags/context.js';
import { DEFAULT_PR_TAG, DEFAULT_PUSH_TAG, templateValues } from '../tags/compute.js';
import { missingValues, parseTagSpec, renderTagSpec } from '../tags/spec.js';
import type { JobType } from './job-type.js';

export interface ImagesRegistryConfig {
  registry?: string;
  registries?: { presubmit?: string[]; postsubmit?: string[]; restricted?: { presubmit?: string[]; postsubmit?: string[] } };
}

export interface TargetsInput {
  config: ImagesRegistryConfig;
  /** --registry values. */
  flags: readonly string[];
  jobType?: JobType;
  restricted: boolean;
}

export interface Targets {
  registries: string[];
  /** Why these: shown with --dry-run and in errors. */
  reason: string;
  /** Whether the job's default tag is added (job-type registries are configured). */
  defaultTag: boolean;
}

export function chooseTargets(input: TargetsInput): Targets {
  const byJob = input.config.registries ?? {};
  const defaultTag = byJob.presubmit !== undefined || byJob.postsubmit !== undefined;
  if (input.restricted) {
    const r = byJob.restricted ?? {};
    if (!r.presubmit?.length && !r.postsubmit?.length) throw new UsageError('BAD_FLAG', '--restricted: berth.yaml names no images.registries.restricted');
    // A pull request never writes into the restricted production repository.
    const same = JSON.stringify(r.presubmit ?? []) === JSON.stringify(r.postsubmit ?? []);
    if (!input.jobType && !same) throw new UsageError('BAD_FLAG', '--restricted: not in CI (no JOB_TYPE or GITHUB_EVENT_NAME), so neither restricted list applies: give --job-type presubmit|postsubmit');
    const list = input.jobType ? r[input.jobType] : r.presubmit;
    if (!list?.length) throw new UsageError('BAD_FLAG', `--restricted: berth.yaml names no images.registries.restricted.${input.jobType}`);
    return { registries: [...list], reason: `images.registries.restricted${input.jobType && !same ? `.${input.jobType}` : ''} (--restricted)`, defaultTag };
  }
  if (input.flags.length) return { registries: [...new Set(input.flags)], reason: '--registry', defaultTag };
  if (input.jobType && byJob[input.jobType]?.length) return { registries: [...byJob[input.jobType]!], reason: `images.registries.${input.jobType} (a ${input.jobType} job)`, defaultTag };
  if (input.config.registry) return { registries: [input.config.registry], reason: 'images.registry', defaultTag };
  if (defaultTag && !input.jobType) {
    throw new UsageError('BAD_FLAG', 'not in CI (no JOB_TYPE or GITHUB_EVENT_NAME), so no job-type registry applies: give --registry or --job-type presubmit|postsubmit');
  }
  return { registries: [], reason: 'none', defaultTag };
}

/**
 * The tags besides the content-hash tag: the user's specs rendered (`{{ .ContentHash }}` is
 * the image's hash tag) and, when `defaultTag`, the job's default. A template with no value
 * here is an error naming it, as in `berth release`.
 */
export function renderImageTags(specs: readonly string[], ctx: TagContext, env: Readonly<Record<string, string | undefined>>, contentHashTag: string, defaultTag: boolean, jobType?: JobType): string[] {
  const values = { ...templateValues(ctx), ContentHash: contentHashTag };
  const all = [...specs.map((s) => ({ s, origin: '--tag' }))];
  if (defaultTag) all.push({ s: jobType === 'presubmit' || ctx.prNumber ? DEFAULT_PR_TAG : DEFAULT_PUSH_TAG, origin: 'the job\'s default tag' });
  return all.map(({ s, origin }) => {
    const spec = parseTagSpec(s, origin);
    const missing = missingValues(spec, values, env);
    if (missing.length) throw new UsageError('BAD_TEMPLATE', `${origin} "${s}": ${missing.join(', ')} has no value here`);
    return renderTagSpec(spec, values, env);
  });
}
