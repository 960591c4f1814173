import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { ImageConfig, ImageIndex, ImageManifest } from '../oci/manifest.js';

/**
 * Where an image's blobs can be read from. Every stream it opens is checked against the
 * descriptor's digest and size as it is read, and fails at the end if they differ.
 */
export interface BlobSource {
  /** A human name for where the blobs live, used in errors ("out/base.tar"). */
  readonly origin: string;
  open(desc: Descriptor): Promise<Readable>;
  /** A local file holding exactly the blob's bytes, if the source has one (lets writers link or copy). */
  localPath?(desc: Descriptor): string | undefined;
}

/** Blobs read from a repository of a registry (through a local cache when given one). */
export interface RemoteBlobSource extends BlobSource {
  readonly registry: string;
  readonly repository: string;
}

export function isRemoteBlobSource(b: BlobSource): b is RemoteBlobSource {
  return typeof (b as Partial<RemoteBlobSource>).registry === 'string' && typeof (b as Partial<RemoteBlobSource>).repository === 'string';
}

/** A single-platform image: its manifest and config read and checked, its layers lazy. */
export interface Image {
  kind: 'image';
  mediaType: string;
  /** The digest of `manifestRaw`, exactly as stored. */
  digest: Digest;
  manifestRaw: Uint8Array;
  manifest: ImageManifest;
  configRaw: Uint8Array;
  config: ImageConfig;
  blobs: BlobSource;
}

/** An image index (or Docker manifest list) whose children are read on demand. */
export interface Index {
  kind: 'index';
  mediaType: string;
  digest: Digest;
  raw: Uint8Array;
  index: ImageIndex;
  blobs: BlobSource;
  child(desc: Descriptor): Promise<Image | Index>;
}

export type Artifact = Image | Index;
