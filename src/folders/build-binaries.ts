/**
 * An image folder's `build_binaries` (MicroShift's side-images): an executable run from the
 * image's folder, with TARGETARCH, TARGETOS, TARGETPLATFORM (and TARGETVARIANT) set, before
 * the image is built for that platform. What it writes is declared: `build_binaries.outputs`
 * beside it holds ignore patterns (default `bin/`, MicroShift's folder). Those outputs are
 * left out of the content hash everywhere, so the hash is a function of the sources, the
 * same on every machine whatever ran before; a run that changes any other file is an error
 * naming it. It runs only when needed: when it never ran here for the platform, when a
 * file it wrote last time is missing or changed, or when the folder's other files changed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChild } from '../util/children.js';
import { writeFileAtomic } from '../util/atomic.js';
import { OperationalError, UsageError } from '../errors.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import type { HashedFile } from './content-hash.js';
import { folderFiles } from './folder-files.js';
import type { ImageFolder } from './folder.js';

interface Record {
  inputs: string;
  outputs: HashedFile[];
}

/** One file per image folder: each platform's last run. */
type Records = { [platform: string]: Record };

export interface BuildBinariesOptions {
  cacheDir: string;
  /** One line of the script's output; the caller prefixes and prints it. */
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Run it whatever the record says. */
  force?: boolean;
  /** Aborting ends the script and all it started. */
  signal?: AbortSignal;
}

const digestOf = (files: readonly HashedFile[]): string => createHash('sha256').update(JSON.stringify(files.map((f) => [f.path, f.kind, f.mode, f.content ?? '']))).digest('hex');

function recordPath(cacheDir: string, folder: ImageFolder): string {
  const key = createHash('sha256').update(folder.dir).digest('hex').slice(0, 32);
  return join(cacheDir, 'build-binaries', `${key}.json`);
}

async function readRecords(path: string): Promise<Records> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Records;
  } catch {
    return {};
  }
}

// Runs for one folder never overlap (each compares the folder before and after itself).
const running = new Map<string, Promise<unknown>>();

/** Runs the folder's build_binaries for `platform` when needed; says whether it ran. */
export function runBuildBinaries(folder: ImageFolder, platform: Platform, opts: BuildBinariesOptions): Promise<boolean> {
  const prev = running.get(folder.dir) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => runOnce(folder, platform, opts));
  running.set(folder.dir, next);
  return next;
}

/** The folder's files split by build_binaries.outputs. */
async function split(folder: ImageFolder): Promise<{ inputs: HashedFile[]; outputs: HashedFile[] }> {
  const all = await folderFiles(folder.dir);
  const isOutput = (f: HashedFile) => folder.outputs?.matches(f.path) ?? false;
  return { inputs: all.filter((f) => !isOutput(f)), outputs: all.filter(isOutput) };
}

async function runOnce(folder: ImageFolder, platform: Platform, opts: BuildBinariesOptions): Promise<boolean> {
  if (!folder.buildBinaries) return false;
  const file = recordPath(opts.cacheDir, folder);
  const recs = await readRecords(file);
  const rec = recs[formatPlatform(platform)];
  const before = await split(folder);
  const current = new Map(before.outputs.map((f) => [f.path, JSON.stringify(f)]));
  const outputsIntact = rec !== undefined && rec.outputs.every((o) => current.get(o.path) === JSON.stringify(o));
  if (!opts.force && rec && rec.inputs === digestOf(before.inputs) && outputsIntact) return false;

  const env = {
    ...(opts.env ?? process.env),
    TARGETPLATFORM: formatPlatform(platform),
    TARGETOS: platform.os,
    TARGETARCH: platform.architecture,
    TARGETVARIANT: platform.variant ?? '',
  };
  // Its own process group, ended whole on cancel or when berth is interrupted.
  const result = await runChild({ cmd: folder.buildBinaries, args: [], cwd: folder.dir, env, extendEnv: false, ...(opts.signal ? { signal: opts.signal } : {}), onLine: (l) => opts.log(l) });
  if (result.exitCode !== 0) {
    const what = `${folder.name}/build_binaries (${formatPlatform(platform)})`;
    if (result.notFound && result.exitCode === undefined) throw new OperationalError('BUILD_BINARIES_FAILED', `${what} could not be started: ${await whyNotStarted(folder.buildBinaries, 'ENOENT')}`);
    if (result.exitCode === undefined && !result.signal && !result.cancelled) throw new OperationalError('BUILD_BINARIES_FAILED', `${what} could not be started: ${await whyNotStarted(folder.buildBinaries, undefined)}`);
    const why = result.cancelled ? 'was stopped' : result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`;
    throw new OperationalError('BUILD_BINARIES_FAILED', `${what} ${why}; its output is above`);
  }

  const after = await split(folder);
  const was = new Map(before.inputs.map((f) => [f.path, JSON.stringify(f)]));
  const now = new Map(after.inputs.map((f) => [f.path, JSON.stringify(f)]));
  const changed = [...new Set([...was.keys(), ...now.keys()])].filter((p) => was.get(p) !== now.get(p)).sort();
  if (changed.length) {
    throw new UsageError('BAD_IMAGE_FOLDER', `${folder.name}/build_binaries (${formatPlatform(platform)}) changed ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''}, which build_binaries.outputs does not declare (default: bin/); declare its outputs there`);
  }
  const mine = new Set((rec?.outputs ?? []).map((o) => o.path));
  const outputs = after.outputs.filter((f) => mine.has(f.path) || current.get(f.path) !== JSON.stringify(f));
  recs[formatPlatform(platform)] = { inputs: digestOf(after.inputs), outputs };
  await mkdir(join(opts.cacheDir, 'build-binaries'), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(recs));
  return true;
}

async function whyNotStarted(file: string, code: string | undefined): Promise<string> {
  const head = await readFile(file).then((b) => b.subarray(0, 256).toString('latin1'), () => '');
  const interpreter = /^#!\s*(\S+)/.exec(head)?.[1];
  if (code === 'ENOENT' && interpreter) return `its interpreter ${interpreter} (the #! line) is not installed (ENOENT)`;
  if (code === 'EACCES') return 'it is not executable (EACCES); chmod +x it';
  if (code === 'ENOEXEC') return 'it is not a program the system can run, and has no #! line (ENOEXEC)';
  return `${code ?? 'unknown error'}`;
}
