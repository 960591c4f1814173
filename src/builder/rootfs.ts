import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { describeFsError } from '../blob/fs-errors.js';
import { LayerPathChecker } from '../blob/path-safety.js';
import type { TarSource } from '../blob/tar.js';
import { UsageError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Image } from '../transport/image.js';

/**
 * A file system as berth reads it for COPY and ADD: a build context on disk, or an image's
 * layers with whiteouts applied (this module is the one place that walks layers, so it can
 * adopt a hardened tar reader in one go). Every member of a layer passes berth's path-safety
 * check; symlinks are followed lexically inside the tree, never on the host.
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

  set(path: string, node: FsNode): void {
    this.deleteTree(path, false);
    this.nodes.set(path, node);
  }

  /** Removes `path` and what is under it (or only what is under it). */
  deleteTree(path: string, includeSelf = true): void {
    if (includeSelf) this.nodes.delete(path);
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
 * A build context as a tree: files, folders and symlinks (not followed), without what
 * `ignored` excludes. Modes are made the ones git keeps (0755 for folders and files
 * executable by their owner, 0644 otherwise) and owners 0, so a checkout's umask and
 * owner never reach the image.
 */
export async function contextTree(dir: string, ignored: (path: string) => boolean, walkIgnoredDirs: boolean): Promise<FsTree> {
  const tree = new FsTree('context');
  const visit = async (rel: string, keepAll: boolean): Promise<void> => {
    const names = await readdir(join(dir, rel)).catch((err: unknown) => {
      throw new UsageError('UNREADABLE', `build context ${join(dir, rel)}: ${describeFsError(err)}`, { cause: err });
    });
    for (const name of names.sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const skip = !keepAll && ignored(path);
      const abs = join(dir, path);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        if (skip && !walkIgnoredDirs) continue;
        if (!skip) tree.nodes.set(path, { type: 'directory', mode: 0o755, uid: 0, gid: 0 });
        await visit(path, false);
        continue;
      }
      if (skip) continue;
      if (st.isSymbolicLink()) tree.nodes.set(path, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: await readlink(abs) });
      else if (st.isFile()) tree.nodes.set(path, { type: 'file', mode: st.mode & 0o100 ? 0o755 : 0o644, uid: 0, gid: 0, size: st.size, source: abs });
    }
  };
  await visit('', false);
  return tree;
}

/**
 * An image's file system: each layer read in order (gzip or plain), its members checked for
 * path safety, whiteouts (`.wh.NAME`, `.wh..wh..opq`) applied. With `extractTo`, file contents
 * are written there so they can be copied; without, only small files are kept (in memory).
 */
export async function imageTree(image: Image, extractTo?: string): Promise<FsTree> {
  const tree = new FsTree('rootfs');
  let fileNo = 0;
  for (const [i, desc] of image.manifest.layers.entries()) {
    const where = `${image.blobs.origin} layer ${i} (${desc.digest})`;
    const checker = new LayerPathChecker(where);
    const added = new Set<string>();
    await forEachMember(image, desc, where, async (header, body) => {
      checker.check({ name: header.name, type: header.type ?? 'file', linkname: header.linkname ?? null });
      const path = split(header.name).join('/');
      const base = posix.basename(path);
      const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
      if (base === '.wh..wh..opq') {
        for (const p of tree.under(dir)) if (!added.has(p)) tree.nodes.delete(p);
        return drain(body);
      }
      if (base.startsWith('.wh.')) {
        tree.deleteTree(posix.join(dir, base.slice(4)));
        return drain(body);
      }
      if (path === '') return drain(body);
      const meta = { mode: (header.mode ?? 0o644) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0 };
      added.add(path);
      switch (header.type) {
        case 'directory': {
          tree.nodes.set(path, { type: 'directory', ...meta }); // keeps what is under it
          return drain(body);
        }
        case 'symlink':
          tree.set(path, { type: 'symlink', ...meta, linkname: header.linkname ?? '' });
          return drain(body);
        case 'link':
          tree.set(path, { type: 'hardlink', ...meta, linkname: split(header.linkname ?? '').join('/') });
          return drain(body);
        case 'file':
        case 'contiguous-file': {
          const size = header.size ?? 0;
          let source: TarSource | undefined;
          if (size <= KEEP_IN_MEMORY) {
            const chunks: Buffer[] = [];
            for await (const c of body) chunks.push(c as Buffer);
            source = Buffer.concat(chunks);
          } else if (extractTo) {
            const file = join(extractTo, `f${fileNo++}`);
            await pipeline(body, createWriteStream(file));
            source = file;
          } else {
            await drain(body);
          }
          tree.set(path, { type: 'file', ...meta, size, ...(source !== undefined ? { source } : {}) });
          return;
        }
        default:
          return drain(body); // devices and fifos have no place in COPY
      }
    });
  }
  return tree;
}

type Header = { name: string; type?: string | null; linkname?: string | null; size?: number; mode?: number; uid?: number; gid?: number };

async function forEachMember(image: Image, desc: Descriptor, where: string, fn: (h: Header, body: Readable) => Promise<void>): Promise<void> {
  const raw = await image.blobs.open(desc);
  const gz = desc.mediaType.endsWith('gzip') || desc.mediaType.endsWith('.gzip');
  const extract = tar.extract();
  const reading = (async () => {
    for await (const entry of extract) await fn(entry.header as Header, entry as unknown as Readable);
  })();
  try {
    await Promise.all([gz ? pipeline(raw, createGunzip(), extract) : pipeline(raw, extract), reading]);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('BAD_TARBALL', `${where}: not a readable layer (${(err as Error).message})`, { cause: err });
  }
}

async function drain(body: Readable): Promise<void> {
  body.resume();
  await new Promise<void>((resolve, reject) => {
    body.on('end', resolve);
    body.on('error', reject);
  });
}
