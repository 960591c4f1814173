import { randomBytes } from 'node:crypto';
import { copyFile, constants, mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName, placeFileAtomic, writeFileAtomic } from '../../util/atomic.js';
import { buildLayer } from '../../blob/layer.js';
import type { TarEntry } from '../../blob/tar.js';
import { digestHex, isDigest, type Digest } from '../../oci/digest.js';

/**
 * berth's step cache, in its cache folder (`steps/`): one record per step key
 * (`steps/keys/<key>.json`: the layer's digest, diffID and size, or that the step changed no
 * file) and the layers themselves, once per digest (`steps/blobs/<hex>`), so a layer shared by
 * several keys (two images' identical steps) is stored once. Records and blobs appear whole
 * (temp + rename); a record whose blob is gone is a miss. Least recently used first goes
 * when the folder outgrows its limit: a hit touches its record and blob.
 */
/** A step's layer as the cache keeps it. */
export interface StepLayer {
  digest: Digest;
  diffID: Digest;
  size: number;
}

export type StepResult = { empty: true } | ({ empty?: false } & StepLayer);

export const DEFAULT_CACHE_LIMIT = 10 * 1024 ** 3;

export class StepCache {
  readonly dir: string;
  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'steps');
  }

  private record(key: string): string {
    return join(this.dir, 'keys', `${key}.json`);
  }

  blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', digestHex(digest));
  }

  /** The step's result when cached (its layer copied to `copyTo`), else undefined. */
  async get(key: string, copyTo: string): Promise<(StepResult & { path?: string }) | undefined> {
    let parsed: StepResult;
    try {
      parsed = JSON.parse(await readFile(this.record(key), 'utf8')) as StepResult;
    } catch {
      return undefined;
    }
    const now = new Date();
    await utimes(this.record(key), now, now).catch(() => {});
    if (parsed.empty) return { empty: true };
    if (!isDigest(parsed.digest) || !isDigest(parsed.diffID) || typeof parsed.size !== 'number') return undefined;
    const blob = this.blobPath(parsed.digest);
    try {
      await utimes(blob, now, now);
      await copyFile(blob, copyTo, constants.COPYFILE_FICLONE);
    } catch {
      return undefined;
    }
    if ((await stat(copyTo)).size !== parsed.size) return undefined;
    return { ...parsed, path: copyTo };
  }

  /** Builds the layer of `entries` into the cache and records it under `key`; returns it copied to `copyTo`. */
  async putEntries(key: string, entries: readonly TarEntry[], level: number, copyTo: string): Promise<StepLayer & { path: string }> {
    const tmp = join(this.dir, 'tmp', `${randomBytes(8).toString('hex')}.tar.gz`);
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    try {
      const info = await buildLayer(entries, { outPath: tmp, level });
      await this.putFile(key, info, tmp);
      await copyFile(this.blobPath(info.digest), copyTo, constants.COPYFILE_FICLONE);
      return { digest: info.digest, diffID: info.diffID, size: info.size, path: copyTo };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Records an already-made layer (`file`, moved or linked in). */
  async putFile(key: string, info: StepLayer, file: string): Promise<void> {
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    const blob = this.blobPath(info.digest);
    await placeFileAtomic(file, blob);
    await this.putRecord(key, { digest: info.digest, diffID: info.diffID, size: info.size });
  }

  async putRecord(key: string, result: StepResult): Promise<void> {
    await mkdir(join(this.dir, 'keys'), { recursive: true });
    await writeFileAtomic(this.record(key), JSON.stringify(result));
  }
}

export interface PruneResult {
  removed: number;
  freed: number;
  kept: number;
  size: number;
}

/**
 * Bounds berth's cache folder's step cache and RUN cache mounts to `limit` bytes: step
 * records and cache mounts go least recently used first; then blobs no record names.
 */
export async function pruneSteps(cacheDir: string, limit: number): Promise<PruneResult> {
  const steps = join(cacheDir, 'steps');
  const keysDir = join(steps, 'keys');
  const blobsDir = join(steps, 'blobs');
  const mountsDir = join(cacheDir, 'run-cache');
  type Item = { kind: 'record' | 'mount'; path: string; used: number; size: number; digest?: string };
  const items: Item[] = [];
  for (const name of await readdir(keysDir).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    const path = join(keysDir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    const rec = JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) as Partial<StepLayer & { empty: boolean }>;
    items.push({ kind: 'record', path, used: st.mtimeMs, size: st.size, ...(rec.digest ? { digest: digestHex(rec.digest as Digest) } : {}) });
  }
  for (const name of await readdir(mountsDir).catch(() => [] as string[])) {
    const path = join(mountsDir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    items.push({ kind: 'mount', path, used: st.mtimeMs, size: await duSize(path) });
  }
  const blobSizes = new Map<string, number>();
  for (const name of await readdir(blobsDir).catch(() => [] as string[])) {
    const st = await stat(join(blobsDir, name)).catch(() => undefined);
    if (st?.isFile()) blobSizes.set(name, st.size);
  }
  // A blob counts once, against the most recently used record naming it.
  items.sort((a, b) => b.used - a.used);
  const counted = new Set<string>();
  let total = 0;
  const keep: Item[] = [];
  const drop: Item[] = [];
  for (const it of items) {
    let size = it.size;
    if (it.digest && !counted.has(it.digest)) size += blobSizes.get(it.digest) ?? 0;
    if (total + size > limit) {
      drop.push(it);
      continue;
    }
    if (it.digest) counted.add(it.digest);
    total += size;
    keep.push(it);
  }
  let freed = 0;
  for (const it of drop) {
    await rm(it.path, { recursive: true, force: true });
    freed += it.size;
  }
  const named = new Set(keep.flatMap((k) => (k.digest ? [k.digest] : [])));
  for (const [name, size] of blobSizes) {
    if (named.has(name) || name.endsWith('.tmp') || isTempName(name)) continue;
    await rm(join(blobsDir, name), { force: true });
    freed += size;
  }
  return { removed: drop.length, freed, kept: keep.length, size: total };
}

async function duSize(dir: string): Promise<number> {
  let n = 0;
  const visit = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else n += (await stat(p).catch(() => ({ size: 0 }))).size;
    }
  };
  await visit(dir);
  return n;
}
