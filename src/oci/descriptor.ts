import { UsageError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';
import type { Platform } from './platform.js';

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
