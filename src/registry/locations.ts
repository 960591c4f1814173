import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { Digest } from '../oci/digest.js';

/** How many blobs and repositories per blob a host's file remembers; older ones are dropped. */
const MAX_BLOBS = 8192;
const MAX_REPOS = 4;

interface LocationsFile {
  version: 1;
  /** digest → repositories that held it, most recent first. */
  blobs: Record<string, string[]>;
}

/**
 * Which repositories of one registry are known to hold a blob, so a push to another
 * repository can mount it instead of uploading it (skopeo's blob-info cache does the same).
 * Kept in one small JSON file per host under the cache folder; losing it costs only time.
 */
export class BlobLocations {
  private readonly blobs = new Map<string, string[]>();
  private readonly added = new Map<string, string[]>();

  private constructor(private readonly file: string | undefined) {}

  /** Loads the file for `host` from `cacheDir` (or keeps locations in memory only). */
  static async load(cacheDir: string | undefined, host: string): Promise<BlobLocations> {
    const file = cacheDir === undefined ? undefined : join(cacheDir, 'registry', host.replace(/[^A-Za-z0-9._-]/g, '_'), 'blob-locations.json');
    const loc = new BlobLocations(file);
    if (file) for (const [d, repos] of Object.entries(await readLocations(file))) loc.blobs.set(d, repos);
    return loc;
  }

  /** Repositories known to hold `digest`, most recent first. */
  reposFor(digest: Digest): string[] {
    return this.blobs.get(digest) ?? [];
  }

  add(digest: Digest, repo: string): void {
    for (const m of [this.blobs, this.added]) m.set(digest, [repo, ...(m.get(digest) ?? []).filter((r) => r !== repo)].slice(0, MAX_REPOS));
  }

  /** Writes what was added, merged into the file as it is now (another berth may have written it). */
  async save(): Promise<void> {
    if (!this.file || this.added.size === 0) return;
    try {
      const merged = new Map(Object.entries(await readLocations(this.file)));
      for (const [d, repos] of this.added) {
        merged.delete(d); // re-inserted last: the most recently used survive trimming
        merged.set(d, [...new Set([...repos, ...(this.blobs.get(d) ?? [])])].slice(0, MAX_REPOS));
      }
      const entries = [...merged.entries()].slice(-MAX_BLOBS);
      await mkdir(dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, blobs: Object.fromEntries(entries) } satisfies LocationsFile));
      this.added.clear();
    } catch {
      // a cache that cannot be written only costs time next run
    }
  }
}

async function readLocations(file: string): Promise<Record<string, string[]>> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as Partial<LocationsFile>;
    return doc.version === 1 && doc.blobs && typeof doc.blobs === 'object' ? doc.blobs : {};
  } catch {
    return {};
  }
}
