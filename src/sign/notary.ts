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
import { request } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { dirname, resolve } from 'node:path';
import type { SignerSpec } from '../config/signing.js';
import { OperationalError, UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';

export interface NotaryTarget {
  /** The GUN: `registry/repository`. */
  repository: string;
  tag: string;
  digest: Digest;
  /** The manifest's (or index's) size in bytes. */
  size: number;
}

export interface NotaryOptions {
  configFile: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Seconds between tries; 5 by default. */
  retryIntervalSeconds?: number;
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

interface Auth {
  cert?: string;
  key?: string;
  token?: string;
  ca?: string;
}

async function readAuth(spec: SignerSpec, opts: NotaryOptions): Promise<Auth> {
  const base = dirname(opts.configFile);
  const where = `signer ${spec.name}`;
  const auth: Auth = {};
  if (spec.ca) auth.ca = await readFile(resolve(base, spec.ca), 'utf8').catch(() => Promise.reject(new UsageError('UNREADABLE', `${where}: cannot read the CA file ${spec.ca}`)));
  if (spec.tokenEnv) {
    const token = opts.env[spec.tokenEnv];
    if (!token) throw new UsageError('BAD_KEY', `${where}: ${spec.tokenEnv} is not set (${spec.where})`);
    auth.token = token.trim();
    return auth;
  }
  const text = await readFile(resolve(base, spec.secret!), 'utf8').catch(() => Promise.reject(new UsageError('UNREADABLE', `${where}: cannot read the secret file ${spec.secret}`)));
  let parsed: { certData?: unknown; privateKeyData?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new UsageError('BAD_KEY', `${where}: ${spec.secret} is not JSON with certData and privateKeyData`);
  }
  if (typeof parsed.certData !== 'string' || typeof parsed.privateKeyData !== 'string') throw new UsageError('BAD_KEY', `${where}: ${spec.secret} needs certData and privateKeyData (base64 PEM)`);
  auth.cert = Buffer.from(parsed.certData, 'base64').toString('utf8');
  auth.key = Buffer.from(parsed.privateKeyData, 'base64').toString('utf8');
  if (!auth.cert.includes('-----BEGIN') || !auth.key.includes('-----BEGIN')) throw new UsageError('BAD_KEY', `${where}: ${spec.secret}: certData and privateKeyData must be base64-encoded PEM`);
  return auth;
}

function post(url: URL, body: string, auth: Auth, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    const opts = { method: 'POST', headers, timeout: timeoutMs, ...(signal ? { signal } : {}) };
    const onResponse = (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', fail);
    };
    const req =
      url.protocol === 'https:'
        ? request(url, { ...opts, ...(auth.cert ? { cert: auth.cert, key: auth.key } : {}), ...(auth.ca ? { ca: auth.ca } : {}) }, onResponse)
        : httpRequest(url, opts, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    req.on('error', fail);
    req.end(body);
  });
}

/** Signs `targets` with one notary signer; resolves once the service accepted them (202). */
/** The signer's endpoint; plain http only to this machine. */
function endpointOf(spec: SignerSpec): URL {
  const url = new URL(spec.endpoint!);
  if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
    throw new UsageError('BAD_CONFIG', `signer ${spec.name}: ${url.origin} is plain http; credentials go only over https`);
  }
  return url;
}

/** Checks a notary signer's endpoint and credentials can be used, before anything is published. */
export async function checkNotarySigner(spec: SignerSpec, opts: NotaryOptions): Promise<void> {
  endpointOf(spec);
  await readAuth(spec, opts);
}

export async function notarySign(spec: SignerSpec, targets: readonly NotaryTarget[], opts: NotaryOptions): Promise<void> {
  if (targets.length === 0) return;
  const url = endpointOf(spec);
  const auth = await readAuth(spec, opts);
  const body = notaryPayload(targets);
  const deadline = Date.now() + (spec.retryTimeoutSeconds ?? 300) * 1000;
  const interval = (opts.retryIntervalSeconds ?? 5) * 1000;
  let last = '';
  for (;;) {
    try {
      const status = await post(url, body, auth, (spec.timeoutSeconds ?? 30) * 1000, opts.signal);
      if (status === 202) return;
      last = `answered ${status}`;
      if (status === 401 || status === 403) throw new OperationalError('UNAUTHORIZED', `signer ${spec.name}: ${url.origin} ${last}: check its credentials`);
    } catch (err) {
      if (err instanceof OperationalError) throw err;
      last = (err as Error).message;
    }
    if (Date.now() + interval > deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new OperationalError('SIGN_FAILED', `signer ${spec.name}: ${url.origin} did not accept the signing request (${last}) within ${spec.retryTimeoutSeconds ?? 300} s`);
}
