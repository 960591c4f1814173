/**
 * The CI job type that picks registries (kyma's image-builder): pull-request builds go to a
 * development registry, pushes to production. From Prow's JOB_TYPE or GitHub Actions' event.
 */
import { UsageError } from '../errors.js';

export type JobType = 'presubmit' | 'postsubmit';

const GITHUB_EVENTS: Record<string, JobType> = {
  pull_request: 'presubmit',
  pull_request_target: 'presubmit',
  merge_group: 'presubmit',
  push: 'postsubmit',
  schedule: 'postsubmit',
  workflow_dispatch: 'postsubmit',
};

/** The job type: `override` (--job-type) first, then Prow, then GitHub Actions; undefined outside CI. */
export function jobType(env: Record<string, string | undefined>, override?: string): JobType | undefined {
  if (override !== undefined) {
    if (override === 'presubmit' || override === 'postsubmit') return override;
    throw new UsageError('BAD_FLAG', `--job-type: "${override}" is not a job type (presubmit or postsubmit)`);
  }
  if (env.JOB_TYPE === 'presubmit' || env.JOB_TYPE === 'postsubmit') return env.JOB_TYPE;
  if (env.JOB_TYPE === 'batch') return 'presubmit';
  if (env.JOB_TYPE === 'periodic') return 'postsubmit';
  const event = env.GITHUB_EVENT_NAME;
  return event !== undefined && Object.hasOwn(GITHUB_EVENTS, event) ? GITHUB_EVENTS[event] : undefined;
}
