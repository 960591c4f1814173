import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';
import { runCapture } from '../util/children.js';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { OperationalError, UsageError } from '../errors.js';
import { DOCKER_HUB, isDockerHub } from '../oci/reference.js';

/**
 * A login for one registry. `source` says where it came from ("~/.docker/config.json",
 * "docker-credential-pass") for messages; it never holds the secret itself.
 */
export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user). */
  identityToken?: string;
  source: string;
}

/** Docker Hub's historical v1 URL: the key `docker login` files it under, and the server name helpers are asked for. */
const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** The host an `auths` key or helper ServerURL names: scheme, path and case dropped, Hub's aliases made one. */
export function normaliseHost(key: string): string {
  const host = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0]!.toLowerCase();
  return isDockerHub(host) ? DOCKER_HUB : host;
}

interface AuthConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The files consulted, in order: podman's REGISTRY_AUTH_FILE, then Docker's config.json. */
export function authFiles(env: NodeJS.ProcessEnv): { path: string; display: string }[] {
  const out: { path: string; display: string }[] = [];
  if (env.REGISTRY_AUTH_FILE) out.push({ path: env.REGISTRY_AUTH_FILE, display: '$REGISTRY_AUTH_FILE' });
  if (env.DOCKER_CONFIG) out.push({ path: join(env.DOCKER_CONFIG, 'config.json'), display: '$DOCKER_CONFIG/config.json' });
  else out.push({ path: join(env.HOME || homedir(), '.docker', 'config.json'), display: '~/.docker/config.json' });
  return out;
}

async function readAuthFile(path: string, display: string): Promise<AuthConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OperationalError('UNREADABLE', `${display}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
    return doc as AuthConfigFile;
  } catch {
    // The text may hold secrets: say only that it is broken.
    throw new UsageError('UNREADABLE', `${display}: is not valid JSON; fix or remove it`);
  }
}

/**
 * The credential for `host` (as written in references: `quay.io`, `127.0.0.1:5000`), matched
 * exactly after normalising, never loosely: a loose match would send a password to the
 * wrong host. Per file: `credHelpers[host]`, then `credsStore`, then `auths[host]` (Docker's
 * order, except that Docker stops at a store that has nothing for the host).
 */
export async function findCredential(host: string, env: NodeJS.ProcessEnv): Promise<Credential | undefined> {
  const want = normaliseHost(host);
  for (const { path, display } of authFiles(env)) {
    const file = await readAuthFile(path, display);
    if (!file) continue;
    const helper = Object.entries(file.credHelpers ?? {}).find(([k]) => normaliseHost(k) === want)?.[1];
    if (helper) {
      const c = await fromHelper(helper, want, env);
      if (c) return c;
    }
    // Docker asks the credsStore before the file's own auths (with a store, `docker login`
    // leaves auths entries empty); where the store has nothing, the file's entry still serves.
    if (file.credsStore) {
      const c = await fromHelper(file.credsStore, want, env);
      if (c) return c;
    }
    const entry = Object.entries(file.auths ?? {}).find(([k]) => normaliseHost(k) === want)?.[1];
    if (entry) {
      const c = fromAuthEntry(entry, display);
      if (c) return c;
    }
  }
  return undefined;
}

function fromAuthEntry(entry: NonNullable<AuthConfigFile['auths']>[string], display: string): Credential | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken, source: display };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new UsageError('UNREADABLE', `${display}: an "auth" entry is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: display };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password, source: display };
  return undefined;
}

/** The server name helpers are asked for: Docker Hub's historical URL, else the host. */
function helperServer(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : host;
}

/** Asks `docker-credential-NAME get`; "not found" (any failure) is no credential, said without its output. */
async function fromHelper(name: string, host: string, env: NodeJS.ProcessEnv): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError('UNREADABLE', `credential helper name "${name}" is not a plain name`);
  const program = `docker-credential-${name}`;
  // execa (in runCapture) is loaded only when a helper is configured: most pushes never need it.
  const r = await runCapture({ cmd: program, args: ['get'], input: helperServer(host), env, extendEnv: false, timeoutMs: 30_000 });
  if (!r.ok) {
    if (r.notFound) throw new OperationalError('UNREADABLE', `credential helper ${program} is configured for ${host} but is not on PATH`);
    return undefined;
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(String(r.stdout)) as typeof doc;
  } catch {
    throw new OperationalError('UNREADABLE', `credential helper ${program} gave an answer that is not JSON`);
  }
  if (typeof doc.Secret !== 'string' || doc.Secret === '') return undefined;
  const source = program;
  if (doc.Username === '<token>') return { identityToken: doc.Secret, source };
  return { username: typeof doc.Username === 'string' ? doc.Username : '', password: doc.Secret, source };
}

/** Docker's config file, as `docker login` writes it: $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
export function dockerConfigFile(env: NodeJS.ProcessEnv): { path: string; display: string } {
  return authFiles({ ...env, REGISTRY_AUTH_FILE: undefined }).at(-1)!;
}

/** The helper that keeps `host`'s secret, when the config names one (credHelpers, else credsStore). */
function helperFor(file: AuthConfigFile, host: string): string | undefined {
  return Object.entries(file.credHelpers ?? {}).find(([k]) => normaliseHost(k) === host)?.[1] ?? file.credsStore;
}

/** The key `docker login` files a host under in `auths`. */
function authsKey(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : host;
}

async function runHelper(name: string, verb: 'store' | 'erase', input: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError('UNREADABLE', `credential helper name "${name}" is not a plain name`);
  const program = `docker-credential-${name}`;
  const r = await runCapture({ cmd: program, args: [verb], input, env, extendEnv: false, timeoutMs: 30_000 });
  // Its output is not shown: a helper may echo what it was given.
  if (!r.ok) throw new OperationalError('UNREADABLE', r.notFound ? `credential helper ${program} is named in the config but is not on PATH` : `credential helper ${program} ${verb} failed (exit ${r.exitCode ?? '?'})`);
}

/**
 * Rewrites the config file with `change` applied, keeping every other key; written to a
 * temporary file, then renamed, mode 0600. A symlinked config.json (dotfiles kept in a
 * repository) is written through: the file it points to is replaced, the symlink kept.
 */
async function updateConfig(env: NodeJS.ProcessEnv, change: (file: AuthConfigFile) => boolean): Promise<boolean> {
  const { path, display } = dockerConfigFile(env);
  const file = (await readAuthFile(path, display)) ?? {};
  if (!change(file)) return false;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(file, null, '\t')}\n`, { mode: 0o600 });
  return true;
}

/**
 * Stores a login as `docker login` does: with the credential helper the config names for the
 * host (or its credsStore), else base64 in `auths` of Docker's config.json. Returns where.
 */
export async function storeCredential(host: string, username: string, password: string, env: NodeJS.ProcessEnv): Promise<string> {
  const want = normaliseHost(host);
  const { path, display } = dockerConfigFile(env);
  const helper = helperFor((await readAuthFile(path, display)) ?? {}, want);
  if (helper) {
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: authsKey(want), Username: username, Secret: password }), env);
    return `docker-credential-${helper}`;
  }
  await updateConfig(env, (file) => {
    file.auths ??= {};
    for (const k of Object.keys(file.auths)) if (normaliseHost(k) === want) delete file.auths[k];
    file.auths[authsKey(want)] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
    return true;
  });
  return display;
}

/** Forgets a login as `docker logout` does. Returns where it was, or undefined when there was none in the file. */
export async function eraseCredential(host: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const want = normaliseHost(host);
  const { path, display } = dockerConfigFile(env);
  const file = (await readAuthFile(path, display)) ?? {};
  const helper = helperFor(file, want);
  if (helper) await runHelper(helper, 'erase', authsKey(want), env);
  const removed = await updateConfig(env, (f) => {
    const keys = Object.keys(f.auths ?? {}).filter((k) => normaliseHost(k) === want);
    for (const k of keys) delete f.auths![k];
    return keys.length > 0;
  });
  return helper ? `docker-credential-${helper}` : removed ? display : undefined;
}
