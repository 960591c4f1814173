/**
 * Runs git for the status and tags code, through util/children.ts's captureLean (on
 * node:child_process rather than execa on purpose: this is the lean path Bazel runs before
 * every build, and loading execa costs more than all the git calls together, measured in
 * docs/performance.md).
 */
import { captureLean } from '../util/children.js';

export interface GitResult {
  /** 0 on success; -1 when git could not be started at all. */
  code: number;
  stdout: string;
}

export type Git = (args: readonly string[]) => Promise<GitResult>;

/**
 * A git runner for `cwd`. `GIT_OPTIONAL_LOCKS=0` keeps `git status` from taking the index
 * lock, so a status run never collides with the user's own git commands. node:child_process
 * is loaded on the first call: a status run that the script has given every git fact to
 * starts no process and does not pay for it.
 */
export function gitIn(cwd: string, env: NodeJS.ProcessEnv = process.env): Git {
  const childEnv = { ...env, GIT_OPTIONAL_LOCKS: '0' };
  return (args) => captureLean('git', args, { cwd, env: childEnv });
}
