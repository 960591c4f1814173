import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { streamToFileAtomic, writeFileAtomic } from '../util/atomic.js';
import { withFsErrors } from '../util/fs-errors.js';
import { digestAlgorithm, digestHex, sha256Of, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';

/** berth's cache folder: $XDG_CACHE_HOME/berth, else ~/.cache/berth. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'berth');
  return join(env.HOME || homedir(), '.cache', 'berth');
}

/**
 * A local content-addressed store of blobs and manifests fetched from registries
 * (`DIR/blobs/sha256/<hex>`, as in an OCI layout), so a base pulled once is not fetched
 * again. Files appear whole or not at all, and only after their digest was checked.
 */
export class BlobStore {
  constructor(readonly dir: string) {}

  pathOf(digest: Digest): string {
    return join(this.dir, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }

  has(digest: Digest): boolean {
    return existsSync(this.pathOf(digest));
  }

  /** The bytes of a small blob (a manifest), when present and intact. */
  async read(desc: { digest: Digest; size?: number }): Promise<Uint8Array | undefined> {
    let raw: Buffer;
    try {
      raw = await readFile(this.pathOf(desc.digest));
    } catch {
      return undefined;
    }
    if ((desc.size !== undefined && raw.length !== desc.size) || (digestAlgorithm(desc.digest) === 'sha256' && sha256Of(raw) !== desc.digest)) return undefined;
    return raw;
  }

  async write(digest: Digest, raw: Uint8Array): Promise<void> {
    const path = this.pathOf(digest);
    await withFsErrors(this.dir, async () => {
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, raw);
    });
  }

  /** Stores a blob from a stream that checks its own digest (a failed check stores nothing). */
  async fill(desc: Descriptor, verified: Readable): Promise<string> {
    const path = this.pathOf(desc.digest);
    // A cache folder that cannot be written is named as the folder (--cache-dir).
    await withFsErrors(this.dir, async () => {
      await mkdir(dirname(path), { recursive: true });
      await streamToFileAtomic(path, verified);
    });
    return path;
  }
}
