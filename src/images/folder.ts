/**
 * An image folder (`images/` by default): one subfolder per image, each holding any of
 * `Dockerfile`, `Dockerfile.<arch>`, `ImageSource`, `ImageSource.<arch>`, `variants.yaml`,
 * `build_binaries`, beside the files its Dockerfiles copy. A subfolder with neither a
 * Dockerfile nor an ImageSource is not an image (a shared helper folder, say).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { sourceFiles, type SourceFile } from './sources.js';
import { parseVariants, type Variant } from './variants.js';

export interface ImageFolder {
  name: string;
  dir: string;
  sources: SourceFile[];
  variants: Variant[];
  /** The path of an executable `build_binaries`, when the folder has one. */
  buildBinaries?: string;
}

/** Image names are the folders' names, and so part of image references: lower case. */
const IMAGE_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export async function readImageFolder(root: string, name: string): Promise<ImageFolder | undefined> {
  const dir = join(root, name);
  const names = await readdir(dir);
  const sources = sourceFiles(name, names);
  if (sources.length === 0) return undefined;
  if (!IMAGE_NAME.test(name)) {
    throw new UsageError('BAD_IMAGE_FOLDER', `${dir}: "${name}" cannot name an image (lower-case letters, digits, '.', '_', '-')`);
  }
  const folder: ImageFolder = { name, dir, sources, variants: [] };
  if (names.includes('variants.yaml')) {
    const file = join(dir, 'variants.yaml');
    folder.variants = await parseVariants(await readFile(file, 'utf8'), file);
  }
  if (names.includes('build_binaries')) {
    const file = join(dir, 'build_binaries');
    const st = await stat(file);
    if (!st.isFile() || (st.mode & 0o111) === 0) throw new UsageError('BAD_IMAGE_FOLDER', `${file}: not an executable file; chmod +x it`);
    folder.buildBinaries = file;
  }
  return folder;
}

/** Every image of the folder, by name. A missing folder is bad input naming where it looked. */
export async function readImagesRoot(root: string): Promise<ImageFolder[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError('NOT_FOUND', `${root}: no such image folder (--dir, or images.dir in berth.yaml)`);
    throw err;
  }
  const out: ImageFolder[] = [];
  for (const e of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const f = await readImageFolder(root, e.name);
    if (f) out.push(f);
  }
  return out;
}

/** The named images, or a UsageError naming an unknown one and what the folder has. */
export function pickImages(all: readonly ImageFolder[], names: readonly string[]): ImageFolder[] {
  return names.map((n) => {
    const f = all.find((i) => i.name === n);
    if (!f) throw new UsageError('NOT_FOUND', `no image "${n}" in the image folder (it has: ${all.map((i) => i.name).join(', ') || 'none'})`);
    return f;
  });
}
