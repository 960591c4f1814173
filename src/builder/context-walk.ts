import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { IgnoreRules } from '../dockerfile/dockerignore.js';

/**
 * The one walk of a build context on disk: what the build reads (rootfs.ts's contextTree, for
 * COPY and ADD) and what the content hash of `berth images` covers (images/folder-files.ts)
 * are the same list because both come from here. Files, folders and symlinks (never
 * followed); sockets, FIFOs and devices are left out. Names are sorted in each folder, a
 * folder comes before what is in it.
 */

/** One thing in a context, as lstat sees it. */
export interface ContextEntry {
  /** Relative to the context, `/`-separated. */
  path: string;
  /** Where it is on disk. */
  abs: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (st.mode & 0o7777), as on disk. */
  mode: number;
  /** Bytes of a file. */
  size: number;
  /** A symlink's target. */
  linkname?: string;
}

/** What a walk leaves out. */
export interface ContextFilter {
  /** Whether a path is left out of the context. */
  excluded?: (path: string, isDir: boolean) => boolean;
  /** Walk into left-out folders for what an exception keeps (`!dir/keep`), as Docker does; the folder itself stays out. */
  descendExcluded?: boolean;
  /** The error for a folder that cannot be listed (default: readdir's own). */
  unreadable?: (dir: string, err: unknown) => Error;
}

/**
 * A context's `.dockerignore` (read by builder/dockerfile-build.ts's readIgnore) as a filter:
 * what it matches is left out, `also` leaves out more, and with exceptions (`!`) ignored folders
 * are walked for the files they re-include.
 */
export function ignoreFilter(rules: IgnoreRules, also?: (path: string) => boolean): ContextFilter {
  return { excluded: also ? (p) => rules.matches(p) || also(p) : (p) => rules.matches(p), descendExcluded: rules.hasExceptions };
}

/** The context's entries (not the root itself), folder by folder, names sorted. */
export async function walkContext(root: string, filter: ContextFilter = {}): Promise<ContextEntry[]> {
  const { excluded = () => false, descendExcluded = false, unreadable } = filter;
  const found: ContextEntry[] = [];
  const walk = async (relDir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(root, relDir));
    } catch (err) {
      throw unreadable ? unreadable(join(root, relDir), err) : err;
    }
    const children = await Promise.all(
      names.sort().map(async (name) => {
        const path = relDir === '' ? name : `${relDir}/${name}`;
        const abs = join(root, path);
        return { path, abs, st: await lstat(abs) };
      }),
    );
    for (const { path, abs, st } of children) {
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined;
      if (!kind) continue;
      if (excluded(path, kind === 'dir')) {
        if (kind === 'dir' && descendExcluded) await walk(path);
        continue;
      }
      const entry: ContextEntry = { path, abs, kind, mode: st.mode & 0o7777, size: st.size };
      if (kind === 'symlink') entry.linkname = await readlink(abs);
      found.push(entry);
      if (kind === 'dir') await walk(path);
    }
  };
  await walk('');
  return found;
}
