/**
 * `berth index`: one index (or manifest list) over local images, written to an image tarball
 * or an OCI layout. The same planning as a release (conversion, platform checks), with no
 * registry.
 */
import type { Format } from '../oci/mediatype.js';
import { formatPlatform } from '../oci/platform.js';
import { toWritableContent, writeLocation } from '../transport/copy-image.js';
import { describeLocation, readLocation, type Location } from '../transport/location.js';
import { planRelease, type ResolvedSource } from './release-plan.js';

export interface LocalIndexResult {
  digest: string;
  mediaType: string;
  destination: string;
  manifests: { platform: string; digest: string; source: string }[];
}

/** Reads every image (an index contributes each of its images), assembles the index, writes it under `names`. */
export async function writeLocalIndex(images: Location[], output: Location, opts: { format: Format; names: string[]; epoch: number }): Promise<LocalIndexResult> {
  const sources: ResolvedSource[] = [];
  for (const loc of images) {
    const where = describeLocation(loc);
    const artifact = await readLocation(loc);
    const content = await toWritableContent(artifact, where);
    for (const { image } of content.images) sources.push({ source: where, where: `--image ${where}`, image });
  }
  const plan = planRelease({ components: [{ name: 'index', where: '--image', sources }], tags: [], destination: { kind: 'layout', dir: '' }, archSuffixedRepos: false, format: opts.format });
  const c = plan.components[0]!;
  await writeLocation(output, await toWritableContent(c.artifact, 'index'), opts.names, opts.epoch);
  return {
    digest: c.index.digest,
    mediaType: c.index.mediaType,
    destination: describeLocation(output),
    manifests: c.images.map((i) => ({ platform: formatPlatform(i.platform), digest: i.image.digest, source: i.source })),
  };
}
