import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Registries } from '../registry/pool.js';
import type { WritableContent } from './content.js';
import type { Artifact } from './image.js';
import type { PushResult } from './registry-write.js';

/**
 * One place images live (an OCI layout, an image tarball, a registry, a Docker or podman
 * daemon), behind one interface: a location string parsed into a location of its kind,
 * described for messages, read into an Image or Index, written from one. `location.ts`
 * holds the table of transports; `copy-image.ts` and the loaders dispatch through it by the
 * location's `kind`. A new transport is one file implementing this and one row in that table.
 */
export interface Transport<L extends { kind: string }> {
  readonly kind: L['kind'];
  /** Whether `text` names a location of this transport: its prefix (`oci:`), or its shape. */
  claims(text: string, cwd: string): boolean;
  /** The location `text` names; bad usage (exit 2) naming `what` when it is malformed. */
  parse(text: string, cwd: string, what: string): L;
  /** How messages and results name the location (`oci:/abs/dir:NAME`, `quay.io/x/y:v1`, `docker`). */
  describe(loc: L): string;
  /** Reads the image or index at the location, checking what it reads. */
  read(loc: L, registries?: Registries): Promise<Artifact>;
  /** Writes an image or index read from elsewhere to the location. */
  write(loc: L, artifact: Artifact, opts: WriteOptions): Promise<Written>;
  /**
   * As a destination, before the source is read: what can be checked of it alone (names
   * given for it, which only a local copy takes; reaching a registry while the source is read).
   */
  prepareWrite?(loc: L, registries: Registries, names: readonly string[]): void;
  /**
   * As a destination: it keeps one artifact under one reference, so a source read whole must
   * not hold several names (that would be a nested index, which podman and docker refuse).
   */
  readonly oneArtifact?: boolean;
  /** As a source: fails when the location, read whole, holds several names. */
  refuseSeveralNames?(loc: L, where: string): Promise<void>;
  /** As a source: the names a local copy of it goes by when the copy is given none. */
  defaultNames?(loc: L): string[];
}

/** A transport that also writes images (and an index over them) it is handed one by one. */
export interface LocalTransport<L extends { kind: string }> extends Transport<L> {
  /** Writes `content` under `names`: RepoTags and ref.name in a tarball, entries of a layout, the name a daemon loads it under. */
  writeContent(loc: L, content: WritableContent, names: string[], epoch: number): Promise<void>;
}

export interface WriteOptions {
  registries: Registries;
  /** How messages name the source. */
  source: string;
  /** The names a local destination goes by (see CopyOptions.names); a registry's reference names it. */
  names: string[];
  /** mtime of entries in a written tarball (SOURCE_DATE_EPOCH). */
  epoch: number;
  signal?: AbortSignal;
}

/** What a write did: where it went, and for a registry what the push did, for a local copy the names. */
export interface Written {
  destination: string;
  push?: PushResult;
  tags?: string[];
}

/**
 * skopeo's `PREFIX:PATH[:NAME]` for a local transport, the path resolved against `cwd`. The
 * name follows the first colon after the path; a name may itself hold colons
 * (`oci:dist:quay.io/x/y:v1`). Paths with colons can be written ./a:b without a prefix.
 */
export function parsePrefixed(text: string, prefix: string, cwd: string, what: string, noun: 'directory' | 'file'): { path: string; name?: string } {
  const rest = text.slice(prefix.length);
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const name = colon < 0 ? undefined : rest.slice(colon + 1);
  const form = `${prefix}${noun === 'directory' ? 'DIR' : 'PATH'}[:NAME]`;
  if (path === '') throw new UsageError('BAD_FLAG', `${what}: "${text}" names no ${noun}; write ${form}`);
  if (name === '') throw new UsageError('BAD_FLAG', `${what}: "${text}" has an empty name after the colon`);
  return name === undefined ? { path: resolve(cwd, path) } : { path: resolve(cwd, path), name };
}
