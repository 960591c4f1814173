import { UsageError } from '../errors.js';
import { showName } from './tar-read.js';

/** What the safety check needs to know about one tar member (names as raw latin1 strings). */
export interface ScannedEntry {
  name: string;
  /** The typeflag: '0'/'7' file, '1' hard link, '2' symlink, '3'/'4' device, '5' directory, '6' fifo. */
  type: string;
  linkname?: string | null;
}

/** Linux gives up (ELOOP) after 40 symlinks; so do we. */
const MAX_SYMLINK_HOPS = 40;

type EscapeKind = 'climbs' | 'absolute' | 'loop';

/** Thrown while resolving: the path leaves the root (via the symlink that led it out), or loops. */
class Escape extends Error {
  via?: { path: string; target: string };
  constructor(readonly kind: EscapeKind) {
    super(
      kind === 'loop'
        ? 'passes through too many levels of symlinks'
        : kind === 'absolute'
          ? 'goes through a symlink with an absolute target'
          : 'climbs above the layer root',
    );
  }
}

/** Whiteouts that would delete the directory itself or its parent (`.wh.`, `.wh..`, `.wh...`). */
const BAD_WHITEOUTS = new Set(['.wh.', '.wh..', '.wh...']);

/**
 * Refuses tar members that any common extractor could write outside the layer root. The model
 * is the least careful extractor: members applied in archive order, each path walked as the
 * kernel walks it (every symlink made so far followed, `..` included), absolute symlink
 * targets meaning the host's root, and a directory or file written onto an existing symlink
 * going through it (GNU tar keeps a symlink to a directory for a directory member; a plain
 * `open(O_TRUNC)` follows one for a file). Careful extractors (GNU tar's delayed symlinks,
 * containerd's scoped paths) do less harm, so whatever passes here is safe for them too. Refused:
 * absolute names; `..` climbing above the root; writing through a symlink that points
 * outside, that has an absolute target, or that loops; hard links to outside paths or to
 * symlinks pointing outside (a hard link to a symlink *is* that symlink, relative to its new
 * place); a directory written into by earlier members then replaced by a non-directory (an
 * extractor that cannot remove it keeps its symlinks); whiteouts of `.` or `..`.
 * Feed members in archive order, with PAX and GNU long names applied (blob/tar-read.ts does).
 */
export class LayerPathChecker {
  /** Symlinks made so far, by their location (resolved path parts joined by '/'). */
  private readonly symlinks = new Map<string, string>();
  /** Locations earlier members were written into (the root, and every parent of a member). */
  private readonly dirs = new Set<string>(['']);

  /** `where` starts every message: `--layer a.tar`, or an image's layer. */
  constructor(private readonly where: string) {}

  /** Checks one member; returns where it lands (the path from the root, symlinks in its parents resolved). */
  check(entry: ScannedEntry): string {
    const name = entry.name;
    const show = showName(name);
    if (name.startsWith('/')) throw this.unsafe(`entry ${show} has an absolute path`);
    const all = parts(name);
    const base = all[all.length - 1] ?? '';
    if (BAD_WHITEOUTS.has(base)) throw this.unsafe(`entry ${show} is a whiteout of its own directory or its parent`);
    // A name that climbs above the root as written is refused whatever symlinks it passes
    // (moby refuses these outright; GNU tar -P with a dangling symlink in it was seen to escape).
    let depth = 0;
    for (const p of all) if ((depth += p === '..' ? -1 : 1) < 0) throw this.unsafe(`entry ${show} climbs above the layer root`);

    const at = this.attempt(() => this.walk([], all, false, { hops: 0 }), (err) => this.throughMessage(show, err));
    const location = at.join('/');
    const isDir = entry.type === '5';
    const isFile = entry.type === '0' || entry.type === '7';

    if (!isDir && this.dirs.has(location)) {
      throw this.unsafe(`entry ${show} replaces a directory that earlier entries wrote into`);
    }
    let written = at;
    const existing = this.symlinks.get(location);
    if ((isDir || isFile) && existing !== undefined) {
      written = this.attempt(
        () => this.walk([], at, true, { hops: 0 }),
        (err) => `entry ${show} would be written through symlink ${showName(location)} -> ${showName(existing)}, which ${whatItDoes(err)}`,
      );
    }

    if (entry.type === '1') this.checkHardlink(location, show, entry.linkname ?? '');
    else if (entry.type === '2') this.symlinks.set(location, entry.linkname ?? '');
    else if (!isDir && !isFile) this.symlinks.delete(location);

    for (let i = 1; i < written.length; i++) this.dirs.add(written.slice(0, i).join('/'));
    return written.join('/');
  }

  private checkHardlink(location: string, show: string, target: string): void {
    const what = `hardlink ${show} -> ${showName(target)}`;
    if (target.startsWith('/')) throw this.unsafe(`${what} has an absolute target`);
    const found = this.attempt(
      () => this.walk([], parts(target), false, { hops: 0 }),
      (err) => (err.via ? `${what} ${this.throughText(err)}` : `${what} points outside the layer`),
    );
    const linkedTarget = this.symlinks.get(found.join('/'));
    if (linkedTarget === undefined) {
      this.symlinks.delete(location);
      return;
    }
    // link(2) makes a second name for the symlink itself; an extractor using AT_SYMLINK_FOLLOW
    // links what it points at instead. Both must stay inside.
    this.attempt(
      () => this.walk([], found, true, { hops: 0 }),
      (err) => `${what} links symlink ${showName(found.join('/'))} -> ${showName(linkedTarget)}, which ${whatItDoes(err)}`,
    );
    this.symlinks.set(location, linkedTarget);
  }

  /** Runs a resolution; an Escape becomes UNSAFE_PATH with the given message. */
  private attempt<T>(resolve: () => T, message: (err: Escape) => string): T {
    try {
      return resolve();
    } catch (err) {
      if (!(err instanceof Escape)) throw err;
      throw this.unsafe(message(err));
    }
  }

  private throughMessage(show: string, err: Escape): string {
    return err.via ? `entry ${show} ${this.throughText(err)}` : `entry ${show} ${err.message}`;
  }

  private throughText(err: Escape): string {
    const via = err.via!;
    return `is written through symlink ${showName(via.path)} -> ${showName(via.target)}, which ${whatItDoes(err)}`;
  }

  /**
   * Where `path` lands from `start`, following known symlinks in every part but the last
   * (and the last too when `followLast`), as the kernel does.
   */
  private walk(start: string[], path: string[], followLast: boolean, state: { hops: number }): string[] {
    const at = [...start];
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      if (part === '..') {
        if (at.length === 0) throw new Escape('climbs');
        at.pop();
        continue;
      }
      at.push(part);
      if (i === path.length - 1 && !followLast) break;
      const linkPath = at.join('/');
      const target = this.symlinks.get(linkPath);
      if (target === undefined) continue;
      try {
        if (++state.hops > MAX_SYMLINK_HOPS) throw new Escape('loop');
        if (target.startsWith('/')) throw new Escape('absolute');
        at.pop();
        const landed = this.walk(at, parts(target), true, state);
        at.splice(0, at.length, ...landed);
      } catch (err) {
        if (err instanceof Escape && !err.via) err.via = { path: linkPath, target };
        throw err;
      }
    }
    return at;
  }

  private unsafe(what: string): UsageError {
    return new UsageError('UNSAFE_PATH', `${this.where}: ${what}; refusing an unsafe layer`);
  }
}

function whatItDoes(err: Escape): string {
  if (err.kind === 'loop') return 'loops';
  if (err.kind === 'absolute') return 'has an absolute target';
  return 'points outside the layer';
}

/** Path parts without empty and '.' parts: "./a//b/" → ["a", "b"]. */
function parts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
