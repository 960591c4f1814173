/**
 * Runs git for the status and tags code. It uses node:child_process rather than execa on
 * purpose: this is the lean path Bazel runs before every build, and loading execa costs more
 * than all the git calls together (measured in docs/performance.md).
 */
type ChildProcessModule = typeof import('node:child_process');
let childProcess: Promise<ChildProcessModule> | undefined;

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
  return async (args) => {
    const { execFile } = await (childProcess ??= import('node:child_process'));
    return new Promise((resolve) => {
      execFile('git', args as string[], { cwd, env: childEnv, maxBuffer: 256 * 1024 * 1024, windowsHide: true }, (err, stdout) => {
        if (err === null) return resolve({ code: 0, stdout });
        const code = (err as { code?: unknown }).code;
        resolve({ code: typeof code === 'number' ? code : -1, stdout: typeof stdout === 'string' ? stdout : '' });
      });
    });
  };
}
