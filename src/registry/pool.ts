import { mirrorsFor, type RegistryMirror } from '../config/mirrors.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import type { LookupFunction } from 'node:net';
import { createTransport, DEFAULT_TIMEOUT_MS, type HttpTransport } from './http.js';
import { DEFAULT_RETRY, type RetryInfo, type RetryPolicy } from './retry.js';
import { BlobLocations } from './locations.js';
import type { Reporter } from './transfer-events.js';

/** How berth reaches registries, for one run of a command. */
export interface RegistryOptions extends Omit<RegistryClientOptions, 'transport' | 'onRetry'> {
  /** Blobs in flight at once (default 4). */
  jobs?: number;
  /** Progress and retry events, for the CLI to render. */
  reporter?: Reporter;
  /** Where blob locations (for mounts) and cached bases are kept; none when undefined. */
  cacheDir?: string;
  /** Where content named by digest is read first (berth.yaml's registry-mirrors, $BERTH_REGISTRY_MIRRORS). */
  mirrors?: readonly RegistryMirror[];
}

export const DEFAULT_JOBS = 4;

/**
 * One client per registry host, sharing keep-alive connections, tokens (per client) and
 * blob-location memory for one run. Close it when done.
 */
export class Registries {
  readonly jobs: number;
  readonly reporter: Reporter | undefined;
  readonly cacheDir: string | undefined;
  private readonly transport: HttpTransport;
  private readonly clients = new Map<string, RegistryClient>();
  private readonly locations = new Map<string, Promise<BlobLocations>>();

  private readonly opts: RegistryOptions;

  constructor(opts: RegistryOptions = {}) {
    // A mirror given as http:// is reached over plain HTTP, as an --insecure-registry is.
    const plainMirrors = (opts.mirrors ?? []).filter((m) => m.insecure).map((m) => m.host);
    this.opts = plainMirrors.length > 0 ? { ...opts, insecure: [...(opts.insecure ?? []), ...plainMirrors] } : opts;
    this.jobs = Math.max(1, opts.jobs ?? DEFAULT_JOBS);
    this.reporter = opts.reporter;
    this.cacheDir = opts.cacheDir;
    // Connections per host: a release signs and attests at once (each `jobs` images at a time,
    // a few requests in flight per image), so twice the jobs, plus room for token and HEAD
    // requests. Go's clients (crane, cosign) put no cap here at all.
    this.transport = createTransport({ maxSockets: 2 * this.jobs + 4, ...(opts.lookup ? { lookup: opts.lookup } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
  }

  client(host: string): RegistryClient {
    let c = this.clients.get(host);
    if (!c) {
      const reporter = this.reporter;
      c = new RegistryClient(host, { ...this.opts, transport: this.transport, ...(reporter ? { onRetry: (info) => reporter({ type: 'retry', ...info }) } : {}) });
      this.clients.set(host, c);
    }
    return c;
  }

  /** The mirrors to try, in order, before `host` for content named by digest. */
  mirrorsFor(host: string): RegistryMirror[] {
    return mirrorsFor(this.opts.mirrors ?? [], host);
  }

  /**
   * How this run reaches a service that is not a registry (a signing service) through the same
   * HTTP stack: its retry policy (`--retries`), idle timeout (`--timeout`) and resolver.
   */
  httpSettings(): { retry: RetryPolicy; timeoutMs: number; lookup?: LookupFunction; onRetry?: (info: RetryInfo) => void } {
    const reporter = this.reporter;
    return {
      retry: { ...DEFAULT_RETRY, ...this.opts.retry },
      timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
      ...(reporter ? { onRetry: (info: RetryInfo) => reporter({ type: 'retry', ...info }) } : {}),
    };
  }

  /** Debug lines, when asked for. */
  log(line: string): void {
    this.opts.log?.(line);
  }

  /** Where blobs of `host` were seen, remembered across runs under the cache folder. */
  blobLocations(host: string): Promise<BlobLocations> {
    let l = this.locations.get(host);
    if (!l) {
      l = BlobLocations.load(this.cacheDir, host);
      this.locations.set(host, l);
    }
    return l;
  }

  /** Ends each client's background work (quietly), then closes the shared connections. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.transport.close();
  }
}

/** Runs `fn` with a pool that is closed afterwards. */
export async function withRegistries<T>(opts: RegistryOptions, fn: (r: Registries) => Promise<T>): Promise<T> {
  const r = new Registries(opts);
  try {
    return await fn(r);
  } finally {
    r.close();
  }
}
