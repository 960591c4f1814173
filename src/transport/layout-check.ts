import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileMatches } from '../blob/verify-stream.js';
import { OperationalError } from '../errors.js';
import { Annotation } from '../oci/annotations.js';
import { MediaType } from '../oci/mediatype.js';
import { parseManifestOrIndex } from '../oci/manifest.js';
import { contentBlobs, topDescriptor } from './content.js';
import { blobPath } from './layout-read.js';
import type { LayoutEntry } from './layout-write.js';

function fail(what: string): never {
  throw new OperationalError('DIGEST_MISMATCH', `read-back check failed: ${what}`);
}

/**
 * Reads back from disk what writeLayout wrote into `dir`: index.json names each entry's
 * content (one entry per name, with its digest, size and media type), and every blob of the
 * entries, written or reused, has exactly its size and digest.
 */
export async function checkLayout(dir: string, entries: readonly LayoutEntry[]): Promise<void> {
  const where = `oci:${dir}`;
  const raw = await readFile(join(dir, 'index.json')).catch(() => fail(`${where} has no readable index.json`));
  const parsed = parseManifestOrIndex(raw, `${where} index.json`, MediaType.ociIndex);
  if (parsed.kind !== 'index') fail(`${where} index.json is not an image index`);
  const listed = parsed.index.manifests;
  const seen = new Set<string>();
  for (const { content, refNames } of entries) {
    const top = topDescriptor(content);
    for (const name of refNames) {
      const mine = listed.filter((d) => (name === undefined ? d.digest === top.digest : d.annotations?.[Annotation.refName] === name));
      if (mine.length !== 1 && !(name === undefined && mine.length > 1)) fail(`${where} index.json lists ${mine.length} entries for ${name ?? top.digest}, not 1`);
      for (const d of mine) {
        if (d.digest !== top.digest || d.size !== top.size || d.mediaType !== top.mediaType) {
          fail(`${where} index.json names ${name} ${d.digest} (${d.size} bytes, ${d.mediaType}), not ${top.digest} (${top.size} bytes, ${top.mediaType})`);
        }
      }
    }
    for (const { desc } of contentBlobs(content)) {
      if (seen.has(desc.digest)) continue;
      seen.add(desc.digest);
      if (!(await fileMatches(join(dir, blobPath(desc.digest)), desc))) fail(`${where} blob ${desc.digest} is missing or does not have its ${desc.size} bytes and digest`);
    }
  }
}
