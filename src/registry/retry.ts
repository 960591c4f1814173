import { isTemporary, RegistryError } from './registry-error.js';

/** How often and how patiently temporary failures are tried again. */
export interface RetryPolicy {
  /** Tries after the first, per request (each request of an operation has its own). */
  retries: number;
  /** Tries after the first for a request that timed out (no byte for the idle timeout). */
  timeoutRetries: number;
  /** The first wait; each next one doubles, up to `maxDelayMs`, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this gives up at once rather than wait. */
  maxRetryAfterMs: number;
  /**
   * An operation (a blob, a manifest) is not tried again once this long has passed since it
   * last made progress (started, or had a request succeed): the bound on all its retries.
   */
  deadlineMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, timeoutRetries: 1, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000, deadlineMs: 300_000 };

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
 * An operation's retry budget, kept per request: `step(name)` says which request of the
 * operation runs now (`POST`, `PUT`, `PATCH 0-…`) and `progress()` that one succeeded. Each
 * request has `retries` tries after its first, of which `timeoutRetries` may follow a timeout, and no
 * try starts once `deadlineMs` has passed since the operation last made progress.
 */
export class RetryBudget {
  private readonly failures = new Map<string, number>();
  /** Timeouts of each request, counted apart: a timeout after a 5xx still gets its one more try. */
  private readonly timeouts = new Map<string, number>();
  private current = '';
  private since = Date.now();

  constructor(private readonly policy: RetryPolicy) {}

  step(name: string): void {
    this.current = name;
  }

  progress(): void {
    this.since = Date.now();
  }

  /**
   * Counts a failure of the current request. Returns the wait before the next try, or throws
   * the error (with how many tries were made) when it is not temporary or the budget is spent.
   */
  fail(err: unknown, signal?: AbortSignal): { attempt: number; delayMs: number; error: RegistryError } {
    if (signal?.aborted || !isTemporary(err)) throw err;
    const e = err as RegistryError;
    const attempt = (this.failures.get(this.current) ?? 0) + 1;
    this.failures.set(this.current, attempt);
    const tries = `${attempt} ${attempt === 1 ? 'try' : 'tries'}`;
    const timedOut = (e.cause as { code?: string } | undefined)?.code === 'ETIMEDOUT';
    const timeouts = (this.timeouts.get(this.current) ?? 0) + (timedOut ? 1 : 0);
    this.timeouts.set(this.current, timeouts);
    if (attempt > this.policy.retries || timeouts > Math.min(this.policy.timeoutRetries, this.policy.retries)) throw e.withContext(`gave up after ${tries}`, false);
    const asked = e.details.retryAfterMs;
    if (asked !== undefined && asked > this.policy.maxRetryAfterMs) {
      throw e.withContext(`gave up after ${tries}: the registry asked to wait ${Math.ceil(asked / 1000)} s`, false);
    }
    const delayMs = asked ?? backoffDelay(this.policy, attempt);
    if (Date.now() + delayMs - this.since > this.policy.deadlineMs) {
      throw e.withContext(`gave up after ${tries}: no progress for ${Math.round((Date.now() - this.since) / 1000)} s`, false);
    }
    return { attempt, delayMs, error: e };
  }
}

/**
 * Runs `fn` until it succeeds, a failure is not temporary, or the budget is spent (see
 * RetryBudget). The last error is raised with how many tries were made, so a user sees that
 * berth did try.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  what: string,
  fn: (budget: RetryBudget) => Promise<T>,
  opts: { onRetry?: (info: RetryInfo) => void; signal?: AbortSignal } = {},
): Promise<T> {
  const budget = new RetryBudget(policy);
  for (;;) {
    try {
      return await fn(budget);
    } catch (err) {
      const { attempt, delayMs, error } = budget.fail(err, opts.signal);
      opts.onRetry?.({ what, attempt, delayMs, reason: error.message });
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
