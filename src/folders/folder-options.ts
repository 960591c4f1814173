/**
 * What `berth images` reads before it builds anything: the image folder and the images asked
 * for (berth.yaml's `images:` section with the command's flags), the commit Dockerfiles see as
 * BUILD_COMMIT_SHA, and the pull mirrors of `images.registries.pull`.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { BerthConfig } from '../config/sections.js';
import { gitIn } from '../status/git.js';
import type { FolderOptions } from './run.js';

export type ImagesConfig = NonNullable<BerthConfig['images']>;

/** What the command asked for: FolderOptions' own fields, with the folder as given (`dir` relative to `cwd`). */
export interface FolderAsk extends Pick<FolderOptions, 'names' | 'platforms' | 'defaultPlatforms' | 'variant' | 'buildArgs' | 'cacheDir' | 'commitSha'> {
  cwd: string;
  /** --dir, else images.dir, else `images`. */
  dir?: string;
}

/** The folder to read: `--dir` below the image folder (images/basic) keeps the names it has there (basic/busybox). */
export function folderOptions(config: ImagesConfig, ask: FolderAsk): FolderOptions {
  const root = resolve(ask.cwd, config.dir ?? 'images');
  const asked = resolve(ask.cwd, ask.dir ?? config.dir ?? 'images');
  const under = relative(root, asked);
  const below = under !== '' && under !== '..' && !under.startsWith(`..${sep}`) && !isAbsolute(under);
  return {
    dir: below ? root : asked,
    ...(below ? { under: under.split(sep).join('/') } : {}),
    names: ask.names,
    platforms: ask.platforms,
    ...(ask.defaultPlatforms ? { defaultPlatforms: ask.defaultPlatforms } : {}),
    ...(ask.variant !== undefined ? { variant: ask.variant } : {}),
    buildArgs: ask.buildArgs,
    cacheDir: ask.cacheDir,
    builds: (config.builds ?? []).map((b) => ({
      name: b.key,
      ...(b.value.dockerfile !== undefined ? { dockerfile: b.value.dockerfile } : {}),
      ...(b.value.context !== undefined ? { context: b.value.context } : {}),
      ...(b.value.platforms ? { platforms: b.value.platforms } : {}),
      ...(b.value['build-args'] ? { buildArgs: Object.fromEntries(b.value['build-args'].map((a) => [a.key, a.value])) } : {}),
      ...(b.value['build-arg-file'] !== undefined ? { buildArgFile: b.value['build-arg-file'] } : {}),
      ...(b.value.tags ? { tags: b.value.tags } : {}),
    })),
    repo: ask.cwd,
    ...(ask.commitSha !== undefined ? { commitSha: ask.commitSha } : {}),
  };
}

/** BUILD_COMMIT_SHA for Dockerfiles that declare it: the environment's (kyma's CI sets it), else Prow's or Actions', else git's HEAD. */
export function commitSha(cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromEnv = env.BUILD_COMMIT_SHA || env.PULL_PULL_SHA || env.PULL_BASE_SHA || env.GITHUB_SHA;
  if (fromEnv) return Promise.resolve(fromEnv);
  return gitIn(cwd, env)(['rev-parse', 'HEAD']).then((r) => (r.code === 0 ? r.stdout.trim() : undefined), () => undefined);
}

/** `images.registries.pull`: a repository under a pushed-to prefix is pulled from its mirror; undefined when none is set. */
export function pullMapper(pull: readonly { key: string; value: string }[] | undefined): ((repo: string) => string) | undefined {
  const pullOf = new Map((pull ?? []).map((e) => [e.key.replace(/\/+$/, ''), e.value.replace(/\/+$/, '')]));
  if (pullOf.size === 0) return undefined;
  return (repo) => {
    for (const [from, to] of pullOf) if (repo.startsWith(`${from}/`)) return `${to}${repo.slice(from.length)}`;
    return repo;
  };
}
