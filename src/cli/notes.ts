import { isIndexMediaType } from '../oci/mediatype.js';
import type { AnyLocation } from '../transport/location.js';
import type { CliIO } from './io.js';

/**
 * Said when a multi-platform image tarball is written: `docker load` reads it but tags
 * nothing (an index has no single image to give RepoTags to), so the per-platform way is shown.
 */
export function dockerLoadNote(io: CliIO, output: AnyLocation, mediaType: string, platforms: readonly string[]): void {
  if (output.kind !== 'tarball' || !isIndexMediaType(mediaType)) return;
  const one = platforms[0] ?? 'OS/ARCH';
  io.stderr.write(
    `berth: note: docker load of this multi-platform tarball tags nothing (RepoTags is empty); to load one platform under its name: berth copy ${output.path} one.tar --platform ${one} --tag NAME, then docker load -i one.tar\n`,
  );
}
