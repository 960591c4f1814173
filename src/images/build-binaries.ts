/**
 * An image folder's `build_binaries` (MicroShift's side-images): an executable run from the
 * image's folder, with TARGETARCH, TARGETOS, TARGETPLATFORM (and TARGETVARIANT) set, before
 * the image is built for that platform. It runs only when needed: when it never ran here for
 * the platform, when a file it wrote last time is missing or changed, or when the folder's
 * other files changed since. What it wrote is found by comparing the folder before and after,
 * and recorded in berth's cache folder; those outputs are left out of the content hash (they
 * follow from the inputs), so the hash is the same before and after a run, on any machine.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChild } from '../blob/children.js';
import { OperationalError } from '../errors.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import type { HashedFile } from './content-hash.js';
import { folderFiles, type Excluded } from './folder-files.js';
import type { ImageFolder } from './folder.js';

interface Record {
  inputs: string;
  outputs: HashedFile[];
}

/** One file per image folder: each platform's last run. */
type Records = { [platform: string]: Record };

export interface BuildBinariesOptions {
  cacheDir: string;
  excluded?: Excluded;
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
  return join(cacheDir, 'build-binaries', `${folder.name}-${key}.json`);
}

async function readRecords(path: string): Promise<Records> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Records;
  } catch {
    return {};
  }
}

const allOutputs = (recs: Records): Set<string> => new Set(Object.values(recs).flatMap((r) => r.outputs.map((o) => o.path)));

/** What the last runs here wrote, for any platform (left out of the content hash), or none. */
export async function recordedOutputs(folder: ImageFolder, cacheDir: string): Promise<Set<string>> {
  return allOutputs(await readRecords(recordPath(cacheDir, folder)));
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

async function runOnce(folder: ImageFolder, platform: Platform, opts: BuildBinariesOptions): Promise<boolean> {
  if (!folder.buildBinaries) return false;
  const file = recordPath(opts.cacheDir, folder);
  const recs = await readRecords(file);
  const rec = recs[formatPlatform(platform)];
  // Every platform's outputs are outputs, not inputs (one platform's run may leave another's files).
  const recorded = allOutputs(recs);
  const excluded = opts.excluded ?? (() => false);
  const before = await folderFiles(folder.dir, excluded);
  const inputs = before.filter((f) => !recorded.has(f.path));
  const current = new Map(before.map((f) => [f.path, f]));
  const outputsIntact = rec !== undefined && rec.outputs.every((o) => JSON.stringify(current.get(o.path)) === JSON.stringify(o));
  if (!opts.force && rec && rec.inputs === digestOf(inputs) && outputsIntact) return false;

  const env = {
    ...(opts.env ?? process.env),
    TARGETPLATFORM: formatPlatform(platform),
    TARGETOS: platform.os,
    TARGETARCH: platform.architecture,
    TARGETVARIANT: platform.variant ?? '',
  };
  // Its own process group, ended whole on cancel or when berth is interrupted.
  const result = await runChild({ cmd: folder.buildBinaries, args: [], cwd: folder.dir, env, extendEnv: false, ...(opts.signal ? { signal: opts.signal } : {}), onLine: (l) => opts.log(l) });
  if (result.notFound && result.exitCode === undefined) throw new OperationalError('BUILD_BINARIES_FAILED', `${folder.name}/build_binaries (${formatPlatform(platform)}) could not be started: ${result.message}`);
  if (result.exitCode !== 0) {
    const why = result.cancelled ? 'was stopped' : result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`;
    throw new OperationalError('BUILD_BINARIES_FAILED', `${folder.name}/build_binaries (${formatPlatform(platform)}) ${why}; its output is above`);
  }

  const after = await folderFiles(folder.dir, excluded);
  const beforeByPath = new Map(inputs.map((f) => [f.path, JSON.stringify(f)]));
  const mine = new Set((rec?.outputs ?? []).map((o) => o.path));
  const outputs = after.filter((f) => mine.has(f.path) || (!recorded.has(f.path) && beforeByPath.get(f.path) !== JSON.stringify(f)));
  const outputPaths = new Set([...outputs.map((o) => o.path), ...recorded]);
  recs[formatPlatform(platform)] = { inputs: digestOf(after.filter((f) => !outputPaths.has(f.path))), outputs };
  await mkdir(join(opts.cacheDir, 'build-binaries'), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(recs));
  await rename(`${file}.tmp`, file);
  return true;
}
