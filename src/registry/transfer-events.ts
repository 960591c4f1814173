import type { Digest } from '../oci/digest.js';
import type { RetryInfo } from './retry.js';

/**
 * What a push or pull reports as it goes. The library only emits events; the CLI renders
 * them (a bar per group on a TTY, plain periodic lines otherwise). `group` names the image
 * a blob belongs to, e.g. its platform.
 */
export type ProgressEvent =
  /** A group's blobs are about to be handled: how many, and their total size. */
  | { type: 'plan'; group: string; blobs: number; bytes: number }
  /** Bytes of one blob sent or received so far (absolute; it may go down when a try restarts). */
  | { type: 'bytes'; group: string; digest: Digest; size: number; done: number }
  /** One blob is settled, and how. */
  | { type: 'blob'; group: string; digest: Digest; size: number; how: BlobOutcome | 'downloaded' }
  /** A manifest was stored under a digest or tag. */
  | { type: 'manifest'; digest: Digest; reference: string }
  /** A temporary failure; the next try follows after `delayMs`. */
  | ({ type: 'retry' } & RetryInfo);

/** How a blob got into the repository: it was there, was mounted, uploaded, or not pushed (foreign). */
export type BlobOutcome = 'existing' | 'mounted' | 'uploaded' | 'skipped';

export type Reporter = (event: ProgressEvent) => void;
