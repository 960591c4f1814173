import { isTemporary, RegistryError } from './errors.js';

/** How often and how patiently temporary failures are tried again. */
export interface RetryPolicy {
  /** Tries after the first; 0 tries once. */
  retries: number;
  /** The first wait; each next one doubles, up to `maxDelayMs`, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this gives up at once rather than wait. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

export interface RetryInfo {
  /** What is being tried, e.g. "blob sha256:… to host/repo". */
  what: string;
  /** The try that failed, from 1. */
  attempt: number;
  delayMs: number;
  reason: string;
}

/** The wait before try `attempt + 1`: exponential with "equal jitter" (half fixed, half random). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, a failure is not temporary, or the tries run out. The last
 * error is raised with how many tries were made, so a user sees that berth did try.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  what: string,
  fn: (attempt: number) => Promise<T>,
  opts: { onRetry?: (info: RetryInfo) => void; signal?: AbortSignal } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted || !isTemporary(err)) throw err;
      const e = err as RegistryError;
      const tries = `${attempt} ${attempt === 1 ? 'try' : 'tries'}`;
      if (attempt > policy.retries) throw e.withContext(`gave up after ${tries}`, false);
      const asked = e.details.retryAfterMs;
      if (asked !== undefined && asked > policy.maxRetryAfterMs) {
        throw e.withContext(`gave up after ${tries}: the registry asked to wait ${Math.ceil(asked / 1000)} s`, false);
      }
      const delayMs = asked ?? backoffDelay(policy, attempt);
      opts.onRetry?.({ what, attempt, delayMs, reason: e.message });
      await sleep(delayMs, opts.signal);
    }
  }
}

/** `Retry-After`: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
