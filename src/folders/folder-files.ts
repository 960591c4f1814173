/**
 * Reads an image folder for its content hash: every file, folder and symlink below it that
 * `.dockerignore` keeps, with its mode and the sha256 of its bytes. Files are read in large
 * blocks, two at a time, so hashing runs at the disk's or sha256's speed, whichever is lower.
 * A large folder is hashed on worker threads, one per core (sha256 is one core's work per
 * file: a 1 GiB folder would otherwise take a second of one core).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { walkContext, type ContextFilter } from '../builder/context-walk.js';
import type { HashedFile } from './content-hash.js';

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

/** Above this many bytes of files, hashing goes to worker threads (starting one costs ~20 ms). */
const POOL_BYTES = 64 << 20;

// A worker reads and hashes whole files, one at a time, with its own buffer.
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buf = Buffer.allocUnsafe(${BLOCK});
parentPort.on('message', ({ id, path }) => {
  try {
    const h = createHash('sha256');
    const fd = fs.openSync(path, 'r');
    try {
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(n === buf.length ? buf : buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    parentPort.postMessage({ id, hash: h.digest('hex') });
  } catch (err) {
    parentPort.postMessage({ id, error: err.message, code: err.code });
  }
});
`;

/** Hashes files on `size` worker threads; `close()` ends them. */
function hashPool(size: number): { hash: (path: string) => Promise<string>; close: () => Promise<void> } {
  const waiting = new Map<number, { resolve: (h: string) => void; reject: (e: Error) => void }>();
  const idle: Worker[] = [];
  const queue: { id: number; path: string }[] = [];
  let next = 0;
  const workers = Array.from({ length: size }, () => {
    const w = new Worker(WORKER, { eval: true });
    w.on('message', (m: { id: number; hash?: string; error?: string; code?: string }) => {
      const p = waiting.get(m.id)!;
      waiting.delete(m.id);
      if (m.hash !== undefined) p.resolve(m.hash);
      else p.reject(Object.assign(new Error(m.error), { code: m.code }));
      const job = queue.shift();
      if (job) w.postMessage(job);
      else idle.push(w);
    });
    w.on('error', (err) => {
      for (const p of waiting.values()) p.reject(err);
      waiting.clear();
    });
    idle.push(w);
    return w;
  });
  return {
    hash: (path) =>
      new Promise((resolve, reject) => {
        const job = { id: next++, path };
        waiting.set(job.id, { resolve, reject });
        const w = idle.pop();
        if (w) w.postMessage(job);
        else queue.push(job);
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * The folder's entries (not the folder itself), in the order of builder/context-walk.ts,
 * the walk the build reads its context with: the hash covers what the build can COPY.
 */
export async function folderFiles(root: string, filter: ContextFilter = {}): Promise<HashedFile[]> {
  const found = await walkContext(root, { descendExcluded: true, ...filter });
  const bytes = found.reduce((n, f) => n + (f.kind === 'file' ? f.size : 0), 0);
  const threads = Math.min(availableParallelism(), 4);
  const pool = bytes >= POOL_BYTES && threads > 1 ? hashPool(threads) : undefined;
  const limit = pLimit(pool ? threads * 2 : 2);
  // Reads need no block larger than the largest file (a folder of small files allocates little).
  const largest = found.reduce((n, f) => (f.kind === 'file' ? Math.max(n, f.size) : n), 0);
  const block = Math.min(BLOCK, Math.max(64 << 10, largest + 1));
  const buffers = pool ? [] : [Buffer.allocUnsafe(block), Buffer.allocUnsafe(block)];
  try {
    return await Promise.all(
      found.map((f) =>
        limit(async (): Promise<HashedFile> => {
          if (f.kind === 'dir') return { path: f.path, kind: f.kind, mode: f.mode };
          if (f.kind === 'symlink') return { path: f.path, kind: f.kind, mode: f.mode, content: f.linkname! };
          if (pool) return { path: f.path, kind: f.kind, mode: f.mode, content: await pool.hash(f.abs) };
          const buf = buffers.pop()!;
          try {
            return { path: f.path, kind: f.kind, mode: f.mode, content: await hashFile(f.abs, buf) };
          } finally {
            buffers.push(buf);
          }
        }),
      ),
    );
  } finally {
    await pool?.close();
  }
}
