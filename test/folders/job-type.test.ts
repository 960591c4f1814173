/**
 * The job type a CI run is, as Prow and GitHub Actions say it, and where that sends a push.
 * Prow's JOB_TYPE is one of presubmit, postsubmit, periodic, batch: a `batch` job tests
 * several pull requests merged together (unmerged code, like a presubmit), so it must never
 * reach the production (postsubmit) registries; a `periodic` job builds a branch head.
 */
import { describe, expect, test } from '@jest/globals';
import { jobType } from '../../src/folders/job-type.js';
import { chooseTargets } from '../../src/folders/targets.js';

describe("Prow's JOB_TYPE", () => {
  test.each([
    ['presubmit', 'presubmit'],
    ['postsubmit', 'postsubmit'],
    ['batch', 'presubmit'],
    ['periodic', 'postsubmit'],
  ])('JOB_TYPE=%s is a %s job', (value, want) => {
    expect(jobType({ JOB_TYPE: value })).toBe(want);
  });

  test('JOB_TYPE wins over a GitHub event when both are set; an unknown JOB_TYPE leaves the GitHub event to decide', () => {
    expect(jobType({ JOB_TYPE: 'batch', GITHUB_EVENT_NAME: 'push' })).toBe('presubmit');
    expect(jobType({ JOB_TYPE: 'periodic', GITHUB_EVENT_NAME: 'pull_request' })).toBe('postsubmit');
    expect(jobType({ JOB_TYPE: 'nightly', GITHUB_EVENT_NAME: 'pull_request' })).toBe('presubmit');
    expect(jobType({ JOB_TYPE: 'nightly' })).toBeUndefined();
  });

  test('--job-type overrides a batch job', () => {
    expect(jobType({ JOB_TYPE: 'batch' }, 'postsubmit')).toBe('postsubmit');
  });

  test('--job-type presubmit is taken as given, outside CI too; another word is a usage error (exit 2)', () => {
    expect(jobType({}, 'presubmit')).toBe('presubmit');
    expect(jobType({ JOB_TYPE: 'periodic' }, 'presubmit')).toBe('presubmit');
    let err: { code?: string; exitCode?: number; message?: string } = {};
    try {
      jobType({ JOB_TYPE: 'presubmit' }, 'batch');
    } catch (e) {
      err = e as typeof err;
    }
    expect([err.code, err.exitCode, err.message]).toEqual(['BAD_FLAG', 2, '--job-type: "batch" is not a job type (presubmit or postsubmit)']);
  });

  test('a GitHub event that is no job type (even one named like an object property) is no job type', () => {
    for (const event of ['release', 'constructor', 'toString', '__proto__']) expect(jobType({ GITHUB_EVENT_NAME: event })).toBeUndefined();
  });
});

describe("where a Prow batch job pushes (kyma's registries by job type)", () => {
  const config = { registries: { presubmit: ['dev.example/img'], postsubmit: ['prod.example/img'], restricted: { presubmit: ['secret.example/img-dev'], postsubmit: ['secret.example/img'] } } };
  const targets = (env: Record<string, string>, restricted = false) => {
    const jt = jobType(env);
    return chooseTargets({ config, flags: [], restricted, ...(jt ? { jobType: jt } : {}) }).registries;
  };
  test('a batch job goes to the development registry, never production, restricted or not', () => {
    expect(targets({ JOB_TYPE: 'batch' })).toEqual(['dev.example/img']);
    expect(targets({ JOB_TYPE: 'batch' }, true)).toEqual(['secret.example/img-dev']);
  });
  test('a periodic job goes to production', () => {
    expect(targets({ JOB_TYPE: 'periodic' })).toEqual(['prod.example/img']);
  });
});
