import { createReadStream } from 'node:fs';
import { chmod, copyFile, constants, lchown, link, lstat, mkdir, readdir, readlink, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { TarEntry } from '../../blob/tar.js';
import { OperationalError } from '../../errors.js';
import type { FsNode, FsTree, Member } from '../rootfs.js';
import { readMembers } from '../rootfs.js';
import { readAll } from '../../util/streams.js';

/**
 * A container's root file system as a folder on disk, which berth fills from layers and
 * diffs after a RUN: layers are read only through berth's safe layer walk, and written with
 * no path that passes through a symlink (a layer's `a -> /etc` never sends `a/x` to the host).
 */

/** Writes one layer (plain or gzip tar, whiteouts applied) into `dir`. `spool`: a scratch folder for large files. */
export async function extractLayer(source: AsyncIterable<Uint8Array>, dir: string, where: string, spool: string): Promise<Member[]> {
  await mkdir(spool, { recursive: true });
  const members = await readMembers(source, where, spool, 'x');
  // What this layer wrote so far, and the folders on the way to it: an opaque whiteout hides
  // only lower layers' paths (OCI image spec), wherever in the archive it comes.
  const added = new Set<string>();
  const within = new Set<string>();
  for (const m of members) {
    const base = posix.basename(m.path);
    const parent = posix.dirname(m.path) === '.' ? '' : posix.dirname(m.path);
    if (base === '.wh..wh..opq') {
      await hideLower(await safeDir(dir, parent, where), parent, added, within);
      continue;
    }
    if (base.startsWith('.wh.')) {
      const at = await safeDir(dir, parent, where);
      await rm(join(at, base.slice(4)), { recursive: true, force: true });
      continue;
    }
    if (m.path === '' || m.type === 'other') continue;
    added.add(m.path);
    for (let p = posix.dirname(m.path); p !== '.'; p = posix.dirname(p)) within.add(p);
    await writeNode(dir, m.path, m as Writable, where);
  }
  return members;
}

/** Removes what is under the folder `rel` (at `at`) that this layer did not write, keeping the folders that lead to what it did. */
async function hideLower(at: string, rel: string, added: ReadonlySet<string>, within: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(at).catch(() => [] as string[])) {
    const path = rel ? `${rel}/${name}` : name;
    const abs = join(at, name);
    if (!added.has(path) && !within.has(path)) await rm(abs, { recursive: true, force: true });
    else if ((await lstat(abs)).isDirectory()) await hideLower(abs, path, added, within);
  }
}

/** Writes `tree` (a context or a stage's files) into `dir`. */
export async function writeTree(tree: FsTree, dir: string, under: string, where: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const prefix = under === '' ? '' : `${under}/`;
  for (const path of tree.under(under)) {
    const node = tree.get(path)!;
    const rel = path.slice(prefix.length);
    await writeNode(dir, rel, { ...node, size: node.size ?? 0, linkname: node.type === 'hardlink' ? node.linkname!.slice(prefix.length) : node.linkname ?? '' }, where);
  }
}

type Writable = Pick<FsNode, 'type' | 'mode' | 'uid' | 'gid' | 'source'> & { linkname: string; size: number };

async function writeNode(dir: string, path: string, n: Writable, where: string): Promise<void> {
  const parent = await safeDir(dir, posix.dirname(path) === '.' ? '' : posix.dirname(path), where);
  const abs = join(parent, posix.basename(path));
  const old = await lstat(abs).catch(() => undefined);
  if (n.type === 'directory') {
    if (old && !old.isDirectory()) await rm(abs, { force: true });
    if (!old || !old.isDirectory()) await mkdir(abs);
  } else {
    if (old) await rm(abs, { recursive: true, force: true });
    if (n.type === 'symlink') await symlink(n.linkname, abs);
    else if (n.type === 'hardlink') {
      const target = join(await safeDir(dir, posix.dirname(n.linkname) === '.' ? '' : posix.dirname(n.linkname), where), posix.basename(n.linkname));
      await link(target, abs);
      return;
    } else if (typeof n.source === 'string') await copyFile(n.source, abs, constants.COPYFILE_FICLONE);
    else if (n.source instanceof Uint8Array) await writeFile(abs, n.source);
    else if (typeof n.source === 'function') {
      await writeFile(abs, await readAll(await n.source()));
    } else await writeFile(abs, '');
  }
  await lchown(abs, n.uid, n.gid);
  if (n.type !== 'symlink') await chmod(abs, n.mode & 0o7777);
}

/** `dir/rel`, every part of it a real folder (made when missing); a symlink on the way is refused. */
async function safeDir(dir: string, rel: string, where: string): Promise<string> {
  let at = dir;
  for (const part of rel.split('/').filter(Boolean)) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (!st) await mkdir(at, { mode: 0o755 });
    else if (!st.isDirectory()) throw new OperationalError('ENGINE_FAILED', `${where}: ${rel} passes through ${st.isSymbolicLink() ? 'a symlink' : 'a file'} (${posix.relative('/', `/${at.slice(dir.length)}`)}); berth writes no layer entry through one`);
  }
  return at;
}

/** What a path is, as far as a diff cares. */
export interface Seen {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: bigint;
  ctime: bigint;
  ino: bigint;
  nlink: number;
  linkname?: string;
}

/** Every path under `dir` (not `dir` itself), lstat'ed. */
export async function snapshot(dir: string): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(rel ? join(dir, rel) : dir)).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, path), { bigint: true });
      const type = st.isDirectory() ? 'directory' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
      const seen: Seen = { type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtime: st.mtimeNs, ctime: st.ctimeNs, ino: st.ino, nlink: Number(st.nlink) };
      if (type === 'symlink') seen.linkname = await readlink(join(dir, path));
      out.set(path, seen);
      if (type === 'directory') await visit(path);
    }
  };
  await visit('');
  return out;
}

const differs = (a: Seen, b: Seen) =>
  a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.size !== b.size || a.mtime !== b.mtime || a.ctime !== b.ctime || a.ino !== b.ino || a.linkname !== b.linkname;

/**
 * The layer a RUN made: what changed between `before` and `after` in `dir`, as sorted-ready
 * entries (contents read from `dir`), deletions as whiteouts, parents of every entry included
 * (as containerd's differ writes them), mtimes clamped to `epoch`, hard links within the
 * layer pointing at the first path of their group. `stubs` (mount points the engine or a
 * --mount made) are dropped when new and empty, here and on disk. Devices and fifos are left out.
 */
export async function diffLayer(dir: string, before: Map<string, Seen>, after: Map<string, Seen>, epoch: number, stubs: readonly string[]): Promise<TarEntry[]> {
  const changed = new Set<string>();
  for (const [p, s] of after) {
    if (s.type === 'other') continue;
    const b = before.get(p);
    if (!b || differs(b, s)) changed.add(p);
  }
  // New, empty mount points, deepest first: dropped from the layer and the folder.
  for (const p of [...stubs].sort((a, b) => b.split('/').length - a.split('/').length)) {
    const s = after.get(p);
    if (!s || before.has(p)) continue;
    const empty = s.type === 'file' ? s.size === 0 : s.type === 'directory' && ![...after.keys()].some((k) => k.startsWith(`${p}/`));
    if (!empty) continue;
    changed.delete(p);
    after.delete(p);
    await (s.type === 'directory' ? rmdir(join(dir, p)) : rm(join(dir, p), { force: true })).catch(() => {});
  }
  const deleted: string[] = [];
  for (const p of before.keys()) {
    if (after.has(p)) continue;
    const parent = posix.dirname(p) === '.' ? '' : posix.dirname(p);
    if (parent !== '' && after.get(parent)?.type !== 'directory') continue; // under a deleted or replaced folder
    if (parent !== '' && !before.has(parent)) continue;
    deleted.push(p);
  }
  const clamp = (ns: bigint) => Math.max(0, Math.min(Number(ns / 1_000_000_000n), epoch));
  const entries = new Map<string, TarEntry>();
  const addParents = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const q = parts.slice(0, i).join('/');
      if (entries.has(q)) continue;
      const s = after.get(q);
      if (s?.type === 'directory') entries.set(q, { path: q, type: 'directory', mode: s.mode, uid: s.uid, gid: s.gid, mtime: clamp(s.mtime) });
    }
  };
  const firstOfIno = new Map<bigint, string>();
  for (const p of [...changed].sort(byBytes)) {
    const s = after.get(p)!;
    const common = { path: p, mode: s.mode, uid: s.uid, gid: s.gid, mtime: clamp(s.mtime) };
    addParents(p);
    if (s.type === 'directory') entries.set(p, { ...common, type: 'directory' });
    else if (s.type === 'symlink') entries.set(p, { ...common, type: 'symlink', linkname: s.linkname! });
    else {
      const first = s.nlink > 1 ? firstOfIno.get(s.ino) : undefined;
      if (first) entries.set(p, { ...common, type: 'hardlink', linkname: first });
      else {
        if (s.nlink > 1) firstOfIno.set(s.ino, p);
        entries.set(p, { ...common, type: 'file', size: s.size, ...(s.size > 0 ? { source: join(dir, p) } : {}) });
      }
    }
  }
  for (const p of deleted) {
    const parent = posix.dirname(p) === '.' ? '' : posix.dirname(p);
    addParents(p);
    const wh = parent ? `${parent}/.wh.${posix.basename(p)}` : `.wh.${posix.basename(p)}`;
    entries.set(wh, { path: wh, type: 'file', mode: 0, uid: 0, gid: 0, mtime: clamp(BigInt(epoch) * 1_000_000_000n), size: 0 });
  }
  return [...entries.values()];
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A layer file's members (gzip or plain), large contents spooled into `spool`. */
export async function layerMembers(path: string, where: string, spool: string): Promise<Member[]> {
  await mkdir(spool, { recursive: true });
  return readMembers(createReadStream(path), where, spool, 'r');
}
