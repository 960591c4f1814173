import { constants, type Stats } from 'node:fs';
import { access, lstat, open, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { describeElf, ELF_HEADER_BYTES, elfMatchesPlatform, formatElf } from '../oci/elf.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { describeFsError } from '../util/fs-errors.js';
import { sortTarEntries, type TarEntry } from './tar.js';

/** One `--file SRC:DEST[:MODE]`: a file or directory on disk and where it goes in the image. */
export interface FileSpec {
  /** As the user gave it; relative paths are resolved against `cwd`. */
  src: string;
  /** Absolute in the image. Ending in '/', a file SRC goes inside it under its own name. */
  dest: string;
  /** Permission bits for the file, or for every file of a directory SRC. */
  mode?: number;
  /** Directory a relative `src` is resolved against; default the process's. */
  cwd?: string;
}

/** Owner and time given to every entry, so they depend on no one's disk. */
export interface EntryStamp {
  uid?: number;
  gid?: number;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  mtime?: number;
}

const DIRECTORY_MODE = 0o755;
const EXECUTABLE_MODE = 0o755;
const REGULAR_MODE = 0o644;
const SYMLINK_MODE = 0o777;

/** Parses `SRC:DEST[:MODE]` (MODE octal, like 0755; DEST absolute, like /app/server). */
export function parseFileSpec(text: string, cwd?: string): FileSpec {
  const bad = (why: string) => new UsageError('BAD_FLAG', `--file ${text}: ${why}`);
  const parts = text.split(':');
  if (parts.length < 2) throw bad('expected SRC:DEST[:MODE], like bin/server:/app/server');
  if (parts.length > 3) throw bad("too many ':'; expected SRC:DEST[:MODE]");
  const [src, dest, modeText] = parts as [string, string, string | undefined];
  if (src === '') throw bad('SRC is empty');
  if (!dest.startsWith('/')) throw bad(`DEST "${dest}" must be an absolute path in the image, like /app/server`);
  if (dest.split('/').includes('..')) throw bad(`DEST "${dest}" must not contain '..'`);
  const spec: FileSpec = { src, dest: posix.normalize(dest) }; // keeps a trailing '/'
  if (modeText !== undefined) {
    if (!/^(0o)?[0-7]{1,5}$/.test(modeText) || parseInt(modeText.replace(/^0o/, ''), 8) > 0o7777) {
      throw bad(`MODE "${modeText}" is not an octal mode like 0755`);
    }
    spec.mode = parseInt(modeText.replace(/^0o/, ''), 8);
  }
  if (cwd !== undefined) spec.cwd = cwd;
  return spec;
}

/**
 * The tar entries for `specs`, sorted: each file, directory (recursively) and symlink (not
 * followed, except a SRC that is itself one), plus every parent directory of a DEST. Modes
 * come from MODE, else 0755 for directories and for files executable by their owner, 0644
 * for other files: the bits git keeps, whatever the umask was at checkout. Owner and mtime
 * come from `stamp`; readdir order does not matter. Given `platform`, an ELF file for another
 * platform is refused (UsageError FOREIGN_BINARY).
 */
export async function collectFileEntries(specs: readonly FileSpec[], stamp: EntryStamp = {}, opts: { platform?: Platform } = {}): Promise<TarEntry[]> {
  const tree = new ImageTree({ uid: stamp.uid ?? 0, gid: stamp.gid ?? 0, mtime: stamp.mtime ?? 0 });
  for (const spec of specs) await addSpec(tree, spec, opts.platform);
  return sortTarEntries(tree.entries());
}

/**
 * Refuses an ELF file that is not for `platform` (machine, class, byte order): an amd64
 * program in an arm64 image. One line names the file as given, what it is and what the image
 * is. Only the first bytes of each file are read.
 */
async function checkForeign(shown: string, dest: string, path: string, size: number, platform: Platform | undefined): Promise<void> {
  if (platform === undefined || size < ELF_HEADER_BYTES) return;
  const elf = describeElf(await readHead(shown, path, ELF_HEADER_BYTES));
  if (elf && !elfMatchesPlatform(elf, platform)) {
    const p = formatPlatform(platform);
    throw new UsageError('FOREIGN_BINARY', `--file ${shown} (${dest}) is ${formatElf(elf)}, but the image is ${p}; build it for ${p}, or pass --allow-foreign-binaries to add it anyway`);
  }
}

/** The first `n` bytes of a file (fewer when it is shorter). */
export async function readFileHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readHead(shown: string, path: string, n: number): Promise<Uint8Array> {
  return readFileHead(path, n).catch((err: unknown) => {
    throw unreadable(shown, err);
  });
}

async function addSpec(tree: ImageTree, spec: FileSpec, platform: Platform | undefined): Promise<void> {
  const path = resolve(spec.cwd ?? process.cwd(), spec.src);
  const stats = await stat(path).catch((err: unknown) => {
    throw unreadable(spec.src, err);
  });
  if (stats.isFile()) {
    const dest = spec.dest.endsWith('/') ? spec.dest + basename(path) : spec.dest;
    tree.claimDest(dest, spec);
    await checkReadable(spec.src, path);
    await checkForeign(spec.src, dest, path, stats.size, platform);
    tree.add({ ...fileEntry(dest, stats, spec.mode), source: path }, spec);
  } else if (stats.isDirectory()) {
    tree.claimDest(spec.dest, spec);
    if (spec.dest !== '/') tree.add({ path: relative(spec.dest), type: 'directory', mode: DIRECTORY_MODE }, spec);
    await addDirectory(tree, spec, path, spec.src, spec.dest, platform);
  } else {
    throw new UsageError('UNREADABLE', `--file ${spec.src}: not a regular file or directory`);
  }
}

async function addDirectory(tree: ImageTree, spec: FileSpec, dir: string, shown: string, dest: string, platform: Platform | undefined): Promise<void> {
  const names = await readdir(dir).catch((err: unknown) => {
    throw unreadable(shown, err);
  });
  names.sort(); // so that which conflict is reported first does not depend on the disk either
  const children = await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const stats = await lstat(path).catch((err: unknown) => {
        throw unreadable(join(shown, name), err);
      });
      return { name, path, stats };
    }),
  );
  for (const { name, path, stats } of children) {
    const shownChild = join(shown, name);
    const destChild = posix.join(dest, name);
    if (stats.isSymbolicLink()) {
      const target = await readlink(path).catch((err: unknown) => {
        throw unreadable(shownChild, err);
      });
      tree.add({ path: relative(destChild), type: 'symlink', mode: SYMLINK_MODE, linkname: target }, spec);
    } else if (stats.isDirectory()) {
      tree.add({ path: relative(destChild), type: 'directory', mode: DIRECTORY_MODE }, spec);
      await addDirectory(tree, spec, path, shownChild, destChild, platform);
    } else if (stats.isFile()) {
      await checkReadable(shownChild, path);
      await checkForeign(shownChild, destChild, path, stats.size, platform);
      tree.add({ ...fileEntry(destChild, stats, spec.mode), source: path }, spec);
    } else {
      throw new UsageError('UNREADABLE', `--file ${shownChild}: not a regular file, directory or symlink`);
    }
  }
}

type UnstampedEntry = Omit<TarEntry, 'uid' | 'gid' | 'mtime'>;

function fileEntry(dest: string, stats: Stats, mode: number | undefined): UnstampedEntry {
  const ownMode = stats.mode & 0o100 ? EXECUTABLE_MODE : REGULAR_MODE;
  return { path: relative(dest), type: 'file', mode: mode ?? ownMode, size: stats.size };
}

/**
 * The entries so far, by path, with the spec that put each there; parent directories are
 * added as entries are. Two specs may share a directory, never any other path.
 */
class ImageTree {
  private readonly byPath = new Map<string, { entry: TarEntry; spec: FileSpec }>();
  private readonly dests = new Map<string, FileSpec>();

  constructor(private readonly stamp: Required<EntryStamp>) {}

  claimDest(dest: string, spec: FileSpec): void {
    const key = dest === '/' ? '/' : dest.replace(/\/$/, '');
    const other = this.dests.get(key);
    if (other) throw new UsageError('BAD_FLAG', `${describe(other)} and ${describe(spec)} both write ${key}`);
    this.dests.set(key, spec);
  }

  add(entry: UnstampedEntry, spec: FileSpec): void {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      this.put({ path: parts.slice(0, i).join('/'), type: 'directory', mode: DIRECTORY_MODE }, spec);
    }
    this.put(entry, spec);
  }

  entries(): TarEntry[] {
    return [...this.byPath.values()].map((v) => v.entry);
  }

  private put(entry: UnstampedEntry, spec: FileSpec): void {
    const existing = this.byPath.get(entry.path);
    if (existing) {
      if (existing.entry.type === 'directory' && entry.type === 'directory') return;
      throw new UsageError('BAD_FLAG', `${describe(existing.spec)} and ${describe(spec)} both write /${entry.path}`);
    }
    this.byPath.set(entry.path, { entry: { ...entry, ...this.stamp }, spec });
  }
}

async function checkReadable(shown: string, path: string): Promise<void> {
  await access(path, constants.R_OK).catch((err: unknown) => {
    throw unreadable(shown, err);
  });
}

function unreadable(shown: string, err: unknown): UsageError {
  return new UsageError('UNREADABLE', `--file ${shown}: ${describeFsError(err)}`, { cause: err });
}

function describe(spec: FileSpec): string {
  return `--file ${spec.src}:${spec.dest}`;
}

/** "/app/x/" → "app/x"; "/" → "". */
function relative(dest: string): string {
  return dest.replace(/^\/+/, '').replace(/\/+$/, '');
}
