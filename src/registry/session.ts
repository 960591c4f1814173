/**
 * The session with one registry host, as go-containerregistry's transport package holds it:
 * the scheme (HTTPS, or plain HTTP for loopback and --insecure-registry hosts), the API check
 * and its challenge, credentials, bearer tokens per scope, and the one request path that
 * authorizes, follows redirects, replays a 401 once with a new token and turns failures into
 * RegistryErrors. blobs.ts and manifests.ts speak the distribution API through it; client.ts
 * is the facade.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Digest } from '../oci/digest.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST } from '../oci/reference.js';
import { parseChallenge, coversScopes, renewalTime, repoScope, scopeKey, type CachedToken, type Challenge } from './auth.js';
import { findCredential, type Credential } from './credentials.js';
import { parseErrorBody, redactUrl, RegistryError } from './registry-error.js';
import { createTransport, drain, header, readBody, send, type HttpBody, type HttpResponse, type HttpTransport } from './http.js';
import { DEFAULT_RETRY, parseRetryAfter, withRetries, type RetryBudget, type RetryInfo, type RetryPolicy } from './retry.js';

export interface SessionOptions {
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
}

/** One request of an operation, as blobs.ts and manifests.ts describe it to the session. */
export interface SessionRequest {
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

const STATUS_TEXT: Record<number, string> = { 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/**
 * The session with one registry host: auth (anonymous, Basic, Bearer tokens per scope,
 * renewed before expiry and on a 401) and the request path every operation goes through.
 * It never prints; `log` gets redacted request lines.
 */
export class RegistrySession {
  readonly host: string;
  /** `http(s)://host`: a `*.localhost` host is https until it is found to resolve to loopback. */
  base: string;
  private readonly transport: HttpTransport;
  private readonly ownsTransport: boolean;
  /** The retry policy every operation of this host runs under. */
  readonly policy: RetryPolicy;
  private readonly opts: SessionOptions;
  private challengeP: Promise<Challenge> | undefined;
  private credentialP: Promise<Credential | undefined> | undefined;
  private readonly tokens = new Map<string, CachedToken & { scopes: string[] }>();
  private readonly pushRepos = new Set<string>();
  private readonly tokenFetches = new Map<string, Promise<string>>();
  /** Aborted by close(): ends the background API check quietly. */
  private readonly closing = new AbortController();
  private schemeP: Promise<void> | undefined;

  constructor(host: string, opts: SessionOptions = {}) {
    this.host = host;
    this.opts = opts;
    const apiHost = host === DOCKER_HUB ? DOCKER_HUB_API_HOST : host;
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

  /** The scope a read of `repo` asks for: `pull`, or `pull,push` once forPush named it. */
  readScope(repo: string): string {
    return repoScope(repo, this.pushRepos.has(repo) ? 'pull,push' : 'pull');
  }

  /** Ends what runs in the background, and closes the connections this session opened (not a shared transport's). */
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

  /** Told before each retry (fetchBlob's resumed reads run their own budget). */
  onRetry(info: RetryInfo): void {
    this.opts.onRetry?.(info);
  }

  /** Runs one operation under the retry policy (see withRetries). */
  retry<T>(what: string, signal: AbortSignal | undefined, fn: (budget: RetryBudget) => Promise<T>): Promise<T> {
    return withRetries(this.policy, what, fn, { ...(this.opts.onRetry ? { onRetry: this.opts.onRetry } : {}), ...(signal ? { signal } : {}) });
  }

  private url(path: string | URL): URL {
    return typeof path === 'string' ? new URL(`${this.base}/v2/${path}`) : path;
  }

  /** The Location of an answer, resolved against its URL; none is an error. */
  location(res: HttpResponse, method: string): URL {
    const loc = header(res, 'location');
    if (!loc) throw this.fail(res, method, `${this.host}: ${method} ${redactUrl(res.url)} answered ${res.status} with no Location`, false);
    return new URL(loc, res.url);
  }

  /** Fails when the answer's Docker-Content-Digest names other than `want`. */
  checkDigestHeader(res: HttpResponse, method: string, want: Digest, what: string): void {
    const got = header(res, 'docker-content-digest');
    if (got !== undefined && got !== want) {
      throw this.fail(res, method, `${this.host}: the registry stored ${what} as ${got}, not ${want}`, false, 'DIGEST_MISMATCH');
    }
  }

  /** A RegistryError about an answer that berth cannot use. */
  fail(res: HttpResponse, method: string, message: string, temporary: boolean, code: 'REGISTRY' | 'DIGEST_MISMATCH' = 'REGISTRY'): RegistryError {
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
  async request(op: SessionRequest): Promise<HttpResponse> {
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
