import { UsageError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';
import { comparePlatforms, type Platform } from './platform.js';

/** A content descriptor: what a manifest or index points at. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/**
 * The canonical order of an index's entries: by platform (comparePlatforms; an entry with no
 * platform first), then by digest. Every index berth assembles lists its entries so.
 */
export function compareIndexEntries(a: Descriptor, b: Descriptor): number {
  if (a.platform && b.platform) {
    const c = comparePlatforms(a.platform, b.platform);
    if (c !== 0) return c;
  } else if (a.platform || b.platform) {
    return a.platform ? 1 : -1;
  }
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** The exact bytes of a JSON document and its parsed form. Digests are always of `raw`. */
export interface RawJson<T> {
  raw: Uint8Array;
  parsed: T;
}

/** Checks a descriptor read from a file or a server; `where` names it in errors. */
export function validateDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw bad(where, 'is not an object');
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw bad(where, 'has no mediaType');
  if (typeof digest !== 'string' || !isDigest(digest)) throw bad(where, `has an invalid digest ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(where, `has an invalid size ${JSON.stringify(size)}`);
  if (value.annotations !== undefined && !isStringMap(value.annotations)) throw bad(where, 'has annotations that are not strings');
  if (value.platform !== undefined) {
    const p = value.platform;
    if (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') throw bad(where, 'has a platform without os and architecture');
  }
  return value as unknown as Descriptor;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isStringMap(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

function bad(where: string, what: string): UsageError {
  return new UsageError('BAD_MANIFEST', `${where}: descriptor ${what}`);
}
