/**
 * `berth keygen`: a new ECDSA P-256 key pair written as PREFIX.key and PREFIX.pub, both or
 * neither. Each file is written to a temporary name beside it and then put in place; without
 * `force` an existing file is never replaced (the link that puts it in place fails instead),
 * so two runs cannot overwrite each other's keys either. The private key file is mode 0600.
 */
import { access, link, rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { tempPathFor } from '../util/atomic.js';
import { fsError } from '../util/fs-errors.js';
import { UsageError } from '../errors.js';
import { generateKeyFiles, type KeyFileFormat } from './keys.js';

export interface KeyPairFiles {
  privateKey: string;
  publicKey: string;
}

async function place(tmp: string, path: string, force: boolean): Promise<void> {
  if (force) {
    await rename(tmp, path);
    return;
  }
  try {
    await link(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function writeKeyPair(files: KeyPairFiles, opts: { password: string; format: KeyFileFormat; force: boolean }): Promise<void> {
  if (!opts.force) {
    for (const f of [files.privateKey, files.publicKey]) {
      if (await access(f).then(() => true, () => false)) throw new UsageError('FILE_EXISTS', `${f}: already exists; pass --force to replace it`);
    }
  }
  const { privatePem, publicPem } = await generateKeyFiles(opts.password, opts.format);
  const tmps = [tempPathFor(files.privateKey), tempPathFor(files.publicKey)];
  const placed: string[] = [];
  try {
    await writeFile(tmps[0]!, privatePem, { mode: 0o600 });
    await writeFile(tmps[1]!, publicPem, { mode: 0o644 });
    await place(tmps[0]!, files.privateKey, opts.force);
    placed.push(files.privateKey);
    await place(tmps[1]!, files.publicKey, opts.force);
  } catch (err) {
    // Neither or both: a key without its public half (or the reverse) is taken back out.
    if (!opts.force) for (const p of placed) await rm(p, { force: true }).catch(() => {});
    for (const t of tmps) await rm(t, { force: true }).catch(() => {});
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') throw new UsageError('FILE_EXISTS', `${(e as { dest?: string }).dest ?? files.privateKey}: already exists; pass --force to replace it`);
    if (e.code === 'ENOENT') throw new UsageError('UNREADABLE', `--output-key-prefix: the folder of ${files.privateKey} does not exist`);
    throw fsError(err, [files.publicKey, files.privateKey].find((f) => e.path?.includes(basename(f))) ?? files.privateKey);
  }
}
