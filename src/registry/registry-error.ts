import { OperationalError, type ErrorCode } from '../errors.js';

/** What the registry (or the network on the way to it) said, for one request. */
export interface RegistryErrorDetails {
  method: string;
  /** The request's URL with query values redacted (see redactUrl). */
  url: string;
  /** The HTTP status, absent when no response came (a network failure). */
  status?: number;
  /** The distribution spec's error codes from the body (`BLOB_UNKNOWN`, `DENIED`...). */
  registryCodes: string[];
  /** Whether trying again may help: connection errors, 5xx, 429. Drives retries. */
  temporary: boolean;
  /** How long the server asked us to wait (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
}

/**
 * The one error the registry client raises: an operational failure (exit 1) carrying the
 * method, the redacted URL, the status, the spec's error codes and whether it is temporary.
 * Context is added at each layer with `withContext`, which keeps every field.
 */
export class RegistryError extends OperationalError {
  readonly details: RegistryErrorDetails;
  constructor(code: ErrorCode, message: string, details: RegistryErrorDetails, options?: { cause?: unknown }) {
    super(code, message, options);
    this.details = details;
  }

  get temporary(): boolean {
    return this.details.temporary;
  }

  /** The same error with `prefix: ` before its message and, optionally, another temporariness. */
  withContext(prefix: string, temporary = this.details.temporary): RegistryError {
    return new RegistryError(this.code, `${prefix}: ${this.message}`, { ...this.details, temporary }, { cause: this.cause ?? this });
  }
}

export function isTemporary(err: unknown): boolean {
  return err instanceof RegistryError && err.temporary;
}

/** Query parameters whose values are safe and useful to show. Everything else is redacted. */
const SHOWN_PARAMS = new Set(['digest', 'mount', 'from', 'scope', 'service', 'n', 'last']);

/**
 * A URL fit for messages and logs: no user-info, and the values of query parameters other
 * than the few harmless ones replaced by `REDACTED` (upload states, signed storage URLs,
 * refresh tokens).
 */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = new URL(url.toString());
  } catch {
    return '<invalid URL>';
  }
  u.username = '';
  u.password = '';
  const show = (v: string) => encodeURIComponent(v).replace(/%3A/g, ':').replace(/%2F/g, '/');
  const params = [...u.searchParams.entries()].map(([k, v]) => `${encodeURIComponent(k)}=${SHOWN_PARAMS.has(k) ? show(v) : 'REDACTED'}`);
  return `${u.origin}${u.pathname}${params.length ? `?${params.join('&')}` : ''}`;
}

/** The distribution spec's error body: `{"errors":[{"code":"…","message":"…"}]}`. */
export function parseErrorBody(body: string): { code: string; message: string }[] {
  try {
    const doc = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(doc.errors)) return [];
    return doc.errors
      .filter((e): e is { code: string; message?: unknown } => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .map((e) => ({ code: e.code, message: typeof e.message === 'string' ? e.message : '' }));
  } catch {
    return [];
  }
}

/** Network error codes (from node) worth another try. Refused and unknown hosts fail at once. */
const TEMPORARY_NET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

/** Turns a failure with no HTTP response into a RegistryError that says what happened. */
export function networkError(method: string, url: URL, err: unknown): RegistryError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const host = url.host;
  let why: string;
  let temporary = TEMPORARY_NET_CODES.has(code) || e?.message === 'aborted' || e?.message === 'socket hang up';
  switch (code) {
    case 'ENOTFOUND':
      why = `unknown host ${url.hostname}; check the registry name`;
      temporary = false;
      break;
    case 'ECONNREFUSED':
      why = `connection to ${host} refused; is the registry running there?`;
      break;
    case 'ETIMEDOUT':
      why = `${host} went silent: ${e.message.includes('--timeout') ? e.message : 'timed out'}`;
      break;
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      why = `TLS: ${oneLine(e.message)} (${code}); plain HTTP needs --insecure-registry ${host}`;
      break;
    case 'EPROTO':
      // OpenSSL's message ends in a newline (and may hold more): berth's error is one line.
      why = `TLS handshake with ${host} failed (${oneLine(e.message)}); if it speaks plain HTTP, use --insecure-registry ${host}`;
      break;
    default:
      why = `${oneLine(e?.message ?? String(err))}${code && !String(e?.message).includes(code) ? ` (${code})` : ''}`;
  }
  return new RegistryError('NETWORK', `${method} ${redactUrl(url)}: ${why}`, { method, url: redactUrl(url), registryCodes: [], temporary }, { cause: err });
}

/** A message on one line: OpenSSL's end in a newline, some hold several. */
function oneLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}
