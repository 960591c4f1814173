import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { pipeline, Readable, type Transform } from 'node:stream';
import { OperationalError } from '../errors.js';
import { verifyingStream } from '../blob/verify.js';
import { digestAlgorithm, isDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import { sniffMediaType } from '../oci/manifest.js';
import { coversScopes, parseChallenge, renewalTime, repoScope, scopeKey, type CachedToken, type Challenge } from './auth.js';
import { ByteTaker } from './bytes.js';
import { findCredential, type Credential } from './credentials.js';
import { networkError, parseErrorBody, redactUrl, RegistryError } from './errors.js';
import { createTransport, drain, header, readBody, send, type HttpBody, type HttpResponse, type HttpTransport } from './http.js';
import { DEFAULT_RETRY, parseRetryAfter, sleep, RetryBudget, withRetries, type RetryInfo, type RetryPolicy } from './retry.js';

/** Every manifest type berth reads, in the `Accept` of manifest requests. */
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

export interface RegistryClientOptions {
  /** Where credentials and HOME come from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Hosts spoken to over plain HTTP besides loopback ones (see plainByName). */
  insecure?: readonly string[];
  retry?: Partial<RetryPolicy>;
  /** Finds the login for a host; default: findCredential (docker/podman auth files, helpers). */
  credential?: (host: string) => Promise<Credential | undefined>;
  /** Debug lines (method, redacted URL, status); never headers or bodies. */
  log?: (line: string) => void;
  /** Told before each retry. */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Resolves host names (tests resolve nothing but 127.0.0.1); default: the system's. It also
   * decides whether a `*.localhost` name is loopback, and so spoken to over plain HTTP.
   */
  lookup?: LookupFunction;
  /** The idle timeout of a request, when the client makes its own transport (default 30 s). */
  timeoutMs?: number;
  /** Shared keep-alive connections; a pool passes one to all its clients. */
  transport?: HttpTransport;
  /** Blobs up to this size go up in one PUT; larger ones in PATCH chunks. */
  monolithicMax?: number;
  /** The size of one PATCH. */
  chunkSize?: number;
}

export const DEFAULT_MONOLITHIC_MAX = 32 << 20;
export const DEFAULT_CHUNK_SIZE = 64 << 20;

/** A manifest (or index) as a registry stores it: the exact bytes and the digest of them. */
export interface RemoteManifest {
  mediaType: string;
  digest: Digest;
  raw: Uint8Array;
}

interface Op {
  method: string;
  /** Path under /v2/ (`REPO/blobs/DIGEST`) or a full URL (upload locations, redirects). */
  path: string | URL;
  repo: string;
  scopes: string[];
  /** What is being done, for messages: "manifest v1", "blob sha256:…". */
  what: string;
  headers?: Record<string, string>;
  body?: HttpBody;
  /** Statuses that are answers, not failures. */
  expect: number[];
  signal?: AbortSignal;
}

/** The name part of `host[:port]` (`[::1]:5000` → `::1`). */
function hostName(host: string): string {
  const name = host.replace(/:\d+$/, '');
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}

/** A loopback address: 127.0.0.0/8 or ::1 (and ::ffff:127.x). */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '');
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(address) === 6 && /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(address);
}

/**
 * Spoken to over plain HTTP by its name alone: `localhost` and loopback addresses. A
 * `*.localhost` name is not: it must resolve to loopback addresses only (see resolvesToLoopback).
 */
function plainByName(host: string): boolean {
  const name = hostName(host);
  return name === 'localhost' || isLoopbackAddress(name);
}

/** Whether every address `name` resolves to is loopback (false when it does not resolve). */
function resolvesToLoopback(name: string, lookup: LookupFunction): Promise<boolean> {
  return new Promise((resolve) => {
    lookup(name, { all: true }, (err: NodeJS.ErrnoException | null, addresses: string | LookupAddress[]) => {
      const list = typeof addresses === 'string' ? [addresses] : (addresses ?? []).map((a) => a.address);
      resolve(!err && list.length > 0 && list.every(isLoopbackAddress));
    });
  });
}

/** What distribution 2.8 answers a manifest PUT while a blob or child it names is still being committed. */
const SETTLING_CODES = new Set(['MANIFEST_BLOB_UNKNOWN', 'BLOB_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_UNKNOWN']);

const STATUS_TEXT: Record<number, string> = { 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/**
 * A client for one registry host speaking the OCI distribution API: auth (anonymous, Basic,
 * Bearer tokens per scope, renewed before expiry and on a 401), blobs (HEAD, mount,
 * monolithic and chunked uploads with resumption, resumable verified downloads) and
 * manifests (HEAD, GET with digest checks, PUT). Every operation retries temporary
 * failures within the retry policy. It never prints; `log` gets redacted request lines.
 */
export class RegistryClient {
  readonly host: string;
  /** `http(s)://host`: a `*.localhost` host is https until it is found to resolve to loopback. */
  base: string;
  private readonly transport: HttpTransport;
  private readonly ownsTransport: boolean;
  private readonly policy: RetryPolicy;
  private readonly opts: RegistryClientOptions;
  private readonly monolithicMax: number;
  private readonly chunkSize: number;
  private challengeP: Promise<Challenge> | undefined;
  private credentialP: Promise<Credential | undefined> | undefined;
  private readonly tokens = new Map<string, CachedToken & { scopes: string[] }>();
  private readonly pushRepos = new Set<string>();
  private readonly tokenFetches = new Map<string, Promise<string>>();
  /** Aborted by close(): ends the background API check quietly. */
  private readonly closing = new AbortController();
  private schemeP: Promise<void> | undefined;

  constructor(host: string, opts: RegistryClientOptions = {}) {
    this.host = host;
    this.opts = opts;
    const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
    const plain = plainByName(host) || (opts.insecure ?? []).includes(host);
    this.base = `${plain ? 'http' : 'https'}://${apiHost}`;
    if (!plain && hostName(host).endsWith('.localhost')) {
      this.schemeP = resolvesToLoopback(hostName(host), opts.lookup ?? (dnsLookup as unknown as LookupFunction)).then((loopback) => {
        if (loopback) this.base = `http://${apiHost}`;
      });
    }
    this.ownsTransport = !opts.transport;
    this.transport = opts.transport ?? createTransport({ ...(opts.lookup ? { lookup: opts.lookup } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.monolithicMax = opts.monolithicMax ?? DEFAULT_MONOLITHIC_MAX;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /**
   * Starts the API check (GET /v2/) in the background, so it overlaps with other work; its
   * failure surfaces on the first real request.
   */
  prepare(): void {
    this.challenge().catch(() => {});
  }

  /**
   * Says that `repo` is being pushed to: its reads (HEADs before uploads) then ask for the
   * same `pull,push` scope as the writes, so one token serves the whole push.
   */
  forPush(repo: string): void {
    this.pushRepos.add(repo);
  }

  private readScope(repo: string): string {
    return repoScope(repo, this.pushRepos.has(repo) ? 'pull,push' : 'pull');
  }

  /** Ends what runs in the background, and closes the connections this client opened (not a shared transport's). */
  close(): void {
    this.closing.abort();
    if (this.ownsTransport) this.transport.close();
  }

  /**
   * Checks the credential as `docker login` does: GET /v2/ with it (Basic, or a token asked
   * for with no scope). Resolves to how the registry authenticates ('none' needs no login);
   * a refusal is an UNAUTHORIZED RegistryError that names where the credential came from.
   */
  async checkLogin(signal?: AbortSignal): Promise<Challenge['scheme']> {
    const ch = await this.challenge();
    if (ch.scheme === 'none') return 'none';
    const authorization = await this.authorization(ch, [], '', signal);
    const url = new URL(`${this.base}/v2/`);
    const res = await send(this.transport, { method: 'GET', url, headers: authorization ? { authorization } : {}, ...(signal ? { signal } : {}) });
    this.opts.log?.(`GET ${redactUrl(url)} -> ${res.status}`);
    await drain(res);
    if (res.status >= 200 && res.status < 300) return ch.scheme;
    if (res.status === 401 || res.status === 403) throw this.unauthorized(res, 'GET', '', await this.credential(), 'the registry');
    throw await this.errorFrom(res, 'GET', this.host, 'the login check (/v2/)');
  }

  // ---------------------------------------------------------------- blobs

  /** Whether the repository has the blob (HEAD). A size that disagrees is an error. */
  async hasBlob(repo: string, desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    return this.retry(`blob ${desc.digest}`, signal, async () => {
      const res = await this.request({ method: 'HEAD', path: `${repo}/blobs/${desc.digest}`, repo, scopes: [this.readScope(repo)], what: `blob ${desc.digest}`, expect: [200, 404], ...(signal ? { signal } : {}) });
      await drain(res);
      if (res.status === 404) return false;
      const len = header(res, 'content-length');
      if (len !== undefined && Number(len) !== desc.size) {
        throw this.fail(res, 'HEAD', `${this.host}/${repo} has blob ${desc.digest} with ${len} bytes, its descriptor says ${desc.size}`, false);
      }
      return true;
    });
  }

  /**
   * Asks the registry to mount a blob from another repository of the same registry. When it
   * will not (the blob is not there, or mounting is off) it opens an upload instead, whose
   * location is returned for uploadBlob.
   */
  async mountBlob(repo: string, desc: Descriptor, from: string, signal?: AbortSignal): Promise<{ mounted: true } | { mounted: false; location: string }> {
    return this.retry(`blob ${desc.digest}`, signal, async () => {
      const path = `${repo}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
      const res = await this.request({
        method: 'POST',
        path,
        repo,
        scopes: [repoScope(repo, 'pull,push'), repoScope(from, 'pull')],
        what: `mount of blob ${desc.digest} from ${from}`,
        body: new Uint8Array(0),
        expect: [201, 202],
        ...(signal ? { signal } : {}),
      });
      await drain(res);
      if (res.status === 201) {
        this.checkDigestHeader(res, 'POST', desc.digest, `mount of blob ${desc.digest}`);
        return { mounted: true };
      }
      return { mounted: false, location: this.location(res, 'POST').toString() };
    });
  }

  /**
   * Uploads a blob: one PUT up to the monolithic size, else PATCH chunks then a PUT. `open`
   * gives the blob's bytes from the start (a verifying stream); it is called again for each
   * try. After a failure the upload resumes where the registry says it stands, when it can
   * say; otherwise a fresh upload starts. The registry's digest is checked at the end.
   */
  async uploadBlob(
    repo: string,
    desc: Descriptor,
    open: () => Promise<Readable>,
    opts: { signal?: AbortSignal; onProgress?: (sent: number) => void; location?: string } = {},
  ): Promise<void> {
    const what = `blob ${desc.digest}`;
    let location: URL | undefined = opts.location ? new URL(opts.location) : undefined;
    let fresh = location !== undefined;
    const scopes = [repoScope(repo, 'pull,push')];
    await this.retry(what, opts.signal, async (budget) => {
      let offset = 0;
      if (location && !fresh) {
        budget.step('upload status');
        const status = await this.uploadStatus(repo, location, opts.signal);
        budget.progress();
        location = status?.location;
        offset = status?.offset ?? 0;
        if (location && offset > 0 && desc.size <= this.monolithicMax) {
          // a monolithic PUT cannot continue a partial upload: start afresh
          location = undefined;
          offset = 0;
        }
      }
      fresh = false;
      if (!location) {
        budget.step('POST');
        location = await this.startUpload(repo, opts.signal);
        budget.progress();
      }
      const source = await open();
      const taker = new ByteTaker(source, offset);
      let sent = offset;
      const count = (n: number) => {
        sent += n;
        opts.onProgress?.(sent);
      };
      opts.onProgress?.(sent);
      try {
        if (desc.size <= this.monolithicMax && offset === 0) {
          const url = new URL(location);
          url.searchParams.set('digest', desc.digest);
          const body = { length: desc.size, stream: taker.take(desc.size, count) };
          budget.step('PUT');
          const res = await this.request({ method: 'PUT', path: url, repo, scopes, what, headers: { 'content-type': 'application/octet-stream' }, body, expect: [201], ...(opts.signal ? { signal: opts.signal } : {}) });
          await drain(res);
          await taker.finish();
          this.checkDigestHeader(res, 'PUT', desc.digest, what);
          return;
        }
        while (offset < desc.size) {
          const n = Math.min(this.chunkSize, desc.size - offset);
          const body = { length: n, stream: taker.take(n, count) };
          const headers = { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + n - 1}` };
          budget.step(`PATCH ${offset}`);
          const res = await this.request({ method: 'PATCH', path: location, repo, scopes, what, headers, body, expect: [202], ...(opts.signal ? { signal: opts.signal } : {}) });
          await drain(res);
          location = this.location(res, 'PATCH');
          const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res, 'range') ?? '');
          const end = range ? Number(range[1]) + 1 : offset + n;
          if (end !== offset + n) {
            // The registry holds other than what was sent: ask it where it stands and resume.
            throw this.fail(res, 'PATCH', `${this.host}/${repo}: upload of ${what} holds ${end} bytes after sending ${offset + n}`, true);
          }
          offset = end;
          budget.progress();
        }
        await taker.finish();
        const url = new URL(location);
        url.searchParams.set('digest', desc.digest);
        budget.step('PUT');
        const res = await this.request({ method: 'PUT', path: url, repo, scopes, what, body: new Uint8Array(0), expect: [201], ...(opts.signal ? { signal: opts.signal } : {}) });
        await drain(res);
        this.checkDigestHeader(res, 'PUT', desc.digest, what);
      } finally {
        source.destroy();
      }
    });
  }

  private async startUpload(repo: string, signal?: AbortSignal): Promise<URL> {
    const res = await this.request({ method: 'POST', path: `${repo}/blobs/uploads/`, repo, scopes: [repoScope(repo, 'pull,push')], what: 'a blob upload', body: new Uint8Array(0), expect: [202], ...(signal ? { signal } : {}) });
    await drain(res);
    return this.location(res, 'POST');
  }

  /** Where an upload stands (GET on its location), or undefined when the session is gone. */
  private async uploadStatus(repo: string, location: URL, signal?: AbortSignal): Promise<{ location: URL; offset: number } | undefined> {
    const res = await this.request({ method: 'GET', path: location, repo, scopes: [repoScope(repo, 'pull,push')], what: 'upload status', expect: [204, 404, 400, 416], ...(signal ? { signal } : {}) });
    await drain(res);
    if (res.status !== 204) return undefined;
    const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res, 'range') ?? '');
    return { location: header(res, 'location') ? this.location(res, 'GET') : location, offset: range ? Number(range[1]) + 1 : 0 };
  }

  /**
   * The blob's bytes as a stream checked against its digest and size. A connection that
   * breaks part-way is resumed with a Range request (or re-read from the start when the
   * server ignores Range), within the retry policy.
   */
  async fetchBlob(repo: string, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const what = `blob ${desc.digest}`;
    const first = await this.retry(what, signal, () => this.blobRequest(repo, desc, 0, signal));
    const client = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      let received = 0;
      let res: HttpResponse | undefined = first;
      // Each resumed GET (from a new offset) has its own tries; bytes received are progress.
      const budget = new RetryBudget(client.policy);
      for (;;) {
        budget.step(`GET from ${received}`);
        try {
          if (!res) res = await client.blobRequest(repo, desc, received, signal);
          let skip = received > 0 && res.status === 200 ? received : 0;
          for await (const c of res.body) {
            let buf = c as Buffer;
            if (skip > 0) {
              const drop = Math.min(skip, buf.length);
              skip -= drop;
              buf = buf.subarray(drop);
              if (buf.length === 0) continue;
            }
            received += buf.length;
            budget.progress();
            yield buf;
          }
          if (received >= desc.size) return;
          throw new RegistryError('NETWORK', `GET ${client.base}/v2/${repo}/blobs/${desc.digest}: the body ended after ${received} of ${desc.size} bytes`, {
            method: 'GET',
            url: `${client.base}/v2/${repo}/blobs/${desc.digest}`,
            registryCodes: [],
            temporary: true,
          });
        } catch (err) {
          const e = err instanceof RegistryError ? err : networkError('GET', new URL(`${client.base}/v2/${repo}/blobs/${desc.digest}`), err);
          const { attempt, delayMs } = budget.fail(e, signal);
          client.opts.onRetry?.({ what, attempt, delayMs, reason: e.message });
          await sleep(delayMs, signal);
          res = undefined;
        }
      }
    }
    const out: Transform = verifyingStream(desc, `${this.host}/${repo}`, (m) => new OperationalError('DIGEST_MISMATCH', m));
    pipeline(Readable.from(bytes()), out, () => {});
    return out;
  }

  private async blobRequest(repo: string, desc: Descriptor, from: number, signal?: AbortSignal): Promise<HttpResponse> {
    return this.request({
      method: 'GET',
      path: `${repo}/blobs/${desc.digest}`,
      repo,
      scopes: [this.readScope(repo)],
      what: `blob ${desc.digest}`,
      expect: [200, 206],
      ...(from > 0 ? { headers: { range: `bytes=${from}-` } } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  // ------------------------------------------------------------ manifests

  /** The descriptor a tag or digest resolves to (HEAD), or undefined when there is none. */
  async headManifest(repo: string, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    return this.retry(`manifest ${reference}`, signal, async () => {
      const res = await this.request({ method: 'HEAD', path: `${repo}/manifests/${reference}`, repo, scopes: [this.readScope(repo)], what: `manifest ${reference}`, headers: { accept: MANIFEST_ACCEPT }, expect: [200, 404], ...(signal ? { signal } : {}) });
      await drain(res);
      if (res.status === 404) return undefined;
      const digest = header(res, 'docker-content-digest');
      const size = Number(header(res, 'content-length'));
      const mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
      if (!digest || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType) {
        // Without a digest header a HEAD cannot say what the tag is: read it.
        const m = await this.getManifest(repo, reference, signal);
        return { mediaType: m.mediaType, digest: m.digest, size: m.raw.length };
      }
      if (isDigest(reference) && digest !== reference) throw this.fail(res, 'HEAD', `${this.host}/${repo}: manifest ${reference} is answered with digest ${digest}`, false, 'DIGEST_MISMATCH');
      return { mediaType, digest, size };
    });
  }

  /**
   * Reads a manifest or index by tag or digest, with the full Accept list. Its digest is
   * computed from the bytes and must equal the digest asked for, and the registry's
   * Docker-Content-Digest when it sends one.
   */
  async getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<RemoteManifest> {
    return this.retry(`manifest ${reference}`, signal, async () => {
      const res = await this.request({ method: 'GET', path: `${repo}/manifests/${reference}`, repo, scopes: [this.readScope(repo)], what: `manifest ${reference}`, headers: { accept: MANIFEST_ACCEPT }, expect: [200], ...(signal ? { signal } : {}) });
      const raw = await readBody(res, 4 << 20);
      const claimed = header(res, 'docker-content-digest');
      const want = isDigest(reference) ? reference : claimed && isDigest(claimed) ? claimed : undefined;
      const algorithm = want ? digestAlgorithm(want) : 'sha256';
      const digest = `${algorithm}:${createHash(algorithm).update(raw).digest('hex')}` as Digest;
      if (want && digest !== want) {
        throw this.fail(res, 'GET', `${this.host}/${repo}: manifest ${reference} does not match its digest (expected ${want}, its bytes hash to ${digest})`, false, 'DIGEST_MISMATCH');
      }
      if (claimed && isDigest(claimed) && claimed !== digest && digestAlgorithm(claimed) === algorithm) {
        throw this.fail(res, 'GET', `${this.host}/${repo}: manifest ${reference} does not match the registry's Docker-Content-Digest ${claimed}`, false, 'DIGEST_MISMATCH');
      }
      const contentType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
      let mediaType = contentType;
      if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
        try {
          mediaType = sniffMediaType(JSON.parse(Buffer.from(raw).toString('utf8'))) ?? mediaType;
        } catch {
          // parseManifestOrIndex reports it properly
        }
      }
      return { mediaType, digest, raw };
    });
  }

  /** Stores a manifest under a tag or its digest; the registry's digest must be ours. */
  /**
   * PUTs a manifest. Resolves to the `OCI-Subject` header of the answer, which a registry with
   * the OCI 1.1 referrers API sends for a manifest with a `subject` (absent otherwise).
   */
  async putManifest(repo: string, reference: string, manifest: { mediaType: string; raw: Uint8Array; digest: Digest }, signal?: AbortSignal): Promise<{ ociSubject?: string }> {
    const what = isDigest(reference) ? `manifest ${reference}` : `tag ${reference} (manifest ${manifest.digest})`;
    return this.retry(what, signal, async () => {
      const res = await this.request({
        method: 'PUT',
        path: `${repo}/manifests/${reference}`,
        repo,
        scopes: [repoScope(repo, 'pull,push')],
        what,
        headers: { 'content-type': manifest.mediaType },
        body: manifest.raw,
        expect: [200, 201],
        ...(signal ? { signal } : {}),
      }).catch(async (err: unknown) => {
        throw await this.settling(err, repo, manifest, signal);
      });
      await drain(res);
      this.checkDigestHeader(res, 'PUT', manifest.digest, what);
      const subject = header(res, 'oci-subject');
      return subject ? { ociSubject: subject } : {};
    });
  }

  /**
   * A manifest PUT answered 400 MANIFEST_BLOB_UNKNOWN (or BLOB_UNKNOWN, DIGEST_INVALID,
   * MANIFEST_UNKNOWN) while everything the manifest names is in the repository: distribution
   * says so while it is still committing a child or blob another push (or this one) has just
   * had accepted. When a HEAD finds every referenced blob and child there, the answer is
   * temporary and the PUT is tried again (within the retry budget); otherwise it stands.
   */
  private async settling(err: unknown, repo: string, manifest: { raw: Uint8Array }, signal?: AbortSignal): Promise<unknown> {
    if (!(err instanceof RegistryError) || err.details.status !== 400 || !err.details.registryCodes.some((c) => SETTLING_CODES.has(c))) return err;
    let doc: { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    try {
      doc = JSON.parse(Buffer.from(manifest.raw).toString('utf8')) as typeof doc;
    } catch {
      return err;
    }
    const present = async (): Promise<boolean> => {
      for (const d of doc.manifests ?? []) if ((await this.headManifest(repo, d.digest, signal))?.digest !== d.digest) return false;
      for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
        if (d.mediaType?.includes('.foreign.') || d.mediaType?.includes('.nondistributable.')) continue;
        if (!(await this.hasBlob(repo, d, signal))) return false;
      }
      return true;
    };
    if (!(await present().catch(() => false))) return err;
    return new RegistryError(err.code, `${err.message}; everything it names is there: the registry is still committing it`, { ...err.details, temporary: true }, { cause: err });
  }

  // ------------------------------------------------------------ plumbing

  private retry<T>(what: string, signal: AbortSignal | undefined, fn: (budget: RetryBudget) => Promise<T>): Promise<T> {
    return withRetries(this.policy, what, fn, { ...(this.opts.onRetry ? { onRetry: this.opts.onRetry } : {}), ...(signal ? { signal } : {}) });
  }

  private url(path: string | URL): URL {
    return typeof path === 'string' ? new URL(`${this.base}/v2/${path}`) : path;
  }

  private location(res: HttpResponse, method: string): URL {
    const loc = header(res, 'location');
    if (!loc) throw this.fail(res, method, `${this.host}: ${method} ${redactUrl(res.url)} answered ${res.status} with no Location`, false);
    return new URL(loc, res.url);
  }

  private checkDigestHeader(res: HttpResponse, method: string, want: Digest, what: string): void {
    const got = header(res, 'docker-content-digest');
    if (got !== undefined && got !== want) {
      throw this.fail(res, method, `${this.host}: the registry stored ${what} as ${got}, not ${want}`, false, 'DIGEST_MISMATCH');
    }
  }

  private fail(res: HttpResponse, method: string, message: string, temporary: boolean, code: 'REGISTRY' | 'DIGEST_MISMATCH' = 'REGISTRY'): RegistryError {
    return new RegistryError(code, message, { method, url: redactUrl(res.url), status: res.status, registryCodes: [], temporary });
  }

  /**
   * The API check (GET /v2/), shared by every request. It runs under the client's own
   * signal, not a caller's: one caller giving up must not fail it for the others, and close()
   * ends it without a word (a command that failed on its own input has nothing to retry).
   */
  private challenge(): Promise<Challenge> {
    if (!this.challengeP) {
      const signal = this.closing.signal;
      this.challengeP = this.retry('the registry API check', signal, async () => {
        await this.schemeP;
        const url = new URL(`${this.base}/v2/`);
        const res = await send(this.transport, { method: 'GET', url, ...(signal ? { signal } : {}) });
        this.opts.log?.(`GET ${redactUrl(url)} -> ${res.status}`);
        await drain(res);
        if (res.status === 401) return parseChallenge(header(res, 'www-authenticate'));
        if (res.status >= 200 && res.status < 300) return { scheme: 'none' } as const;
        throw await this.errorFrom(res, 'GET', `${this.host}`, 'the registry API check (/v2/)');
      });
      // A failed check (network) is tried again next time.
      this.challengeP.catch(() => (this.challengeP = undefined));
    }
    return this.challengeP;
  }

  private credential(): Promise<Credential | undefined> {
    this.credentialP ??= (this.opts.credential ?? ((h) => findCredential(h, this.opts.env ?? process.env)))(this.host);
    return this.credentialP;
  }

  private async authorization(ch: Challenge, scopes: string[], repo: string, signal?: AbortSignal): Promise<string | undefined> {
    if (ch.scheme === 'none') return undefined;
    const cred = await this.credential();
    if (ch.scheme === 'basic') {
      if (cred?.username === undefined || cred.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    return `Bearer ${await this.token(ch, scopes, repo, cred, signal)}`;
  }

  private async token(ch: Extract<Challenge, { scheme: 'bearer' }>, scopes: string[], repo: string, cred: Credential | undefined, signal?: AbortSignal): Promise<string> {
    const key = scopeKey(scopes);
    const now = Date.now();
    const cached = this.tokens.get(key) ?? [...this.tokens.values()].find((t) => now < t.renewAt && coversScopes(t.scopes, scopes));
    if (cached && now < cached.renewAt) return cached.token;
    let p = this.tokenFetches.get(key);
    if (!p) {
      p = this.retry(`a token for ${key}`, signal, () => this.fetchToken(ch, scopes, repo, cred, signal)).finally(() => this.tokenFetches.delete(key));
      this.tokenFetches.set(key, p);
    }
    return p;
  }

  private async fetchToken(ch: Extract<Challenge, { scheme: 'bearer' }>, scopes: string[], repo: string, cred: Credential | undefined, signal?: AbortSignal): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(ch.realm);
    } catch {
      throw new RegistryError('REGISTRY', `${this.host}: the registry names an invalid token realm`, { method: 'GET', url: this.base, registryCodes: [], temporary: false });
    }
    const plainRealm = plainByName(realm.host) || (this.opts.insecure ?? []).includes(realm.host) || (realm.host === new URL(this.base).host && this.base.startsWith('http:'));
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && plainRealm)) {
      throw new RegistryError('REGISTRY', `${this.host}: the token realm ${redactUrl(realm)} is not HTTPS; berth sends credentials over plain HTTP only to localhost or an --insecure-registry host`, {
        method: 'GET',
        url: redactUrl(realm),
        registryCodes: [],
        temporary: false,
      });
    }
    const scope = scopes.join(' ');
    let res: HttpResponse;
    if (cred?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'berth', scope, ...(ch.service ? { service: ch.service } : {}) });
      res = await send(this.transport, { method: 'POST', url: realm, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), ...(signal ? { signal } : {}) });
    } else {
      if (ch.service) realm.searchParams.set('service', ch.service);
      for (const s of scopes) realm.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (cred?.username !== undefined && cred.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      res = await send(this.transport, { method: 'GET', url: realm, headers, ...(signal ? { signal } : {}) });
    }
    this.opts.log?.(`${res.method} ${redactUrl(realm)} -> ${res.status}`);
    if (res.status === 401 || res.status === 403) {
      await drain(res);
      throw this.unauthorized(res, 'GET', repo, cred, 'the token server');
    }
    if (res.status !== 200) throw await this.errorFrom(res, 'GET', `${this.host}/${repo}`, 'a token');
    const body = await readBody(res, 1 << 20);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw this.fail(res, 'GET', `${this.host}: the token server's answer is not JSON`, false);
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw this.fail(res, 'GET', `${this.host}: the token server's answer holds no token`, false);
    this.tokens.set(scopeKey(scopes), {
      token,
      scopes,
      renewAt: renewalTime(Date.now(), typeof doc.expires_in === 'number' ? doc.expires_in : undefined, typeof doc.issued_at === 'string' ? doc.issued_at : undefined),
    });
    return token;
  }

  /**
   * Sends one request with the right Authorization. A 401 on a bearer token drops that token
   * and, for a body that can be sent again, tries once more with a new one. Statuses outside
   * `expect` become RegistryErrors.
   */
  private async request(op: Op): Promise<HttpResponse> {
    const ch = await this.challenge();
    let url = this.url(op.path);
    for (let authTries = 0, redirects = 0; ; ) {
      const headers: Record<string, string> = { 'user-agent': 'berth', ...op.headers };
      const sameOrigin = url.origin === new URL(this.base).origin;
      if (sameOrigin) {
        const auth = await this.authorization(ch, op.scopes, op.repo, op.signal);
        if (auth) headers.authorization = auth;
      }
      const res = await send(this.transport, { method: op.method, url, headers, ...(op.body !== undefined ? { body: op.body } : {}), ...(op.signal ? { signal: op.signal } : {}) });
      this.opts.log?.(`${op.method} ${redactUrl(url)} -> ${res.status}`);
      if (op.expect.includes(res.status)) return res;
      if ((res.status === 307 || res.status === 302 || res.status === 301 || res.status === 303) && (op.method === 'GET' || op.method === 'HEAD') && redirects < 5) {
        const loc = header(res, 'location');
        await drain(res);
        if (loc) {
          // Authorization goes only to the registry's own origin (blob storage redirects).
          url = new URL(loc, url);
          redirects++;
          continue;
        }
      }
      if (res.status === 401 && sameOrigin) {
        await drain(res);
        const again = parseChallenge(header(res, 'www-authenticate'));
        if (ch.scheme === 'bearer') this.dropToken(headers.authorization);
        const replayable = op.body === undefined || op.body instanceof Uint8Array;
        if (ch.scheme === 'bearer' && authTries === 0 && again.scheme === 'bearer' && again.error !== 'insufficient_scope') {
          authTries++;
          if (replayable) continue;
          // A streamed body cannot be sent again here: the upload's own retry resumes it.
          throw new RegistryError('UNAUTHORIZED', `${op.method} ${redactUrl(url)}: the token expired during the request`, { method: op.method, url: redactUrl(url), status: 401, registryCodes: ['UNAUTHORIZED'], temporary: true });
        }
        throw this.unauthorized(res, op.method, op.repo, await this.credential(), 'the registry', ch);
      }
      throw await this.errorFrom(res, op.method, `${this.host}/${op.repo}`, op.what);
    }
  }

  private dropToken(authorization: string | undefined): void {
    for (const [k, t] of this.tokens) if (authorization === `Bearer ${t.token}`) this.tokens.delete(k);
  }

  private unauthorized(res: HttpResponse, method: string, repo: string, cred: Credential | undefined, who: string, ch?: Challenge): RegistryError {
    const name = `${this.host}/${repo}`;
    let why: string;
    if (!cred) why = `${who} wants a login and none was found for ${this.host} (docker login, $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE)`;
    else if (ch?.scheme === 'bearer' && res.status === 401 && who === 'the registry') why = `the token from ${cred.source} does not grant ${method === 'GET' || method === 'HEAD' ? 'pull' : 'push'} access`;
    else why = `${who} refused the credentials from ${cred.source}`;
    return new RegistryError('UNAUTHORIZED', `unauthorized for ${name}: ${why}`, { method, url: redactUrl(res.url), status: res.status, registryCodes: ['UNAUTHORIZED'], temporary: false });
  }

  /** A RegistryError from a failed answer, with the spec's error codes from its body. */
  private async errorFrom(res: HttpResponse, method: string, name: string, what: string): Promise<RegistryError> {
    const body = await readBody(res, 64 << 10).catch(() => Buffer.alloc(0));
    const errors = method === 'HEAD' ? [] : parseErrorBody(body.toString('utf8'));
    const codes = errors.map((e) => e.code);
    const detail = errors.length ? ` (${errors.map((e) => `${e.code}${e.message ? `: ${e.message.slice(0, 160)}` : ''}`).join('; ')})` : '';
    const status = res.status;
    const temporary = status === 429 || status >= 500;
    const retryAfter = parseRetryAfter(header(res, 'retry-after'));
    const details = { method, url: redactUrl(res.url), status, registryCodes: codes, temporary, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
    if (status === 403) return new RegistryError('UNAUTHORIZED', `access to ${name} denied${detail}`, details);
    if (status === 404) return new RegistryError('NOT_FOUND', `${name}: ${what} not found${detail}`, details);
    const statusText = res.body.statusMessage || STATUS_TEXT[status] || '';
    return new RegistryError('REGISTRY', `${method} ${redactUrl(res.url)} answered ${status}${statusText ? ` ${statusText}` : ''}${detail}`, details);
  }
}
