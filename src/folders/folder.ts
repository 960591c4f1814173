/**
 * An image folder (`images/` by default): every folder below it, at any depth, that holds a
 * `Dockerfile`, `Dockerfile.<arch>`, `ImageSource` or `ImageSource.<arch>` is an image, named
 * by its path (`basic/busybox`, gVisor's nested images); a folder that is an image is not
 * searched further. Beside its Dockerfiles it may hold `variants.yaml`, `build_binaries`
 * (with `build_binaries.outputs`) and the files its Dockerfiles copy. berth.yaml's
 * `images.builds` adds settings to these images by name, or declares images that live
 * elsewhere (kyma: a Dockerfile under cmd/ built from the repository root).
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { IgnoreRules } from '../dockerfile/dockerignore.js';
import { readArgFile } from '../config/arg-file.js';
import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { checkAmbiguity, sourceFiles, type SourceFile } from './sources.js';
import { parseVariants, type Variant } from './variants.js';

export interface ImageFolder {
  /** Its path below the image folder (`basic/busybox`), or its `images.builds` key. */
  name: string;
  /** Where its Dockerfiles (and variants.yaml, build_binaries) are. */
  dir: string;
  /** The build context (default: `dir`). */
  context: string;
  sources: SourceFile[];
  variants: Variant[];
  /** The path of an executable `build_binaries`, when the folder has one. */
  buildBinaries?: string;
  /** What build_binaries writes (ignore patterns relative to `dir`; default `bin/`). */
  outputs?: IgnoreRules;
  /** From berth.yaml's `images.builds`: this image's platforms (over `images.platforms`). */
  platforms?: Platform[];
  /** From `images.builds`: build args (its build-arg-file, then build-args). */
  buildArgs?: Record<string, string>;
  /** From `images.builds`: tags besides the content-hash tag (templates). */
  tags?: string[];
}

/** One `images.builds` entry, paths relative to berth.yaml's folder. */
export interface BuildEntry {
  name: string;
  dockerfile?: string;
  context?: string;
  platforms?: string[];
  buildArgs?: Record<string, string>;
  buildArgFile?: string;
  tags?: string[];
}

export interface Skipped {
  path: string;
  why: string;
}

export interface Discovered {
  images: ImageFolder[];
  /** Folders below the image folder that are no image and hold none, with why. */
  skipped: Skipped[];
}

/** One path segment of an image name: part of image references, so lower case. */
const SEGMENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** The spelling `make` targets use (`basic_busybox`): `/` as `_`. */
export const flatName = (name: string): string => name.replaceAll('/', '_');

function checkName(name: string, where: string): void {
  if (!name.split('/').every((s) => SEGMENT.test(s))) throw new UsageError('BAD_IMAGE_FOLDER', `${where}: "${name}" cannot name an image (lower-case letters, digits, '.', '_', '-' per path segment)`);
}

export async function readImageFolder(root: string, name: string, names?: string[]): Promise<ImageFolder | undefined> {
  const dir = join(root, ...name.split('/'));
  names ??= await readdir(dir);
  const sources = sourceFiles(name, names);
  if (sources.length === 0) return undefined;
  checkName(name, dir);
  checkAmbiguity(name, sources);
  const folder: ImageFolder = { name, dir, context: dir, sources, variants: [] };
  if (names.includes('variants.yaml')) {
    const file = join(dir, 'variants.yaml');
    folder.variants = await parseVariants(await readFile(file, 'utf8'), file);
  }
  if (names.includes('build_binaries')) {
    const file = join(dir, 'build_binaries');
    const st = await stat(file);
    if (!st.isFile() || (st.mode & 0o111) === 0) throw new UsageError('BAD_IMAGE_FOLDER', `${file}: not an executable file; chmod +x it`);
    folder.buildBinaries = file;
    const outFile = join(dir, 'build_binaries.outputs');
    const text = names.includes('build_binaries.outputs') ? await readFile(outFile, 'utf8') : 'bin/\n';
    folder.outputs = IgnoreRules.parse(text, outFile);
  }
  return folder;
}

/** Every image below `root` (nested folders too), and the folders skipped with why. */
export async function discoverImages(root: string): Promise<Discovered> {
  let top;
  try {
    top = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError('NOT_FOUND', `${root}: no such image folder (--dir, or images.dir in berth.yaml)`);
    throw err;
  }
  const images: ImageFolder[] = [];
  const skipped: Skipped[] = [];
  // Returns whether the folder is an image or holds one.
  const walk = async (rel: string, entries: { name: string; isDirectory(): boolean }[]): Promise<boolean> => {
    if (rel) {
      const f = await readImageFolder(root, rel, entries.map((e) => e.name));
      if (f) {
        images.push(f);
        return true;
      }
    }
    let found = false;
    for (const e of entries.filter((x) => x.isDirectory() && !x.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      const below = await readdir(join(root, child), { withFileTypes: true });
      if (await walk(child, below)) found = true;
      else if (!below.some((x) => x.isDirectory() && !x.name.startsWith('.'))) skipped.push({ path: child, why: 'no Dockerfile or ImageSource' });
    }
    return found;
  };
  await walk('', top);
  return { images: images.sort((a, b) => (a.name < b.name ? -1 : 1)), skipped };
}

/** Every image of the folder, by name. A missing folder is bad input naming where it looked. */
export async function readImagesRoot(root: string): Promise<ImageFolder[]> {
  return (await discoverImages(root)).images;
}

function inside(repo: string, path: string): boolean {
  const r = relative(repo, path);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

/**
 * The discovered images with berth.yaml's `images.builds` applied: an entry naming a folder
 * image adds its settings; another declares an image by its Dockerfile. Paths are relative to
 * `repo` (berth.yaml's folder) and must stay inside it.
 */
export async function applyBuilds(found: readonly ImageFolder[], entries: readonly BuildEntry[], repo: string): Promise<ImageFolder[]> {
  const out = [...found];
  for (const e of entries) {
    const where = `berth.yaml: images.builds.${e.name}`;
    checkName(e.name, where);
    let idx = out.findIndex((f) => f.name === e.name);
    let image: ImageFolder;
    if (e.dockerfile !== undefined) {
      const file = resolve(repo, e.dockerfile);
      // An entry naming a folder image's Dockerfile takes that image over, under the entry's name.
      const owner = out.findIndex((f) => f.name !== e.name && f.dir === dirname(file));
      if (owner >= 0) {
        if (idx < 0) {
          out[owner] = { ...out[owner]!, name: e.name };
          idx = owner;
        } else out.splice(owner, 1);
        idx = out.findIndex((f) => f.name === e.name);
      }
      if (!inside(repo, file)) throw new UsageError('BAD_BERTH_YAML', `${where}: dockerfile ${e.dockerfile} is outside the repository (${repo})`);
      const st = await lstat(file).catch(() => undefined);
      if (!st?.isFile()) throw new UsageError('BAD_BERTH_YAML', `${where}: dockerfile ${e.dockerfile}: no such file`);
      const dir = dirname(file);
      const base = file.slice(dir.length + 1);
      image = { ...(idx >= 0 ? out[idx]! : { variants: [] }), name: e.name, dir, context: dir, sources: [{ kind: 'dockerfile', file: base }] };
      if (idx < 0) {
        const names = await readdir(dir);
        if (names.includes('variants.yaml')) image.variants = await parseVariants(await readFile(join(dir, 'variants.yaml'), 'utf8'), join(dir, 'variants.yaml'));
      }
    } else if (idx >= 0) {
      image = { ...out[idx]! };
    } else {
      throw new UsageError('BAD_BERTH_YAML', `${where}: no image folder has this name, so give its dockerfile`);
    }
    if (e.context !== undefined) {
      const ctx = resolve(repo, e.context);
      if (!inside(repo, ctx)) throw new UsageError('BAD_BERTH_YAML', `${where}: context ${e.context} is outside the repository (${repo})`);
      const st = await stat(ctx).catch(() => undefined);
      if (!st?.isDirectory()) throw new UsageError('BAD_BERTH_YAML', `${where}: context ${e.context}: no such folder`);
      image.context = ctx;
    }
    if (e.platforms) image.platforms = e.platforms.map((p) => parsePlatform(p, `${where}.platforms`));
    const fileArgs = e.buildArgFile !== undefined ? await readArgFile(resolve(repo, e.buildArgFile), `${where}.build-arg-file ${e.buildArgFile}`) : {};
    if (e.buildArgFile !== undefined || e.buildArgs) image.buildArgs = { ...fileArgs, ...(e.buildArgs ?? {}) };
    if (e.tags) image.tags = [...e.tags];
    if (idx >= 0) out[idx] = image;
    else out.push(image);
  }
  checkSpellings(out);
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Two images one name after `_`/`/` spelling (`a/b` and `a_b`) is bad input. */
export function checkSpellings(all: readonly ImageFolder[]): void {
  const seen = new Map<string, string>();
  for (const f of all) {
    const key = flatName(f.name);
    const other = seen.get(key);
    if (other !== undefined && other !== f.name) throw new UsageError('BAD_IMAGE_FOLDER', `images "${other}" and "${f.name}" are both named ${key} (make's spelling); rename one`);
    seen.set(key, f.name);
  }
}

/** The named images (`basic/busybox` or `basic_busybox`), or a UsageError naming an unknown one and what the folder has. */
export function pickImages(all: readonly ImageFolder[], names: readonly string[]): ImageFolder[] {
  return names.map((n) => {
    const f = all.find((i) => i.name === n) ?? all.find((i) => flatName(i.name) === n);
    if (!f) throw new UsageError('NOT_FOUND', `no image "${n}" in the image folder (it has: ${all.map((i) => i.name).join(', ') || 'none'})`);
    return f;
  });
}

export const describePlatforms = (ps: readonly Platform[]): string => ps.map(formatPlatform).join(', ');
