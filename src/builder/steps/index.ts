import { defaultCacheDir } from '../../registry/blob-cache.js';
import type { Reference } from '../../oci/reference.js';
import { Registries, type RegistryOptions } from '../../registry/pool.js';
import { DEFAULT_CACHE_LIMIT, pruneSteps, StepCache } from './step-cache.js';
import { parseSize } from '../../util/human-bytes.js';
import { buildahRunner, type BuildahRunner } from './container.js';
import { StepExecutor } from './executor.js';
import { registryStepCache } from './registry-cache.js';
import type { SecretSource } from './secrets.js';

/** What a build gives the step executor beyond the Dockerfile: the caller's choices. */
export interface StepOptions {
  /** berth's cache folder (default: the registry options', else $XDG_CACHE_HOME/berth). */
  cacheDir?: string;
  /** `--secret id=...`: by id. */
  secrets?: ReadonlyMap<string, SecretSource>;
  /** `--cache-from REF` (and images.cache-repo): registry repositories to read steps from. */
  cacheFrom?: readonly Reference[];
  /** `--cache-to REF` (and images.cache-repo): registry repositories to write new steps to. */
  cacheTo?: readonly Reference[];
  /** Runs RUN in a working container (default: buildah on PATH, berth's storage). */
  runner?: BuildahRunner;
  env?: NodeJS.ProcessEnv;
  /** Aborting ends a running RUN (its whole process tree) and fails the build. */
  signal?: AbortSignal;
}

export interface ExecutorInput extends StepOptions {
  epoch: number;
  level: number;
  contextDir: string;
  contextWhole: boolean;
  registry: RegistryOptions;
  log: (line: string) => void;
}

/** A step executor for one build; `close()` removes its working containers and ends its registry connections. */
export function stepExecutor(input: ExecutorInput): StepExecutor & { close(): Promise<void> } {
  const env = input.env ?? process.env;
  const cacheDir = input.cacheDir ?? defaultCacheDir(env);
  const remote = (input.cacheFrom?.length || input.cacheTo?.length) ? new Registries(input.registry) : undefined;
  const executor = new StepExecutor({
    cache: new StepCache(cacheDir),
    cacheDir,
    runner: input.runner ?? buildahRunner({ env, ...(input.signal ? { signal: input.signal } : {}) }),
    epoch: input.epoch,
    level: input.level,
    secrets: input.secrets ?? new Map(),
    env,
    contextDir: input.contextDir,
    contextWhole: input.contextWhole,
    ...(remote && input.cacheFrom?.length ? { cacheFrom: input.cacheFrom.map((r) => registryStepCache(remote, r)) } : {}),
    ...(remote && input.cacheTo?.length ? { cacheTo: input.cacheTo.map((r) => registryStepCache(remote, r)) } : {}),
    log: input.log,
  });
  const close = executor.close.bind(executor);
  executor.close = async () => {
    try {
      await close();
    } finally {
      remote?.close();
    }
  };
  return executor;
}

/** Prunes the step cache to $BERTH_CACHE_MAX_SIZE (else the default limit); a bad value is ignored here (`berth cache prune` names it). */
export async function pruneToLimit(cacheDir: string | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  const limit = (env.BERTH_CACHE_MAX_SIZE !== undefined ? parseSize(env.BERTH_CACHE_MAX_SIZE) : undefined) ?? DEFAULT_CACHE_LIMIT;
  await pruneSteps(cacheDir ?? defaultCacheDir(env), limit).catch(() => {});
}

export { StepCache, pruneSteps, DEFAULT_CACHE_LIMIT } from './step-cache.js';
export { parseSecretFlags, type SecretSource } from './secrets.js';
