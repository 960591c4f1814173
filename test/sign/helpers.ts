import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { berth, type CliResult } from '../helpers/cli.js';

export const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [OCI_MANIFEST, 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

/** Runs berth and fails the test with its stderr when the exit code is not the one wanted. */
export async function ok(argv: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliResult> {
  const r = await berth(argv, { env, ...(cwd ? { cwd } : {}) });
  if (r.code !== 0) throw new Error(`berth ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** An image (berth's static base with a label, so each is distinct) pushed to `ref`; returns its digest. */
export async function pushImage(dir: string, ref: string, env: NodeJS.ProcessEnv, label: string, platforms = ['linux/amd64']): Promise<string> {
  const out = join(dir, `${label}.tar`);
  if (platforms.length === 1) await ok(['build', '--base', 'static', '--platform', platforms[0]!, '--label', `n=${label}`, '--output', out], env);
  else await ok(['base', 'static', ...platforms.flatMap((p) => ['--platform', p]), '--output', out], env);
  return (await ok(['push', out, ref, '--quiet'], env)).stdout.trim();
}

/** GET a manifest from the registry, as raw bytes with its media type. */
export async function getManifest(host: string, repo: string, reference: string): Promise<{ raw: Buffer; mediaType: string; status: number }> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  return { raw: Buffer.from(await res.arrayBuffer()), mediaType: res.headers.get('content-type') ?? '', status: res.status };
}

export async function getBlob(host: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`http://${host}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`GET blob ${digest}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Uploads a blob in one PUT (anonymous registry). */
export async function putBlob(host: string, repo: string, data: Uint8Array): Promise<string> {
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, `http://${host}`);
  const digest = sha256(data);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status}`);
  return digest;
}

export async function putManifest(host: string, repo: string, reference: string, raw: Uint8Array, mediaType = OCI_MANIFEST): Promise<void> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body: raw, headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`PUT manifest ${reference}: ${res.status} ${await res.text()}`);
}

export const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
