import type { Argv } from 'yargs';
import { parseSecretFlags, type StepOptions } from '../builder/steps/index.js';
import { UsageError } from '../errors.js';
import type { Reference } from '../oci/reference.js';
import type { CliIO } from './io.js';
import { parseRegistryReference } from './registry-flags.js';

/** Flags of the commands that run Dockerfiles' RUN steps (`build --dockerfile`, `images`). */
export interface StepArgs {
  secret?: string[];
  'cache-to'?: string[];
  'cache-from'?: string[];
}

export const STEP_OPTIONS = {
  secret: { type: 'string', array: true, describe: 'id=NAME,src=FILE or id=NAME,env=VAR: a secret a RUN mounts with type=secret (never in a layer, the history, a log or the cache key)' },
  'cache-to': { type: 'string', array: true, describe: 'REF (or type=registry,ref=REF): push the RUN steps built here to this repository, for --cache-from elsewhere' },
  'cache-from': { type: 'string', array: true, describe: 'REF (or type=registry,ref=REF): reuse RUN steps found in this repository' },
} as const;

export function stepFlags<T>(y: Argv<T>) {
  return y.options(STEP_OPTIONS);
}

/** `REF` or BuildKit's `type=registry,ref=REF[,mode=max]`. */
export function parseCacheRef(text: string, flag: string): Reference {
  if (!text.includes('=')) return parseRegistryReference(text, flag);
  const fields = new Map(text.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
  const type = fields.get('type') ?? 'registry';
  if (type !== 'registry') throw new UsageError('BAD_FLAG', `${flag} ${text}: type=${type}: berth keeps a cache in a registry (type=registry,ref=REF); its local step cache is in the cache folder already`);
  const ref = fields.get('ref');
  if (!ref) throw new UsageError('BAD_FLAG', `${flag} ${text}: needs ref=REPOSITORY`);
  return parseRegistryReference(ref, flag);
}

/** The step options of the flags; `cacheRepo` (berth.yaml's images.cache-repo) is both read and written. */
export function stepOptions(args: StepArgs, io: CliIO, cacheDir: string | undefined, cacheRepo?: string): StepOptions {
  const from = (args['cache-from'] ?? []).map((t) => parseCacheRef(t, '--cache-from'));
  const to = (args['cache-to'] ?? []).map((t) => parseCacheRef(t, '--cache-to'));
  if (cacheRepo) {
    const ref = parseRegistryReference(cacheRepo, 'images.cache-repo in berth.yaml');
    from.push(ref);
    to.push(ref);
  }
  return {
    ...(cacheDir ? { cacheDir } : {}),
    secrets: parseSecretFlags(args.secret ?? [], io.cwd),
    ...(from.length ? { cacheFrom: from } : {}),
    ...(to.length ? { cacheTo: to } : {}),
    env: io.env,
  };
}
