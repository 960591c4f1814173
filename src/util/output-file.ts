import { open, rm, type FileHandle } from 'node:fs/promises';
import { isBerthError, OperationalError } from '../errors.js';
import { isFsError } from './fs-errors.js';

/**
 * Creates (or truncates) `outPath`, hands it to `write`, and closes it. If anything fails the
 * file is removed, so a failed build never leaves a partial blob behind; the error goes
 * through `classify` (to name a bad input). A file-system error is rethrown as Node gave it,
 * for the caller that knows which path the user named (fs-errors.ts `withFsErrors`);
 * anything else not yet a BerthError becomes an OperationalError naming `outPath`.
 */
export async function writeOutputFile(
  outPath: string,
  write: (out: FileHandle) => Promise<void>,
  classify: (err: unknown) => unknown = (err) => err,
): Promise<void> {
  let failure: { err: unknown } | undefined;
  const out = await open(outPath, 'w');
  try {
    await write(out);
  } catch (err) {
    failure = { err };
  }
  // close() waits for writes still in flight, so nothing touches the file after the rm below.
  await out.close().catch((err: unknown) => {
    failure ??= { err };
  });
  if (!failure) return;
  await rm(outPath, { force: true }).catch(() => {});
  const err = classify(failure.err);
  if (isBerthError(err) || isFsError(err)) throw err;
  throw new OperationalError('IO', `writing ${outPath}: ${(err as Error).message}`, { cause: err });
}

/** A `stream.pipeline` destination that writes everything to `out`. */
export function writeTo(out: FileHandle) {
  return async function write(source: AsyncIterable<Uint8Array>): Promise<void> {
    for await (const chunk of source) await writeAll(out, chunk);
  };
}

/** A `stream.pipeline` stage that writes each chunk to `out`, then passes it on. */
export function copyTo(out: FileHandle) {
  return async function* copy(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      await writeAll(out, chunk);
      yield chunk;
    }
  };
}

async function writeAll(out: FileHandle, chunk: Uint8Array): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    written += (await out.write(chunk, written, chunk.length - written)).bytesWritten;
  }
}
