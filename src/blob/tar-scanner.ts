import { UsageError } from '../errors.js';
import { TarFormatError, TarParser, type TarEvent, type TarMember } from './tar-read.js';

/**
 * Parses tar bytes as they stream past and calls `onEntry` with each member (PAX and GNU long
 * names applied), skipping the content. If `onEntry` throws, that error is the scan's
 * failure; a malformed, truncated or ambiguous archive fails with UsageError BAD_TARBALL
 * starting with `where` (`--layer a.tar`). Layers are read strictly: only the member types
 * every extractor knows, and nothing but zeros after the end-of-archive marker.
 */
export class TarScanner {
  private readonly parser = new TarParser({ strictTypes: true, zerosAfterEnd: true });

  constructor(
    private readonly where: string,
    private readonly onEntry: (member: TarMember) => void,
  ) {}

  write(chunk: Uint8Array): TarEvent[] {
    const events = this.guard(() => this.parser.write(chunk));
    for (const event of events) if (event.kind === 'member') this.onEntry(event.member);
    return events;
  }

  /** Call after the last chunk: fails if the archive stops in the middle of a member. */
  end(): void {
    this.guard(() => this.parser.end());
  }

  private guard<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (err instanceof TarFormatError) {
        throw new UsageError('BAD_TARBALL', `${this.where}: not a valid tar archive (${err.message})`, { cause: err });
      }
      throw err;
    }
  }
}

/** A `stream.pipeline` stage that scans tar bytes while passing them through unchanged. */
export function scanThrough(scanner: TarScanner) {
  return async function* scan(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      scanner.write(chunk);
      yield chunk;
    }
    scanner.end();
  };
}

/** A `stream.pipeline` destination that scans tar bytes and keeps nothing. */
export function scanSink(scanner: TarScanner) {
  return async function scan(source: AsyncIterable<Uint8Array>): Promise<void> {
    for await (const chunk of source) scanner.write(chunk);
    scanner.end();
  };
}
