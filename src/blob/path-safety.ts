import { UsageError } from '../errors.js';

/** What the safety check needs to know about one tar member. */
export interface ScannedEntry {
  name: string;
  type: string;
  linkname?: string | null;
}

/** Linux gives up (ELOOP) after 40 symlinks; so do we. */
const MAX_SYMLINK_HOPS = 40;

/** Thrown while resolving: the path leaves the root (via the symlink that led it out), or loops. */
class Escape extends Error {
  via?: { path: string; target: string };
  constructor(readonly loop: boolean) {
    super(loop ? 'passes through too many levels of symlinks' : 'climbs above the layer root');
  }
}

/**
 * Rejects tar members that would land outside the layer root when extracted: absolute paths,
 * `..` climbing above the root, hardlinks to such places, and paths written *through* an
 * earlier symlink of the same layer that points outside. Symlinks are resolved lexically, as
 * an extractor rooted at the layer would: relative targets from the link's directory,
 * absolute targets from the layer root. Feed members in archive order.
 */
export class LayerPathChecker {
  /** Symlinks seen so far, by their resolved location. */
  private readonly symlinks = new Map<string, string>();

  /** `layer` names the file in error messages. */
  constructor(private readonly layer: string) {}

  check(entry: ScannedEntry): void {
    const where = this.resolveMember(entry.name);
    const location = where.join('/');
    if (entry.type === 'link') this.checkHardlink(entry.name, entry.linkname ?? '');
    if (entry.type === 'symlink') this.symlinks.set(location, entry.linkname ?? '');
    else this.symlinks.delete(location);
  }

  private resolveMember(name: string): string[] {
    if (name.startsWith('/')) throw this.unsafe(`entry "${name}" has an absolute path`);
    try {
      return this.resolve(name);
    } catch (err) {
      if (!(err instanceof Escape)) throw err;
      if (err.via) {
        throw this.unsafe(`entry "${name}" is written through symlink "${err.via.path}" -> "${err.via.target}", which points outside the layer`);
      }
      throw this.unsafe(`entry "${name}" ${err.message}`);
    }
  }

  private checkHardlink(name: string, target: string): void {
    const what = `hardlink "${name}" -> "${target}"`;
    if (target.startsWith('/')) throw this.unsafe(`${what} has an absolute target`);
    try {
      this.resolve(target);
    } catch (err) {
      if (!(err instanceof Escape)) throw err;
      const via = err.via ? ` (through symlink "${err.via.path}" -> "${err.via.target}")` : '';
      throw this.unsafe(`${what} ${err.loop ? err.message : 'points outside the layer'}${via}`);
    }
  }

  /** Where `path` lands, following known symlinks in every part but the last. */
  private resolve(path: string): string[] {
    return this.walk([], parts(path), false, { hops: 0 });
  }

  private walk(start: string[], path: string[], followLast: boolean, state: { hops: number }): string[] {
    const at = [...start];
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      if (part === '..') {
        if (at.length === 0) throw new Escape(false);
        at.pop();
        continue;
      }
      at.push(part);
      if (i === path.length - 1 && !followLast) break;
      const linkPath = at.join('/');
      const target = this.symlinks.get(linkPath);
      if (target === undefined) continue;
      if (++state.hops > MAX_SYMLINK_HOPS) throw new Escape(true);
      at.pop();
      try {
        const landed = this.walk(target.startsWith('/') ? [] : at, parts(target), true, state);
        at.splice(0, at.length, ...landed);
      } catch (err) {
        if (err instanceof Escape && !err.loop && !err.via) err.via = { path: linkPath, target };
        throw err;
      }
    }
    return at;
  }

  private unsafe(what: string): UsageError {
    return new UsageError('UNSAFE_PATH', `--layer ${this.layer}: ${what}; refusing an unsafe layer`);
  }
}

/** Path parts without empty and '.' parts: "./a//b/" → ["a", "b"]. */
function parts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
