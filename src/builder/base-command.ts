import { join } from 'node:path';
import { assembleIndex, imageDescriptor } from '../image/assemble.js';
import type { Digest } from '../oci/digest.js';
import type { Format } from '../oci/mediatype.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { formatReference, type Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import { describeLocation, outputPath, type Location } from '../transport/location.js';
import { writeLocation } from '../transport/copy.js';
import { buildStaticBase } from './static-base.js';
import { withWorkdir } from './workdir.js';

export interface StaticBaseOptions {
  platforms: Platform[];
  output: Location;
  tags: Reference[];
  format: Format;
  level: number;
  epoch: number;
}

/**
 * Writes berth's static base for each platform: one image, or an index over several.
 */
export async function writeStaticBase(opts: StaticBaseOptions): Promise<{ digest: Digest; platforms: string[]; output: string; images: { platform: string; digest: Digest }[] }> {
  const outPath = opts.output.kind === 'tarball' ? opts.output.path : join(opts.output.dir, 'index.json');
  return withWorkdir(outPath, outputPath(opts.output), async (work) => {
    const images: { image: Image; platform: Platform }[] = [];
    for (const [i, platform] of opts.platforms.entries()) {
      const image = await buildStaticBase({ platform, epoch: opts.epoch, level: opts.level, format: opts.format, work, name: `static-${i}` });
      images.push({ image, platform });
    }
    const names = opts.tags.map(formatReference);
    const index = images.length > 1 ? assembleIndex(images.map(({ image, platform }) => imageDescriptor(image, platform)), opts.format) : undefined;
    await writeLocation(opts.output, index ? { images, index } : { images }, names, opts.epoch);
    const digest = index?.digest ?? images[0]!.image.digest;
    return {
      digest,
      platforms: opts.platforms.map(formatPlatform),
      output: describeLocation(opts.output),
      images: images.map(({ image, platform }) => ({ platform: formatPlatform(platform), digest: image.digest })),
    };
  });
}
