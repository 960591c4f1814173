import { humanBytes } from '../util/human-bytes.js';
import pLimit from 'p-limit';
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './registry-error.js';
import type { BlobOutcome, Reporter } from './transfer-events.js';

/** One blob to put in a repository: its descriptor and how to read it from the start. */
export interface BlobToPush {
  desc: Descriptor;
  open: () => Promise<Readable>;
  /** Names the image it belongs to in progress events (e.g. `linux/arm64`). */
  group?: string;
}

export interface PushBlobsOptions {
  /** Blobs in flight at once. */
  jobs: number;
  /** Other repositories of the same registry that may hold a blob (tried as mount sources). */
  mountFrom?: (digest: Digest) => readonly string[];
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** Foreign / non-distributable layers are never pushed (Docker's and crane's rule). */
function isForeign(desc: Descriptor): boolean {
  return desc.mediaType.includes('.foreign.') || desc.mediaType.includes('.nondistributable.');
}

/**
 * Puts blobs into `repo`, `jobs` at a time, each once: HEAD first and skip what is there;
 * else mount from another repository known to hold it; else upload. The first failure stops
 * the rest and is raised naming the blob. Returns how each blob got there.
 */
export async function pushBlobs(client: RegistryClient, repo: string, blobs: readonly BlobToPush[], opts: PushBlobsOptions): Promise<Map<Digest, BlobOutcome>> {
  const outcomes = new Map<Digest, BlobOutcome>();
  const unique = new Map<Digest, BlobToPush>();
  for (const b of blobs) if (!unique.has(b.desc.digest)) unique.set(b.desc.digest, b);
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const limit = pLimit(Math.max(1, opts.jobs));
  let firstError: unknown;

  const pushOne = async (b: BlobToPush): Promise<void> => {
    const { desc } = b;
    const group = b.group ?? repo;
    const settle = (how: BlobOutcome) => {
      outcomes.set(desc.digest, how);
      opts.reporter?.({ type: 'blob', group, digest: desc.digest, size: desc.size, how });
    };
    if (isForeign(desc)) return settle('skipped');
    if (await client.hasBlob(repo, desc, signal)) return settle('existing');
    let location: string | undefined;
    for (const from of (opts.mountFrom?.(desc.digest) ?? []).filter((r) => r !== repo).slice(0, 2)) {
      const m = await client.mountBlob(repo, desc, from, signal);
      if (m.mounted) return settle('mounted');
      location = m.location;
      break; // the registry opened an upload instead: use it rather than open more
    }
    await client.uploadBlob(repo, desc, b.open, {
      signal,
      onProgress: (done) => opts.reporter?.({ type: 'bytes', group, digest: desc.digest, size: desc.size, done }),
      ...(location ? { location } : {}),
    });
    settle('uploaded');
  };

  await Promise.all(
    [...unique.values()].map((b) =>
      limit(async () => {
        if (signal.aborted) return;
        try {
          await pushOne(b);
        } catch (err) {
          if (firstError === undefined) {
            firstError = describeFailure(err, b.desc, `${client.host}/${repo}`);
            abort.abort(firstError);
          }
        }
      }),
    ),
  );
  if (firstError !== undefined) throw firstError;
  if (opts.signal?.aborted) throw opts.signal.reason;
  return outcomes;
}

/** Says which blob failed; an auth failure already names the repository and stays as it is. */
function describeFailure(err: unknown, desc: Descriptor, name: string): unknown {
  if (!(err instanceof RegistryError) || err.code === 'UNAUTHORIZED') return err;
  return err.withContext(`pushing blob ${desc.digest} (${humanBytes(desc.size)}) to ${name}`);
}
