import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { withLock, writeFileAtomic } from '../util/atomic.js';
import { createDirs, removeScratchDir } from '../util/scratch.js';
import { makeScratchDir } from '../util/work-folders.js';
import { fileMatches } from '../blob/verify-stream.js';
import { OperationalError, UsageError } from '../errors.js';
import { Annotation } from '../oci/annotations.js';
import { compareIndexEntries, type Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/mediatype.js';
import { encodeJson, parseManifestOrIndex, type ImageIndex } from '../oci/manifest.js';
import { platformMatches } from '../oci/platform.js';
import { contentBlobs, topDescriptor, type WritableContent } from './content.js';
import { blobPath } from './layout-read.js';

export const OCI_LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** Content to write into a layout, and the names (or `undefined`: unnamed) it goes by there. */
export interface LayoutEntry {
  content: WritableContent;
  refNames: (string | undefined)[];
}

/** Adds content to the OCI layout at `dir`, as writeLayout does. */
export async function addToLayout(dir: string, content: WritableContent, refNames: (string | undefined)[]): Promise<void> {
  await writeLayout(dir, [{ content, refNames }]);
}

/**
 * Writes entries into the OCI layout at `dir`, all or nothing. Every blob is first written
 * into a work folder (a new layout is built whole beside `dir`, then renamed into place), so a
 * bad input (a blob whose bytes do not match) fails before the layout is touched and leaves it
 * exactly as it was; a new `dir` is then not created at all. A blob already in the layout is
 * reused only when its size and digest check out; a file with wrong bytes is replaced.
 * index.json is rewritten atomically under a lock, so several berth processes can add images
 * to one layout at once; an entry with the same name and platform is replaced.
 */
export async function writeLayout(dir: string, entries: readonly LayoutEntry[]): Promise<void> {
  const existing = await existingLayout(dir);
  const stageParent = existing ? dir : dirname(dir);
  const created = existing ? undefined : await createDirs(stageParent);
  let stage: string | undefined;
  let done = false;
  try {
    stage = await makeScratchDir(stageParent);
    const staged = await stageBlobs(dir, stage, entries, existing);
    const added = entries.flatMap(namedDescriptors);
    if (existing || !(await publishWhole(stage, dir, added))) await commit(dir, stage, staged, added);
    done = true;
  } finally {
    if (stage !== undefined) await removeScratchDir(stage);
    if (done) created?.keep();
    else await created?.undo();
  }
}

/** Whether `dir` exists (as a folder); when it holds an index.json, that is read and checked first. */
async function existingLayout(dir: string): Promise<boolean> {
  const s = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    if (err.code === 'ENOTDIR') throw new UsageError('BAD_LAYOUT', `oci:${dir}: a parent of it is a file, not a folder`);
    throw err;
  });
  if (s === undefined) return false;
  if (!s.isDirectory()) throw new UsageError('BAD_LAYOUT', `oci:${dir}: is a file, not an OCI layout folder`);
  await readIndexJson(join(dir, 'index.json'));
  return true;
}

/** A blob of the entries: written into the work folder (`staged`), or already right in the layout. */
interface StagedBlob {
  desc: Descriptor;
  staged: boolean;
}

async function stageBlobs(dir: string, stage: string, entries: readonly LayoutEntry[], existing: boolean): Promise<StagedBlob[]> {
  await mkdir(join(stage, 'blobs', 'sha256'), { recursive: true });
  const out: StagedBlob[] = [];
  const seen = new Set<string>();
  for (const { content } of entries) {
    for (const { desc, bytes, image } of contentBlobs(content)) {
      if (seen.has(desc.digest)) continue;
      seen.add(desc.digest);
      if (existing && (await fileMatches(join(dir, blobPath(desc.digest)), desc))) {
        out.push({ desc, staged: false });
        continue;
      }
      const path = join(stage, blobPath(desc.digest));
      await mkdir(dirname(path), { recursive: true });
      // The source checks every streamed blob against its digest and size (BlobSource); a
      // mismatch fails here, before the layout is touched.
      if (bytes) await writeFile(path, bytes);
      else await pipeline(await image!.blobs.open(desc), createWriteStream(path));
      out.push({ desc, staged: true });
    }
  }
  return out;
}

/** Each entry's descriptor as index.json lists it, once per name. */
function namedDescriptors(entry: LayoutEntry): Descriptor[] {
  const top = topDescriptor(entry.content);
  return entry.refNames.map((refName): Descriptor => (refName ? { ...top, annotations: { ...(top.annotations ?? {}), [Annotation.refName]: refName } } : top));
}

/**
 * A new layout: completes the work folder as a layout and renames it to `dir`. False when
 * `dir` appeared meanwhile (another berth writing the same new layout), to be merged into.
 */
async function publishWhole(stage: string, dir: string, added: Descriptor[]): Promise<boolean> {
  await writeFile(join(stage, 'oci-layout'), OCI_LAYOUT_FILE);
  const index = mergeIndex(emptyIndex(), added);
  await writeFile(join(stage, 'index.json'), encodeJson(index));
  try {
    await rename(stage, dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw err;
  }
}

/**
 * Moves the staged blobs into the existing layout and rewrites index.json, under its lock. If
 * any step fails, what this step added is taken away again, so the layout is as it was.
 */
async function commit(dir: string, stage: string, blobs: StagedBlob[], added: Descriptor[]): Promise<void> {
  const indexPath = join(dir, 'index.json');
  await withLock(`${indexPath}.lock`, async () => {
    const undo: (() => Promise<unknown>)[] = [];
    try {
      const index = await readIndexJson(indexPath);
      const blobDir = await createDirs(join(dir, 'blobs', 'sha256'));
      undo.push(blobDir.undo);
      for (const { desc, staged } of blobs) {
        const target = join(dir, blobPath(desc.digest));
        if (staged) {
          const was = await stat(target).then(() => true, () => false);
          await mkdir(dirname(target), { recursive: true });
          await rename(join(stage, blobPath(desc.digest)), target);
          if (!was) undo.push(() => rm(target, { force: true }));
        } else if ((await stat(target).catch(() => undefined))?.size !== desc.size) {
          throw new OperationalError('IO', `oci:${dir}: blob ${desc.digest} was removed or changed while berth was writing; run again`);
        }
      }
      const layoutFile = join(dir, 'oci-layout');
      if (!(await stat(layoutFile).then(() => true, () => false))) {
        await writeFileAtomic(layoutFile, OCI_LAYOUT_FILE);
        undo.push(() => rm(layoutFile, { force: true }));
      }
      await writeFileAtomic(indexPath, encodeJson(mergeIndex(index, added)));
      blobDir.keep();
    } catch (err) {
      for (const u of undo.reverse()) await u().catch(() => {});
      throw err;
    }
  });
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/** The index with `added`, each replacing an entry in the same slot. */
function mergeIndex(index: ImageIndex, added: Descriptor[]): ImageIndex {
  const kept = index.manifests.filter((d) => !added.some((a) => sameSlot(d, a)));
  return { ...index, manifests: [...kept, ...added].sort(compareEntries) };
}

async function readIndexJson(path: string): Promise<ImageIndex> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError('BAD_LAYOUT', `${path}: is a folder, not an image index`);
    throw err;
  }
  const parsed = parseManifestOrIndex(raw, path, MediaType.ociIndex);
  if (parsed.kind !== 'index') throw new UsageError('BAD_LAYOUT', `${path}: is not an image index`);
  return parsed.index;
}

/** Two entries fill the same slot when they have the same name and the same platform. */
function sameSlot(a: Descriptor, b: Descriptor): boolean {
  const name = (d: Descriptor) => d.annotations?.[Annotation.refName];
  if (name(a) !== name(b)) return false;
  if (a.platform && b.platform) return platformMatches(a.platform, b.platform);
  return a.digest === b.digest;
}

/** index.json lists entries by name, then in the canonical index order, so its bytes do not depend on build order. */
function compareEntries(a: Descriptor, b: Descriptor): number {
  const na = a.annotations?.[Annotation.refName] ?? '';
  const nb = b.annotations?.[Annotation.refName] ?? '';
  return na < nb ? -1 : na > nb ? 1 : compareIndexEntries(a, b);
}
