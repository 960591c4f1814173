/**
 * The `notary` signer: kyma's signing service. berth POSTs the tags it published,
 *
 *   {"trustedCollections":[{"gun":"registry/repo","targets":[{"name":TAG,"byteSize":N,"digest":HEX}]}]}
 *
 * (`byteSize` the manifest's size, `digest` its sha256 in hex), authenticated by a client
 * certificate (kyma's secret file: `{"certData","privateKeyData"}`, base64 PEMs) or a bearer
 * token, and retries until the service answers 202 Accepted or the retry time runs out.
 * Neither the token nor the key ever reaches a message.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SignerSpec } from '../config/signing.js';
import { UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../registry/registry-error.js';
import { createTransport, readBody, send } from '../registry/http.js';
import { withRetries, type RetryPolicy, type RetryInfo } from '../registry/retry.js';
import type { ImageSigner, SignatureRecord, SignerContext, SignRun, SignTarget } from './signer.js';

export interface NotaryTarget {
  /** The GUN: `registry/repository`. */
  repository: string;
  tag: string;
  digest: Digest;
  /** The manifest's (or index's) size in bytes. */
  size: number;
}

/** How a request reaches the service: berth's registry HTTP settings (retries, idle timeout, resolver), and an abort signal. */
export interface NotaryHttp {
  retry: RetryPolicy;
  timeoutMs: number;
  lookup?: import('node:net').LookupFunction;
  onRetry?: (info: RetryInfo) => void;
  signal?: AbortSignal;
}

/** The request body for `targets`, one trusted collection per repository, tags in order. */
export function notaryPayload(targets: readonly NotaryTarget[]): string {
  const byGun = new Map<string, { name: string; byteSize: number; digest: string }[]>();
  for (const t of targets) {
    const list = byGun.get(t.repository) ?? [];
    list.push({ name: t.tag, byteSize: t.size, digest: t.digest.slice('sha256:'.length) });
    byGun.set(t.repository, list);
  }
  return JSON.stringify({ trustedCollections: [...byGun].map(([gun, ts]) => ({ gun, targets: ts })) });
}

export interface NotaryAuth {
  cert?: string;
  key?: string;
  token?: string;
  ca?: string;
}

async function readSecretFile(base: string, path: string, where: string, what: string): Promise<string> {
  return readFile(resolve(base, path), 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('UNREADABLE', `${where}: cannot read the ${what} ${path} (${err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message)})`);
  });
}

/** A notary signer's credentials: a client certificate from its secret file, or a token from its variable; never printed. */
export async function readNotaryAuth(spec: SignerSpec, ctx: SignerContext): Promise<NotaryAuth> {
  const base = dirname(ctx.configFile);
  const where = `signer ${spec.name}`;
  const auth: NotaryAuth = {};
  if (spec.ca) auth.ca = await readSecretFile(base, spec.ca, where, 'CA file');
  if (spec.tokenFile) {
    const token = (await readSecretFile(base, spec.tokenFile, where, 'token file')).trim();
    if (token === '') throw new UsageError('BAD_KEY', `${where}: the token file ${spec.tokenFile} is empty (${spec.where})`);
    auth.token = token;
    return auth;
  }
  if (spec.tokenEnv) {
    const token = ctx.env[spec.tokenEnv];
    if (!token || token.trim() === '') throw new UsageError('BAD_KEY', `${where}: ${spec.tokenEnv} is not set (${spec.where})`);
    auth.token = token.trim();
    return auth;
  }
  const text = await readSecretFile(base, spec.secret!, where, 'secret file');
  let parsed: { certData?: unknown; privateKeyData?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // kyma's signify.yaml: `certData: <base64>` and `privateKeyData: <base64>` lines.
    const field = (k: string) => new RegExp(`^${k}:\\s*["']?([A-Za-z0-9+/=]+)["']?\\s*$`, 'm').exec(text)?.[1];
    const certData = field('certData');
    const privateKeyData = field('privateKeyData');
    if (certData === undefined && privateKeyData === undefined) throw new UsageError('BAD_KEY', `${where}: ${spec.secret} is neither JSON nor YAML with certData and privateKeyData`);
    parsed = { certData, privateKeyData };
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.certData !== 'string' || typeof parsed.privateKeyData !== 'string') throw new UsageError('BAD_KEY', `${where}: ${spec.secret} needs certData and privateKeyData (base64 PEM)`);
  auth.cert = Buffer.from(parsed.certData, 'base64').toString('utf8');
  auth.key = Buffer.from(parsed.privateKeyData, 'base64').toString('utf8');
  if (!auth.cert.includes('-----BEGIN') || !auth.key.includes('-----BEGIN')) throw new UsageError('BAD_KEY', `${where}: ${spec.secret}: certData and privateKeyData must be base64-encoded PEM`);
  return auth;
}

/** The signer's endpoint: https only (credentials go nowhere else). berth.yaml's reader refuses others first. */
export function notaryEndpoint(spec: SignerSpec): URL {
  let url: URL;
  try {
    url = new URL(spec.endpoint ?? '');
  } catch {
    throw new UsageError('BAD_CONFIG', `signer ${spec.name}: "${spec.endpoint}" is not an address (${spec.where})`);
  }
  if (url.protocol !== 'https:') throw new UsageError('BAD_CONFIG', `signer ${spec.name}: ${url.origin} is not https; a signing service gets credentials only over https (${spec.where})`);
  return url;
}

/** The first line of an answer's body, short, for messages. */
function firstLine(body: Buffer): string {
  const line = body.toString('utf8').split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * POSTs `targets` to the service until it accepts them (2xx, kyma's 202 Accepted): through
 * berth's HTTP stack and retry policy (`--retries`, backoff; connection errors, 5xx, 408 and
 * 429 are tried again for up to the signer's `retry-timeout`), each request bounded by the
 * signer's `timeout`. A refusal names the status and the first line of the body.
 */
export async function notarySign(spec: SignerSpec, auth: NotaryAuth, targets: readonly NotaryTarget[], http: NotaryHttp): Promise<void> {
  if (targets.length === 0) return;
  const url = notaryEndpoint(spec);
  const body = Buffer.from(notaryPayload(targets));
  const transport = createTransport({
    maxSockets: 2,
    timeoutMs: spec.timeoutSeconds !== undefined ? spec.timeoutSeconds * 1000 : http.timeoutMs,
    ...(http.lookup ? { lookup: http.lookup } : {}),
    tls: { ...(auth.ca ? { ca: auth.ca } : {}), ...(auth.cert ? { cert: auth.cert, key: auth.key! } : {}) },
  });
  const policy: RetryPolicy = { ...http.retry, deadlineMs: (spec.retryTimeoutSeconds ?? 300) * 1000 };
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  try {
    await withRetries(
      policy,
      `signing request to ${url.origin} (signer ${spec.name})`,
      async () => {
        const res = await send(transport, { method: 'POST', url, headers, body, ...(http.signal ? { signal: http.signal } : {}) });
        const answer = await readBody(res, 64 << 10);
        if (res.status >= 200 && res.status < 300) return;
        const line = firstLine(answer);
        const refused = res.status === 401 || res.status === 403;
        throw new RegistryError(refused ? 'UNAUTHORIZED' : 'SIGN_FAILED', `${url.origin} answered ${res.status}${line ? ` (${line})` : ''}${refused ? ': check its credentials' : ''}`, {
          method: 'POST',
          url: url.origin + url.pathname,
          status: res.status,
          registryCodes: [],
          temporary: res.status >= 500 || res.status === 408 || res.status === 429,
        });
      },
      { ...(http.onRetry ? { onRetry: http.onRetry } : {}), ...(http.signal ? { signal: http.signal } : {}) },
    );
  } catch (err) {
    if (err instanceof RegistryError) throw err.withContext(`signer ${spec.name}`);
    throw err;
  } finally {
    transport.close();
  }
}

/**
 * berth.yaml's `type: notary` signer. It signs tags: an image named only by its digest (an
 * index's children under --recursive, `berth sign REG/REPO@sha256:...`) is skipped, and said so.
 * It holds no key of berth's, so it cannot sign a DSSE envelope itself.
 */
export async function openNotarySigner(spec: SignerSpec, ctx: SignerContext): Promise<ImageSigner> {
  const url = notaryEndpoint(spec);
  const auth = await readNotaryAuth(spec, ctx);
  return {
    name: spec.name,
    type: 'notary',
    description: `notary ${spec.name} (${url.origin})`,
    async signImages(targets: readonly SignTarget[], run: SignRun): Promise<SignatureRecord[]> {
      const records: SignatureRecord[] = targets.map((t) =>
        t.tags?.length && t.size !== undefined
          ? { signer: spec.name, type: 'notary', status: 'added', where: url.origin }
          : { signer: spec.name, type: 'notary', status: 'skipped', where: url.origin, reason: `a notary service signs tags; this image is named by digest only (name ${t.registry}/${t.repository} by a tag)` },
      );
      const asked = targets.flatMap((t) => (t.tags?.length && t.size !== undefined ? t.tags.map((tag) => ({ repository: `${t.registry}/${t.repository}`, tag, digest: t.digest, size: t.size! })) : []));
      await notarySign(spec, auth, asked, { ...run.registries.httpSettings(), ...(run.signal ? { signal: run.signal } : {}) });
      return records;
    },
  };
}
