import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { isBerthError } from '../errors.js';
import { networkError, redactUrl, RegistryError } from './registry-error.js';

/**
 * How requests leave the process: keep-alive agents, an optional resolver, and an idle
 * timeout: a request fails when its connection moves no byte either way for `timeoutMs`
 * (a slow transfer that keeps moving never times out, however long it takes).
 */
export interface HttpTransport {
  readonly http: http.Agent;
  readonly https: https.Agent;
  readonly lookup?: LookupFunction;
  readonly timeoutMs: number;
  close(): void;
}

/** The idle timeout when none is given (`--timeout`). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** TLS settings of a transport's HTTPS connections: a CA to trust, a client certificate (a signing service's mutual TLS). */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
}

export function createTransport(opts: { maxSockets?: number; lookup?: LookupFunction; timeoutMs?: number; tls?: TlsOptions } = {}): HttpTransport {
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 16, ...(opts.lookup ? { lookup: opts.lookup } : {}) };
  const h = new http.Agent(agentOpts);
  const s = new https.Agent({ ...agentOpts, ...(opts.tls ?? {}) });
  return {
    http: h,
    https: s,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    close() {
      h.destroy();
      s.destroy();
    },
  };
}

/** A request body: bytes in memory, or a stream of exactly `length` bytes. */
export type HttpBody = Uint8Array | { length: number; stream: Readable };

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: HttpBody;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  method: string;
  url: URL;
}

/**
 * Sends one request and resolves when the response's headers arrive. A failure before that
 * is a RegistryError (NETWORK); a body stream that fails on its own (a local digest check)
 * rejects with that stream's error. When the server answers before the body is sent (an
 * early 4xx/5xx), sending stops and the answer is returned.
 */
export function send(t: HttpTransport, req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const secure = req.url.protocol === 'https:';
    const body = req.body;
    const headers: Record<string, string> = { ...req.headers };
    if (body !== undefined) headers['content-length'] = String(body instanceof Uint8Array ? body.length : body.length);
    let settled = false;
    let bodyError: unknown;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      if (bodyError !== undefined && isBerthError(bodyError)) reject(bodyError);
      else if (req.signal?.aborted) reject(req.signal.reason ?? err);
      else reject(networkError(req.method, req.url, bodyError ?? err));
    };
    const r = (secure ? https : http).request(req.url, {
      method: req.method,
      headers,
      agent: secure ? t.https : t.http,
      ...(t.lookup ? { lookup: t.lookup } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    // The socket's idle timer: reset by every byte read or written, so only silence trips it.
    r.setTimeout(t.timeoutMs, () => r.destroy(Object.assign(new Error(`no byte moved for ${t.timeoutMs / 1000} s (--timeout)`), { code: 'ETIMEDOUT' })));
    r.on('error', fail);
    r.on('response', (res) => {
      if (settled) {
        res.resume();
        return;
      }
      settled = true;
      if (body !== undefined && !(body instanceof Uint8Array) && !r.writableFinished) {
        // The server answered before taking the whole body: stop sending, keep its answer,
        // and close the connection once the answer is read (it cannot be reused).
        body.stream.unpipe(r);
        body.stream.destroy();
        res.on('close', () => r.destroy());
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, method: req.method, url: req.url });
    });
    if (body === undefined) r.end();
    else if (body instanceof Uint8Array) r.end(body);
    else {
      body.stream.on('error', (err) => {
        bodyError = err;
        r.destroy(err);
      });
      body.stream.pipe(r);
    }
  });
}

/** Reads a whole response body (manifests, error documents, tokens), up to `limit` bytes. */
export async function readBody(res: HttpResponse, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > limit) {
        res.body.destroy();
        throw new RegistryError('REGISTRY', `${res.method} ${res.url.host}: answer larger than ${limit} bytes`, {
          method: res.method,
          url: redactUrl(res.url),
          status: res.status,
          registryCodes: [],
          temporary: false,
        });
      }
      chunks.push(c as Buffer);
    }
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw networkError(res.method, res.url, err);
  }
  return Buffer.concat(chunks, n);
}

/** Reads and discards a body, so the connection can be reused. Errors are ignored. */
export async function drain(res: HttpResponse): Promise<void> {
  try {
    for await (const _ of res.body) void _;
  } catch {
    // a broken connection after the status is known does not matter
  }
}

/** A header's single value. */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
