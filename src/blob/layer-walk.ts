import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../errors.js';
import { LayerPathChecker } from './path-safety.js';
import { TarScanner } from './tar-scanner.js';
import type { TarMember } from './tar-read.js';

/** A member of a layer, judged safe, with the path it lands on inside the root. */
export interface LayerEntry extends TarMember {
  /** Relative to the layer root, symlinks of the same layer in its parents resolved, no '.'/'..'. */
  path: string;
}

export interface LayerVisitor {
  /** Called for each member before its data. */
  entry(entry: LayerEntry): void | Promise<void>;
  /** The current member's data, in order. */
  data?(chunk: Buffer): void | Promise<void>;
  /** After the current member's last data chunk. */
  entryEnd?(): void | Promise<void>;
}

/**
 * Reads a layer (tar, or gzip of a tar, told apart by content) and hands each member to
 * `visitor` only after the same checks `--layer` gets: strict headers (BAD_TARBALL) and the
 * path safety of LayerPathChecker (UNSAFE_PATH). `where` starts every message ("image x layer
 * sha256:…"). Anything that lists or extracts files from a layer should read it through here.
 */
export async function walkLayer(source: AsyncIterable<Uint8Array>, where: string, visitor: LayerVisitor): Promise<void> {
  const checker = new LayerPathChecker(where);
  const scanner = new TarScanner(where, () => {});
  let sawBytes = false;
  for await (const chunk of await uncompressed(source, where)) {
    sawBytes ||= chunk.length > 0;
    for (const event of scanner.write(chunk)) {
      if (event.kind === 'member') await visitor.entry({ ...event.member, path: checker.check(event.member) });
      else if (event.kind === 'data') await visitor.data?.(event.chunk);
      else await visitor.entryEnd?.();
    }
  }
  scanner.end();
  if (!sawBytes) throw new UsageError('BAD_TARBALL', `${where}: contains no tar data`);
}

async function uncompressed(source: AsyncIterable<Uint8Array>, where: string): Promise<AsyncIterable<Uint8Array>> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return Readable.from([]);
  const head = Buffer.from(first.value);
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = pipeline(Readable.from(rest()), createGunzip(), () => {}); // errors reach the loop below
    return (async function* () {
      try {
        for await (const chunk of gunzip) yield chunk as Buffer;
      } catch (err) {
        throw new UsageError('BAD_TARBALL', `${where}: not a valid gzip stream (${(err as Error).message})`, { cause: err });
      }
    })();
  }
  return rest();
}
