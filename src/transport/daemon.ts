/**
 * Docker (its daemon answering, `DOCKER_HOST` honoured) and podman (installed; its storage as
 * containers-storage.conf says) as a place images go: the one module that asks whether one
 * is there and that loads images into it. Both receive an image tarball (`docker load` /
 * `podman load`), which both read. Used by `berth load --into docker|podman` and by the
 * Docker RUN engine (builder/engines/docker.ts), which loads its bases the same way.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeWorkFolder } from '../util/work-folders.js';
import { runCapture } from '../util/children.js';
import { OperationalError, UsageError } from '../errors.js';
import { writeArtifactLocally, type WritableContent } from './content.js';
import { tarballTransport } from './tarball.js';
import type { LocalTransport } from './transport.js';

/** The engines, in the order a load with no --into tries them. */
export const DAEMON_ENGINES = ['docker', 'podman'] as const;
export type DaemonEngine = (typeof DAEMON_ENGINES)[number];

/** A Docker daemon or podman's storage, written `docker` or `podman`. */
export type DaemonLocation = { kind: 'daemon'; engine: DaemonEngine };

/** How each engine is asked whether it is there: Docker's daemon must answer, podman be installed. */
const PROBES: Record<DaemonEngine, string[]> = {
  docker: ['version', '--format', '{{.Server.Version}}'],
  podman: ['--version'],
};

export interface DaemonOptions {
  /** The CLI (default the engine's name on PATH). */
  bin?: string;
  /** The whole environment the CLI runs in (default this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Whether the engine is there: its probe exits 0 and prints something, within `timeoutMs`. */
export async function daemonAnswers(engine: DaemonEngine, opts: DaemonOptions & { timeoutMs?: number } = {}): Promise<boolean> {
  const r = await runCapture({ cmd: opts.bin ?? engine, args: PROBES[engine], timeoutMs: opts.timeoutMs ?? 10_000, ...(opts.env ? { env: opts.env, extendEnv: false } : {}) });
  return r.ok && r.stdout.trim() !== '';
}

/** The first engine that is there (Docker when its daemon answers, else podman when installed), if any. */
export async function answeringDaemon(): Promise<DaemonLocation | undefined> {
  for (const engine of DAEMON_ENGINES) if (await daemonAnswers(engine)) return { kind: 'daemon', engine };
  return undefined;
}

export interface LoadOptions extends DaemonOptions {
  /** Where the image tarball is written (kept; default a scratch folder removed afterwards). */
  archive?: string;
  /** Runs the CLI with these arguments (default: run it, failing with LOAD_FAILED and the loader's error line). */
  run?: (args: string[]) => Promise<void>;
}

/** Loads `content` into the engine under `names`, through an image tarball. */
export async function loadIntoDaemon(engine: DaemonEngine, content: WritableContent, names: string[], epoch: number, opts: LoadOptions = {}): Promise<void> {
  const work = opts.archive === undefined ? await makeWorkFolder(tmpdir(), 'berth-load', { mode: 0o700 }) : undefined;
  try {
    const tar = opts.archive ?? join(work!.dir, 'image.tar');
    await tarballTransport.writeContent({ kind: 'tarball', path: tar }, content, names, epoch);
    const args = ['load', '--input', tar];
    if (opts.run) return await opts.run(args);
    const r = await runCapture({ cmd: opts.bin ?? engine, args, all: true, ...(opts.env ? { env: opts.env, extendEnv: false } : {}) });
    if (!r.ok) throw new OperationalError('LOAD_FAILED', `${engine} load failed: ${loaderError(r.all, r.exitCode, r.notFound ? 'ENOENT' : undefined)}`);
  } finally {
    await work?.remove();
  }
}

/**
 * The line of a loader's output that says what went wrong: its last `Error:` line (podman
 * follows it with details, a last line that hides the cause), else its last line.
 */
export function loaderError(output: string, exitCode: number | undefined, code?: string): string {
  if (exitCode === undefined) return code === 'ENOENT' ? 'it is not installed (not on PATH)' : `it could not be started (${code ?? 'unknown error'})`;
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.filter((l) => /^(Error|error)\b/.test(l)).at(-1) ?? lines.at(-1) ?? `exit ${exitCode}`;
  return line.length > 400 ? `${line.slice(0, 399)}…` : line;
}

export const daemonTransport: LocalTransport<DaemonLocation> = {
  kind: 'daemon',
  claims: (text) => (DAEMON_ENGINES as readonly string[]).includes(text),
  parse: (text, _cwd, what) => {
    if (!(DAEMON_ENGINES as readonly string[]).includes(text)) throw new UsageError('BAD_FLAG', `${what}: "${text}" is not ${DAEMON_ENGINES.join(' or ')}`);
    return { kind: 'daemon', engine: text as DaemonEngine };
  },
  describe: (loc) => loc.engine,
  read: async (loc) => {
    throw new UsageError('BAD_FLAG', `${loc.engine}: berth does not read images from ${loc.engine}; ${loc.engine} save one into an image tarball and give that`);
  },
  write: (loc, artifact, opts) => writeArtifactLocally(daemonTransport, loc, artifact, opts),
  writeContent: (loc, content, names, epoch) => loadIntoDaemon(loc.engine, content, names, epoch),
};
