/** Reads git, the environment and berth.yaml, and computes the workspace status. */
import { isAbsolute, join, relative } from 'node:path';
import { CONFIG_FILE, loadConfig } from '../config/read-config.js';
import { ciContext } from './ci.js';
import { pickEnv } from './env.js';
import { readGitFacts, type GitHints } from './git-facts.js';
import { gitIn, type Git } from './git.js';
import { computeStatus, type WorkspaceStatus } from './status.js';

export interface CollectStatusOptions {
  /** The workspace root (Bazel runs the status command there). */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** berth.yaml; defaults to `<cwd>/berth.yaml`. A missing file is fine. */
  configFile?: string;
  /** Facts the caller has already read from git. */
  hints?: GitHints;
  /** Where the parsed berth.yaml may be cached, and the build that may reuse it. */
  cacheDir?: string;
  buildId?: string;
  /** The git runner; by default git in `cwd`. */
  git?: Git;
}

export async function collectStatus(opts: CollectStatusOptions): Promise<WorkspaceStatus> {
  const env = pickEnv(opts.env);
  const git = opts.git ?? gitIn(opts.cwd, opts.env as NodeJS.ProcessEnv);
  const factsP = readGitFacts(git, opts.hints, { remote: ciContext(env).source === undefined });
  const configFile = opts.configFile ?? join(opts.cwd, CONFIG_FILE);
  const rel = relative(opts.cwd, configFile);
  const display = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : configFile;
  // Settle the git calls even when the config is broken, so no child outlives the error.
  const [config, facts] = await Promise.allSettled([
    loadConfig(configFile, { display, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}), ...(opts.buildId !== undefined ? { buildId: opts.buildId } : {}) }),
    factsP,
  ]);
  if (config.status === 'rejected') throw config.reason;
  if (facts.status === 'rejected') throw facts.reason;
  return computeStatus({ git: facts.value, env, config: config.value });
}
