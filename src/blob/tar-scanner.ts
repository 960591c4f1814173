import tar from 'tar-stream';
import { isBerthError, UsageError } from '../errors.js';

export interface ScannedHeader {
  name: string;
  type: string;
  linkname?: string | null;
  size?: number;
}

/**
 * Parses tar bytes as they stream past (tar-stream's extract) and calls `onEntry` with each
 * member's header, skipping the content. If `onEntry` throws, that error is the scan's
 * failure; a malformed or truncated archive fails with UsageError BAD_TARBALL naming `file`.
 */
export class TarScanner {
  // Old v7 tars have no ustar magic; the header checksum still guards against garbage.
  private readonly extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  private failure: Error | undefined;

  constructor(
    private readonly file: string,
    onEntry: (header: ScannedHeader) => void,
  ) {
    this.extract.on('entry', (header, body, next) => {
      body.on('error', () => {}); // the extract's own error event reports it
      try {
        onEntry(header);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      body.on('end', () => next());
      body.resume();
    });
    this.extract.on('error', (err: Error) => {
      this.failure ??= new UsageError('BAD_TARBALL', `--layer ${this.file}: not a valid tar archive (${err.message})`, {
        cause: err,
      });
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (!this.extract.write(chunk)) await this.settled('drain');
    this.throwIfFailed();
  }

  /** Call after the last chunk: fails if the archive stops in the middle of a member. */
  async end(): Promise<void> {
    this.throwIfFailed();
    const finished = this.settled('finish');
    this.extract.end(undefined);
    await finished;
    this.throwIfFailed();
  }

  destroy(): void {
    this.extract.destroy();
  }

  private fail(err: Error): void {
    this.failure ??= isBerthError(err) ? err : new UsageError('BAD_TARBALL', `--layer ${this.file}: ${err.message}`);
    this.extract.destroy(err);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Resolves on `event`, or when the extract closes (destroyed, or failed). */
  private settled(event: 'drain' | 'finish'): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.extract.off(event, done);
        this.extract.off('close', done);
        resolve();
      };
      this.extract.on(event, done);
      this.extract.on('close', done);
    });
  }
}

/** A `stream.pipeline` stage that scans tar bytes while passing them through unchanged. */
export function scanThrough(scanner: TarScanner) {
  return async function* scan(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source) {
        await scanner.write(chunk);
        yield chunk;
      }
      await scanner.end();
    } finally {
      scanner.destroy();
    }
  };
}

/** A `stream.pipeline` destination that scans tar bytes and keeps nothing. */
export function scanSink(scanner: TarScanner) {
  return async function scan(source: AsyncIterable<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of source) await scanner.write(chunk);
      await scanner.end();
    } finally {
      scanner.destroy();
    }
  };
}
