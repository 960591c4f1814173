import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createDirs, removeScratchDir } from '../util/scratch.js';
import { makeScratchDir } from '../util/work-folders.js';
import type { Location } from '../transport/location.js';

/**
 * Where a build's work folder goes: on the output's file system, so it sits beside a tarball,
 * inside an existing layout, and beside a layout that does not exist yet (which then appears
 * whole, or not at all).
 */
export function workParentFor(output: Location): string {
  if (output.kind === 'tarball') return dirname(output.path);
  return existsSync(output.dir) ? output.dir : dirname(output.dir);
}

/**
 * A scratch folder `.berth-work-*` in `parent` (created if missing), removed when the work is
 * done or fails, and by the CLI on SIGINT/SIGTERM. When the work fails, the folders created
 * for it are removed too, so a failed build into a new output folder leaves no folder behind.
 */
export async function withWorkdir<T>(parent: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const created = await createDirs(parent);
  let dir: string | undefined;
  try {
    dir = await makeScratchDir(parent);
    const result = await fn(dir);
    await removeScratchDir(dir);
    created.keep();
    return result;
  } catch (err) {
    if (dir !== undefined) await removeScratchDir(dir);
    await created.undo().catch(() => {}); // the work's own error is the one to report
    throw err;
  }
}
