/**
 * Reads an image folder for its content hash: every file, folder and symlink below it that
 * `.dockerignore` keeps, with its mode and the sha256 of its bytes. Files are read in large
 * blocks, two at a time, so hashing runs at the disk's or sha256's speed, whichever is lower.
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { HashedFile } from './content-hash.js';

/** Whether a relative path (slash-separated) is left out of the context. */
export type Excluded = (path: string, isDir: boolean) => boolean;

const BLOCK = 4 << 20;

async function hashFile(path: string, buf: Buffer): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** The folder's entries (not the folder itself), sorted by path. */
export async function folderFiles(root: string, excluded: Excluded = () => false): Promise<HashedFile[]> {
  const found: { rel: string; abs: string; kind: HashedFile['kind']; mode: number }[] = [];
  const walk = async (relDir: string): Promise<void> => {
    const names = (await readdir(join(root, relDir))).sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = join(root, rel);
      const st = await lstat(abs);
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined;
      if (!kind || excluded(rel, kind === 'dir')) {
        // A folder left out may still hold exceptions (`!dir/keep`); Docker walks into it too.
        if (kind === 'dir') await walk(rel);
        continue;
      }
      found.push({ rel, abs, kind, mode: st.mode & 0o7777 });
      if (kind === 'dir') await walk(rel);
    }
  };
  await walk('');
  const limit = pLimit(2);
  const buffers = [Buffer.allocUnsafe(BLOCK), Buffer.allocUnsafe(BLOCK)];
  return Promise.all(
    found.map((f) =>
      limit(async (): Promise<HashedFile> => {
        if (f.kind === 'dir') return { path: f.rel, kind: f.kind, mode: f.mode };
        if (f.kind === 'symlink') return { path: f.rel, kind: f.kind, mode: f.mode, content: await readlink(f.abs) };
        const buf = buffers.pop()!;
        try {
          return { path: f.rel, kind: f.kind, mode: f.mode, content: await hashFile(f.abs, buf) };
        } finally {
          buffers.push(buf);
        }
      }),
    ),
  );
}
