import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { checkHostPort, CONFIG_FILE, loadConfig, type BerthConfig, MIRRORS_ENV, mirrorsFromEnv, parseMirror, type RegistryMirror } from '../config/index.js';
import { UsageError } from '../errors.js';
import { parseReference, type Reference } from '../oci/reference.js';
import { defaultCacheDir } from '../registry/blob-cache.js';
import { findCredential, type Credential } from '../registry/credentials.js';
import { DEFAULT_TIMEOUT_MS } from '../registry/http.js';
import { withRegistries, DEFAULT_JOBS, type Registries, type RegistryOptions } from '../registry/pool.js';
import { DEFAULT_RETRY } from '../registry/retry.js';
import type { GlobalArgs } from './command.js';
import type { CliIO } from './io.js';
import { progressRenderer } from './progress.js';

/** Flags of every command that talks to registries. */
export interface RegistryArgs {
  'insecure-registry'?: string[];
  'cache-dir'?: string;
  creds?: string;
  timeout?: number;
}

/** Flags of commands that move blobs (push, pull, copy). */
export interface TransferArgs extends RegistryArgs {
  jobs: number;
  retries: number;
  quiet: boolean;
}

/** The flags as data: yargs reads them, and so does the lean push entry (./lean-push.ts). */
export const REGISTRY_OPTIONS = {
  'insecure-registry': { type: 'string', array: true, describe: 'HOST[:PORT] to reach over plain HTTP (localhost, 127.0.0.0/8 and ::1 always are; NAME.localhost when it resolves to loopback)' },
  'cache-dir': { type: 'string', describe: "berth's cache: pulled bases, where blobs were seen (default $XDG_CACHE_HOME/berth or ~/.cache/berth)" },
  creds: { type: 'string', describe: 'USER[:PASSWORD] for the registry, in place of a stored login; better USER alone, with the password in $BERTH_CREDS_PASSWORD or on stdin: a command line is visible to every user of the machine (ps)' },
  timeout: { type: 'number', default: DEFAULT_TIMEOUT_MS / 1000, describe: 'seconds a registry request may move no byte before it fails (an idle timeout: a slow transfer that keeps moving never times out); retried once' },
} as const;

export const TRANSFER_OPTIONS = {
  ...REGISTRY_OPTIONS,
  jobs: { type: 'number', default: DEFAULT_JOBS, describe: 'blobs transferred at once' },
  retries: { type: 'number', default: DEFAULT_RETRY.retries, describe: `tries after the first for each failed request (connection errors, 5xx, 429), with backoff; an operation stops retrying after ${DEFAULT_RETRY.deadlineMs / 60_000} min without progress` },
  quiet: { type: 'boolean', default: false, describe: 'no progress: one summary line per image at the end' },
} as const;

export function registryFlags<T>(y: Argv<T>) {
  return y.options(REGISTRY_OPTIONS);
}

export function transferFlags<T>(y: Argv<T>) {
  return y.options(TRANSFER_OPTIONS);
}

/** A target or pull reference: `docker://` optional; a missing tag is `latest`. */
export function parseRegistryReference(text: string, what: string): Reference {
  return parseReference(text.startsWith('docker://') ? text.slice('docker://'.length) : text, { what });
}

/** Mirrors to read by digest from first: $BERTH_REGISTRY_MIRRORS, then `registry-mirrors` of ./berth.yaml. */
function registryMirrors(io: CliIO, config: BerthConfig): RegistryMirror[] {
  let fromEnv: RegistryMirror[];
  try {
    fromEnv = mirrorsFromEnv(io.env[MIRRORS_ENV]);
  } catch (err) {
    throw new UsageError('BAD_ENV', (err as Error).message);
  }
  return [...fromEnv, ...(config['registry-mirrors'] ?? []).map((m) => parseMirror(m) as RegistryMirror)];
}

/** `--insecure-registry` hosts, checked (before berth.yaml is read, so a bad flag is named first). */
function insecureFlags(args: RegistryArgs): string[] {
  const fromFlags = (args['insecure-registry'] ?? []).flatMap((h) => h.split(',')).filter((h) => h !== '');
  for (const h of fromFlags) {
    const why = checkHostPort(h);
    if (why) throw new UsageError('BAD_FLAG', `--insecure-registry: ${why}`);
  }
  return fromFlags;
}

/** Reads stdin whole, without its final newline (a password piped in). */
export async function readStdin(io: CliIO, what: string): Promise<string> {
  if (!io.stdin || (io.stdin as { isTTY?: boolean }).isTTY) throw new UsageError('BAD_FLAG', `${what}: pipe the password in on stdin (berth does not prompt for it)`);
  let text = '';
  for await (const chunk of io.stdin) text += chunk.toString();
  text = text.replace(/\r?\n$/, '');
  if (text === '') throw new UsageError('BAD_FLAG', `${what}: stdin gave an empty password`);
  return text;
}

/** The variable that may hold the password of `flag` (--creds: BERTH_CREDS_PASSWORD, --src-creds: BERTH_SRC_CREDS_PASSWORD). */
export function credsPasswordVariable(flag: string): string {
  return `BERTH_${flag.replace(/^--/, '').toUpperCase().replaceAll('-', '_')}_PASSWORD`;
}

/**
 * `--creds`-style USER[:PASSWORD], as skopeo takes it; without the password it comes from
 * BERTH_CREDS_PASSWORD (credsPasswordVariable), else stdin. A password on the command line is
 * shown to every user of the machine by ps, so it gets a warning. `flag` names it in errors
 * and as the credential's source, never the secret.
 */
export async function parseCreds(text: string, flag: string, io: CliIO): Promise<Credential> {
  const colon = text.indexOf(':');
  const username = colon < 0 ? text : text.slice(0, colon);
  if (username === '') throw new UsageError('BAD_FLAG', `${flag}: give USER[:PASSWORD]; the user is empty`);
  const variable = credsPasswordVariable(flag);
  if (colon >= 0) {
    io.stderr.write(`berth: warning: ${flag} USER:PASSWORD shows the password to every user of this machine (ps); give ${flag} USER with the password in ${variable} or on stdin\n`);
    return { username, password: text.slice(colon + 1), source: flag };
  }
  const fromEnv = io.env[variable];
  const password = fromEnv !== undefined && fromEnv !== '' ? fromEnv : await readStdin(io, `${flag} (or ${variable})`);
  return { username, password, source: flag };
}

/** RegistryOptions from the flags, ./berth.yaml and the environment. Debug lines never carry credentials. */
export async function registryOptions(args: RegistryArgs & Partial<TransferArgs> & GlobalArgs, io: CliIO, credsByHost?: Map<string, Credential>): Promise<RegistryOptions> {
  const fromFlags = insecureFlags(args);
  // ./berth.yaml is read once for both of its registry keys.
  const config = await loadConfig(join(io.cwd, CONFIG_FILE), { display: CONFIG_FILE });
  const insecure = [...new Set([...fromFlags, ...(config['insecure-registries'] ?? [])])];
  const creds = args.creds !== undefined ? await parseCreds(args.creds, '--creds', io) : undefined;
  const given = (host: string) => credsByHost?.get(host) ?? creds;
  if (args.jobs !== undefined && (!Number.isInteger(args.jobs) || args.jobs < 1 || args.jobs > 64)) throw new UsageError('BAD_FLAG', `--jobs: ${args.jobs} is not a whole number from 1 to 64`);
  if (args.retries !== undefined && (!Number.isInteger(args.retries) || args.retries < 0 || args.retries > 20)) throw new UsageError('BAD_FLAG', `--retries: ${args.retries} is not a whole number from 0 to 20`);
  if (args.timeout !== undefined && !(Number.isFinite(args.timeout) && args.timeout > 0 && args.timeout <= 3600)) throw new UsageError('BAD_FLAG', `--timeout: ${args.timeout} is not a number of seconds above 0 and up to 3600`);
  const mirrors = registryMirrors(io, config);
  return {
    env: io.env,
    insecure,
    ...(mirrors.length > 0 ? { mirrors } : {}),
    ...(creds || credsByHost?.size ? { credential: async (host: string) => given(host) ?? findCredential(host, io.env) } : {}),
    cacheDir: args['cache-dir'] !== undefined ? resolve(io.cwd, args['cache-dir']) : defaultCacheDir(io.env),
    ...(args.jobs !== undefined ? { jobs: args.jobs } : {}),
    ...(args.retries !== undefined ? { retry: { retries: args.retries } } : {}),
    ...(args.timeout !== undefined ? { timeoutMs: Math.round(args.timeout * 1000) } : {}),
    ...(args.debug ? { log: (line: string) => io.stderr.write(`berth: debug: ${line}\n`) } : {}),
  };
}

/** Runs `fn` with a registry pool and progress rendered on stderr, closing both after. */
export async function withTransfer<T>(args: TransferArgs & GlobalArgs, io: CliIO, verb: string, fn: (r: Registries) => Promise<T>, credsByHost?: Map<string, Credential>): Promise<T> {
  const options = await registryOptions(args, io, credsByHost);
  const tty = io.stderr.isTTY === true && !args.quiet && !args.json;
  const progress = progressRenderer(io.stderr, { tty, verb, quiet: args.quiet });
  let succeeded = false;
  try {
    const result = await withRegistries({ ...options, reporter: progress.reporter }, fn);
    succeeded = true;
    return result;
  } finally {
    progress.done(succeeded);
  }
}
