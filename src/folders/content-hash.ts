/**
 * An image folder's content hash: one sha256 over everything the image is made from, so the
 * same inputs give the same tag on every machine and any change gives another. It covers the
 * build context's files after the build's ignore file (paths, kinds, modes, bytes or link
 * targets), the Dockerfiles' texts, the build args and variant, the hashes of local images it is built FROM, the digests ImageSources
 * resolved to, and berth's build-format version. Not the platforms: the hash names an index
 * that gains platforms as they are built.
 */
import { createHash } from 'node:crypto';

/** Bumped when berth would build the same inputs into different bytes. */
export const BUILD_FORMAT_VERSION = 'berth-images/2';

export interface HashedFile {
  /** Slash-separated, relative to the image's folder. */
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** sha256 hex of a file's bytes; a symlink's target. */
  content?: string;
}

export interface HashInputs {
  files: readonly HashedFile[];
  /** Each Dockerfile's file name with the sha256 of its text (it may live outside the context). */
  dockerfiles?: Readonly<Record<string, string>>;
  buildArgs: Readonly<Record<string, string>>;
  variant?: string;
  /** Local images it is built FROM, by name, with their content hashes. */
  localBases: Readonly<Record<string, string>>;
  /** ImageSource files by file name, with the digest each resolved to. */
  imageSources: Readonly<Record<string, string>>;
}

const byKey = <T>(o: Readonly<Record<string, T>>): [string, T][] => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** The hash, as 64 hex digits. Order of files and keys does not matter; every value does. */
export function contentHash(inputs: HashInputs): string {
  const files = [...inputs.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const canonical = JSON.stringify([
    BUILD_FORMAT_VERSION,
    files.map((f) => [f.path, f.kind, f.mode, f.content ?? '']),
    byKey(inputs.dockerfiles ?? {}),
    byKey(inputs.buildArgs),
    inputs.variant ?? '',
    byKey(inputs.localBases),
    byKey(inputs.imageSources),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The tag a content hash gives by default: its first 16 hex digits. */
export function contentHashTag(hash: string, variant?: string): string {
  return variant ? `${hash.slice(0, 16)}-${variant}` : hash.slice(0, 16);
}
