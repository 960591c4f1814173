import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { DEFAULT_GZIP_LEVEL, parallelGzip, type GzipOptions } from './gzip.js';
import { describeFsError } from '../util/fs-errors.js';
import { BlobHasher, tapHasher } from './hasher.js';
import { copyTo, writeOutputFile, writeTo } from '../util/output-file.js';
import { LayerPathChecker } from './path-safety.js';
import { createTarStream, type TarEntry } from './tar.js';
import { scanSink, scanThrough, TarScanner } from './tar-scanner.js';

/** A gzipped layer blob and what its manifest and config say about it. */
export interface LayerInfo {
  /** sha256 of the compressed blob (the manifest's layer digest). */
  digest: Digest;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffID: Digest;
  /** Bytes of the compressed blob. */
  size: number;
  uncompressedSize: number;
}

const READ_SIZE = 1 << 20;

export interface BuildLayerOptions extends GzipOptions {
  /** Where the gzipped blob goes: created or truncated, and removed again if the build fails. */
  outPath: string;
}

/** Builds a gzipped layer of `entries` in one pass: tar → diffID → parallel gzip → digest → file. */
export async function buildLayer(entries: readonly TarEntry[], options: BuildLayerOptions): Promise<LayerInfo> {
  const { outPath, ...gzip } = options;
  const tarStream = createTarStream(entries);
  const uncompressed = new BlobHasher();
  const compressed = new BlobHasher();
  await writeOutputFile(outPath, (out) =>
    pipeline(tarStream, tapHasher(uncompressed), parallelGzip(gzip), tapHasher(compressed), writeTo(out)),
  );
  return layerInfo(compressed, uncompressed);
}

/**
 * Adds a user's `--layer` file, a tar or a gzipped tar (told apart by content, not name): a tar
 * is gzipped as `buildLayer` does; a gzip is copied byte for byte while its diffID is computed
 * from the decompressed bytes. Either way every member is checked in the same pass
 * (LayerPathChecker): unsafe content fails with UNSAFE_PATH, a corrupt archive with
 * BAD_TARBALL, and `outPath` is not left behind.
 */
export async function addExistingLayer(srcPath: string, outPath: string, level: number = DEFAULT_GZIP_LEVEL): Promise<LayerInfo> {
  if (resolve(srcPath) === resolve(outPath)) throw new TypeError(`addExistingLayer: ${outPath} would overwrite its own input`);
  const format = await sniffLayerFormat(srcPath);
  const where = `--layer ${srcPath}`;
  const checker = new LayerPathChecker(where);
  const scanner = new TarScanner(where, (member) => checker.check(member));
  const uncompressed = new BlobHasher();
  const compressed = new BlobHasher();
  const classify = (err: unknown) => (isZlibError(err) ? badTarball(srcPath, `not a valid gzip stream (${err.message})`) : err);
  await writeOutputFile(outPath, async (out) => {
    const source = createReadStream(srcPath, { highWaterMark: READ_SIZE });
    if (format === 'gzip') {
      await pipeline(source, tapHasher(compressed), copyTo(out), createGunzip(), tapHasher(uncompressed), scanSink(scanner));
    } else {
      await pipeline(
        source,
        tapHasher(uncompressed),
        scanThrough(scanner),
        parallelGzip({ level }),
        tapHasher(compressed),
        writeTo(out),
      );
    }
    if (uncompressed.size === 0) throw badTarball(srcPath, 'contains no tar data');
  }, classify);
  return layerInfo(compressed, uncompressed);
}

type LayerFormat = 'tar' | 'gzip';

/** Reads the first bytes of `path`: gzip by its magic number, otherwise presumed tar. */
async function sniffLayerFormat(path: string): Promise<LayerFormat> {
  let magic: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      magic = Buffer.alloc(4);
      const { bytesRead } = await file.read(magic, 0, 4, 0);
      magic = magic.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (err) {
    throw new UsageError('UNREADABLE', `--layer ${path}: ${describeFsError(err)}`, { cause: err });
  }
  if (magic.length === 0) throw badTarball(path, 'is empty');
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) {
    throw badTarball(path, 'is zstd-compressed, which is not supported; give a tar or a .tar.gz');
  }
  return 'tar';
}

function layerInfo(compressed: BlobHasher, uncompressed: BlobHasher): LayerInfo {
  const blob = compressed.result();
  const tar = uncompressed.result();
  return { digest: blob.digest, diffID: tar.digest, size: blob.size, uncompressedSize: tar.size };
}

function badTarball(path: string, what: string): UsageError {
  return new UsageError('BAD_TARBALL', `--layer ${path}: ${what}`);
}

/** zlib's errors carry codes such as Z_DATA_ERROR and Z_BUF_ERROR (truncated input). */
function isZlibError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
