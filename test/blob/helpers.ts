import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';

const execFileP = promisify(execFile);

/** Runs a real tool; resolves with stdout as a Buffer. */
export async function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<Buffer> {
  const { stdout } = await execFileP(cmd, args, { encoding: 'buffer', maxBuffer: 1 << 30, ...opts });
  return stdout;
}

/** Runs a shell pipeline; resolves with stdout as a string. */
export async function sh(script: string, opts: { cwd?: string } = {}): Promise<string> {
  const { stdout } = await execFileP('bash', ['-o', 'pipefail', '-c', script], { maxBuffer: 1 << 30, ...opts });
  return stdout;
}

/** sha256 as `sha256sum` (coreutils, not node) computes it, in OCI digest form. */
export async function sha256sum(path: string): Promise<string> {
  return `sha256:${(await sh(`sha256sum < '${path}'`)).split(' ')[0]}`;
}

/** A fresh temporary directory and a function that removes it. */
export async function tempDir(prefix = 'berth-blob-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift), some of them compressible. */
export function pseudoRandomBytes(length: number, seed = 1, compressible = 0.5): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // stretches of repeated text between noise, so deflate has matches to find
    out[i] = (i >> 12) % 10 < compressible * 10 ? 'container layer '.charCodeAt(i % 16) : x & 0xff;
  }
  return out;
}

/** A tar made with tar-stream's packer (independent of berth's writer), for hostile inputs. */
export async function packTar(entries: { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device'; linkname?: string; content?: string; mode?: number; uid?: number; gid?: number }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), ...(e.linkname ? { linkname: e.linkname } : {}), ...(e.uid !== undefined ? { uid: e.uid } : {}), ...(e.gid !== undefined ? { gid: e.gid } : {}) };
    if (type === 'file') pack.entry(header, e.content ?? 'x');
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
