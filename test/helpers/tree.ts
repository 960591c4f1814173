import { createHash } from 'node:crypto';
import { chmod, lstat, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './tools.js';

/**
 * A folder's whole file tree as `path -> what is there` (type, mode, and a file's sha256 or a
 * link's target), or undefined when the folder does not exist: for comparing a destination
 * before and after a command that must leave it exactly as it was.
 */
export async function snapshotTree(root: string): Promise<Record<string, string> | undefined> {
  const top = await lstat(root).catch(() => undefined);
  if (!top) return undefined;
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const path = join(root, rel);
    const s = await lstat(path);
    const mode = (s.mode & 0o7777).toString(8);
    if (s.isDirectory()) {
      out[rel || '.'] = `dir ${mode}`;
      for (const name of (await readdir(path)).sort()) await walk(rel ? `${rel}/${name}` : name);
    } else if (s.isSymbolicLink()) {
      out[rel] = `link -> ${await readlink(path)}`;
    } else {
      out[rel] = `file ${mode} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
    }
  };
  await walk('');
  return out;
}

/** Every blob file of an OCI layout whose bytes do not hash to its name. */
export async function badBlobs(layout: string): Promise<string[]> {
  const dir = join(layout, 'blobs', 'sha256');
  const bad: string[] = [];
  for (const name of await readdir(dir)) {
    if (createHash('sha256').update(await readFile(join(dir, name))).digest('hex') !== name) bad.push(name);
  }
  return bad;
}

/**
 * Makes a folder unwritable even for root: the immutable attribute (ext4 and most Linux file
 * systems), else mode 0555 for a non-root user. Throws when neither holds, so a test that
 * needs it fails rather than passing untried. Returns the undo.
 */
export async function makeUnwritable(dir: string): Promise<() => Promise<void>> {
  let undo: () => Promise<void>;
  try {
    await run('chattr', ['+i', dir]);
    undo = async () => void (await run('chattr', ['-i', dir]));
  } catch {
    const mode = (await lstat(dir)).mode & 0o7777;
    await chmod(dir, 0o555);
    undo = () => chmod(dir, mode);
  }
  const probe = join(dir, '.probe');
  if (await writeFile(probe, '').then(() => true, () => false)) {
    await rm(probe, { force: true });
    await undo();
    throw new Error(`cannot make ${dir} unwritable here (no chattr +i, and running as root)`);
  }
  return undo;
}
