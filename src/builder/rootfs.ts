import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { describeFsError } from '../util/fs-errors.js';
import { walkLayer } from '../blob/layer-walk.js';
import type { TarSource } from '../blob/tar.js';
import { UsageError } from '../errors.js';
import type { Image } from '../transport/image.js';
import { walkContext, type ContextFilter } from './context-walk.js';

/**
 * A file system as berth reads it for COPY and ADD: a build context on disk, or an image's
 * layers with whiteouts applied. Layers and archives are read only through berth's safe layer
 * walk (src/blob/layer-walk.ts: strict headers, path safety); symlinks are followed lexically
 * inside the tree, never on the host.
 */

export interface FsNode {
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  linkname?: string;
  source?: TarSource;
}

/** Files up to this size are kept in memory when a layer is indexed (passwd, group, small configs). */
const KEEP_IN_MEMORY = 64 << 10;
const MAX_SYMLINK_HOPS = 40;

export class PathEscape extends Error {}

export class FsTree {
  readonly nodes = new Map<string, FsNode>();

  /** `context`: a path that leads out is an error; `rootfs`: `..` stops at the root, as in a container. */
  constructor(readonly kind: 'context' | 'rootfs') {}

  get(path: string): FsNode | undefined {
    return path === '' ? { type: 'directory', mode: 0o755, uid: 0, gid: 0 } : this.nodes.get(path);
  }

  /** Puts `node` at `path`; anything but a folder replaces what was under a folder there. */
  set(path: string, node: FsNode): void {
    if (node.type !== 'directory' && this.nodes.get(path)?.type === 'directory') this.deleteTree(path, false);
    this.nodes.set(path, node);
  }

  /** Removes `path` and what is under it (or only what is under it). */
  deleteTree(path: string, includeSelf = true): void {
    const node = this.nodes.get(path);
    if (includeSelf) this.nodes.delete(path);
    if (path !== '' && node?.type !== 'directory') return;
    const prefix = path === '' ? '' : `${path}/`;
    for (const key of [...this.nodes.keys()]) if (key.startsWith(prefix) && key !== path) this.nodes.delete(key);
  }

  /** Paths under `dir` (recursively), sorted. */
  under(dir: string): string[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    return [...this.nodes.keys()].filter((k) => k.startsWith(prefix) && k !== dir).sort();
  }

  clone(): FsTree {
    const t = new FsTree(this.kind);
    for (const [k, v] of this.nodes) t.nodes.set(k, v);
    return t;
  }

  /**
   * Where `path` leads, symlinks followed (the last one too when `followLast`). In a context,
   * leaving the root throws PathEscape naming the symlink.
   */
  resolve(path: string, followLast = true): string {
    return this.walk([], split(path), followLast, { hops: 0 }).join('/');
  }

  private walk(start: string[], parts: string[], followLast: boolean, state: { hops: number }): string[] {
    const at = [...start];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '..') {
        if (at.length === 0) {
          if (this.kind === 'context') throw new PathEscape('leads outside the build context');
          continue;
        }
        at.pop();
        continue;
      }
      at.push(part);
      if (i === parts.length - 1 && !followLast) break;
      const node = this.nodes.get(at.join('/'));
      if (node?.type !== 'symlink') continue;
      if (++state.hops > MAX_SYMLINK_HOPS) throw new PathEscape('passes through too many symlinks');
      const link = at.join('/');
      at.pop();
      const target = node.linkname!;
      if (this.kind === 'context' && target.startsWith('/')) throw new PathEscape(`goes through symlink ${link} -> ${target}, which leads outside the build context`);
      try {
        at.splice(0, at.length, ...this.walk(target.startsWith('/') ? [] : at, split(target), true, state));
      } catch (err) {
        if (err instanceof PathEscape && !err.message.includes('symlink')) throw new PathEscape(`goes through symlink ${link} -> ${target}, which leads outside the build context`);
        throw err;
      }
    }
    return at;
  }

  /** A file's bytes (for /etc/passwd and /etc/group lookups); undefined when absent or not kept. */
  async readSmall(path: string): Promise<Buffer | undefined> {
    const node = this.get(this.resolve(path));
    if (node?.type !== 'file' || node.source === undefined) return undefined;
    if (typeof node.source === 'string') return readFile(node.source);
    if (typeof node.source === 'function') return undefined;
    return Buffer.from(node.source);
  }
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/**
 * A build context as a tree: files, folders and symlinks (not followed) as context-walk.ts
 * lists them (the list the content hash of `berth images` covers too), without what `filter`
 * leaves out (`ignoreFilter(.dockerignore)`). Modes are made the ones git keeps (0755 for
 * folders and files executable by their owner, 0644 otherwise) and owners 0, so a
 * checkout's umask and owner never reach the image.
 */
export async function contextTree(dir: string, filter: ContextFilter = {}): Promise<FsTree> {
  const tree = new FsTree('context');
  const unreadable = (path: string, err: unknown) => new UsageError('UNREADABLE', `build context ${path}: ${describeFsError(err)}`, { cause: err });
  for (const e of await walkContext(dir, { ...filter, unreadable })) {
    if (e.kind === 'dir') tree.nodes.set(e.path, { type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    else if (e.kind === 'symlink') tree.nodes.set(e.path, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: e.linkname! });
    else tree.nodes.set(e.path, { type: 'file', mode: e.mode & 0o100 ? 0o755 : 0o644, uid: 0, gid: 0, size: e.size, source: e.abs });
  }
  return tree;
}

/** One member of a layer or archive as read (safe path, content kept or in a file). */
export interface Member {
  /** Where it lands, relative to the root ('' for the root itself), UTF-8. */
  path: string;
  type: FsNode['type'] | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  source?: TarSource;
}

/**
 * Reads a layer or tar archive (plain or gzip) through berth's safe layer walk (strict
 * headers, path safety as extractors see it) and lists its members in archive order. A file's
 * content is kept in memory up to KEEP_IN_MEMORY bytes, written to a new file in `extractTo`
 * when larger, or dropped when there is no `extractTo`.
 */
export async function readMembers(source: AsyncIterable<Uint8Array>, where: string, extractTo: string | undefined, prefix: string): Promise<Member[]> {
  const members: Member[] = [];
  let current: Member | undefined;
  let chunks: Buffer[] | undefined;
  let file: FileHandle | undefined;
  let n = 0;
  const utf8 = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');
  await walkLayer(source, where, {
    async entry(e) {
      const type = TYPES[e.type] ?? 'other';
      current = { path: utf8(e.path), type, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, size: type === 'file' ? e.size : 0, linkname: utf8(e.linkname) };
      members.push(current);
      chunks = undefined;
      if (type !== 'file') return;
      if (e.size <= KEEP_IN_MEMORY) chunks = [];
      else if (extractTo) {
        const path = join(extractTo, `${prefix}${n++}`);
        current.source = path;
        file = await open(path, 'w');
      }
    },
    async data(chunk) {
      if (chunks) chunks.push(Buffer.from(chunk));
      else if (file) await file.write(chunk);
    },
    async entryEnd() {
      if (chunks && current) current.source = Buffer.concat(chunks);
      if (file) await file.close();
      chunks = undefined;
      file = undefined;
    },
  }).finally(() => file?.close());
  return members;
}

const TYPES: Record<string, FsNode['type']> = { '0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'directory' };

/**
 * An image's file system: each layer read in order through readMembers, whiteouts
 * (`.wh.NAME`, `.wh..wh..opq`) applied. With `extractTo`, every file's content can be copied
 * out; without, only small files are kept (in memory).
 */
export async function imageTree(image: Image, extractTo?: string): Promise<FsTree> {
  const tree = new FsTree('rootfs');
  for (const [i, desc] of image.manifest.layers.entries()) {
    const where = `${image.blobs.origin} layer ${i} (${desc.digest})`;
    const members = await readMembers(await image.blobs.open(desc), where, extractTo, `l${i}-`);
    applyMembers(tree, members);
  }
  return tree;
}

/** Applies one layer's members (whiteouts included) to a tree: what imageTree does layer by layer, and the step executor after a RUN. */
export function applyMembers(tree: FsTree, members: readonly Member[]): void {
  // What this layer wrote so far, and the folders on the way to it: an opaque whiteout hides
  // only lower layers' paths (OCI image spec), wherever in the layer it comes.
  const added = new Set<string>();
  const within = new Set<string>();
  for (const m of members) {
    const base = posix.basename(m.path);
    const dir = posix.dirname(m.path) === '.' ? '' : posix.dirname(m.path);
    if (base === '.wh..wh..opq') {
      for (const p of tree.under(dir)) if (!added.has(p) && !within.has(p)) tree.nodes.delete(p);
      continue;
    }
    if (base.startsWith('.wh.')) {
      tree.deleteTree(posix.join(dir, base.slice(4)));
      continue;
    }
    if (m.path === '' || m.type === 'other') continue; // devices and fifos have no place in COPY
    added.add(m.path);
    for (let p = posix.dirname(m.path); p !== '.'; p = posix.dirname(p)) within.add(p);
    const meta = { mode: m.mode, uid: m.uid, gid: m.gid };
    if (m.type === 'directory') tree.nodes.set(m.path, { type: 'directory', ...meta }); // keeps what is under it
    else if (m.type === 'file') tree.set(m.path, { type: 'file', ...meta, size: m.size, ...(m.source !== undefined ? { source: m.source } : {}) });
    else tree.set(m.path, { type: m.type, ...meta, linkname: m.type === 'hardlink' ? split(m.linkname).join('/') : m.linkname });
  }
}
