/**
 * What berth has created and must not leave behind if it is interrupted: temporary files and
 * work folders (removed whole), and folders it created for an output (removed only while
 * still empty). The CLI removes them on SIGINT, SIGTERM and SIGHUP (removeScratchOnSignals);
 * the code that made them removes them when it is done or fails.
 */
import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { endAllChildrenSync } from './children.js';

interface ScratchState {
  scratch: Set<string>;
  createdDirs: Set<string>;
  installed: boolean;
}
// One state per process, shared by berth's bundles (bin/berth.js may load the lean push bundle, then the full CLI).
const state: ScratchState = ((globalThis as { [k: symbol]: ScratchState })[Symbol.for('berth.scratch')] ??= { scratch: new Set(), createdDirs: new Set(), installed: false });
const { scratch, createdDirs } = state;

/** Marks `path` as scratch until the returned function is called. */
export function trackScratch(path: string): () => void {
  scratch.add(path);
  return () => scratch.delete(path);
}

/**
 * Removes a work folder. Never throws: a folder another task still writes into answers
 * ENOTEMPTY, and that must not hide the error that ended the work (a full disk's ENOSPC); a
 * folder left behind is swept by a later run (work-folders.ts).
 */
export async function removeScratchDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 }).catch(() => {});
  scratch.delete(dir);
}

/**
 * Creates `dir` and its missing parents. The returned function removes again those it
 * created, from the deepest up, as long as they are empty: what a failed write calls so that a
 * new output folder is not left behind. Until then they are removed (if empty) on a signal too.
 */
export async function createDirs(dir: string): Promise<{ undo: () => Promise<void>; keep: () => void }> {
  // The folders missing now, deepest first, tracked before mkdir makes them (see makeScratchDir).
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.push(d);
  for (const d of missing) createdDirs.add(d);
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true });
  } catch (err) {
    for (const d of missing) createdDirs.delete(d);
    throw err;
  }
  // Those this call made: up to the first it created (another process may have made the rest).
  const made = first === undefined ? [] : missing.slice(0, missing.indexOf(first) + 1);
  for (const d of missing) if (!made.includes(d)) createdDirs.delete(d);
  const keep = () => {
    for (const d of made) createdDirs.delete(d);
  };
  const undo = async () => {
    keep();
    for (const d of made) {
      // Not empty (something else wrote there meanwhile) or gone: leave it and its parents.
      if (!(await rmdir(d).then(() => true, () => false))) return;
    }
  };
  return { undo, keep };
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * For the CLI's process: on SIGINT, SIGTERM or SIGHUP, end every program berth started (whole
 * process trees: children.ts), remove every scratch path and every still-empty folder created
 * for an output, then exit with the conventional 128 + signal number.
 */
export function removeScratchOnSignals(): void {
  if (state.installed) return;
  state.installed = true;
  for (const [signal, code] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      // Programs berth started first (their writes would race the removal), then its folders.
      endAllChildrenSync();
      removeAllScratchNow();
      process.exit(code);
    });
  }
}

/** Removes every tracked path at once, synchronously (from a signal handler). */
function removeAllScratchNow(): void {
  const paths = [...scratch];
  const removeAll = () => {
    for (const p of paths) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        // Best effort: the process is about to exit.
      }
    }
  };
  removeAll();
  // A write already handed to libuv's thread pool (a recursive mkdir of blobs/sha256, say)
  // can land after the first pass and bring a path back: wait a moment, then sweep again.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  removeAll();
  scratch.clear();
  // Deepest first, so a created parent is empty by the time it is reached.
  for (const d of [...createdDirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(d);
    } catch {
      // Not empty: it holds something that was not ours to remove.
    }
  }
  createdDirs.clear();
}
