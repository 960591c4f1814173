import type { Digest } from '../oci/digest.js';
import type { Format } from '../oci/mediatype.js';
import type { Platform } from '../oci/platform.js';
import type { Reference } from '../oci/reference.js';
import type { Image } from '../transport/image.js';
import type { Location } from '../transport/location.js';
import { withOutputWorkdir, writeImages } from './output.js';
import { buildStaticBase } from './build-static-base.js';

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
  return withOutputWorkdir(opts.output, async (work) => {
    const images: { image: Image; platform: Platform }[] = [];
    for (const [i, platform] of opts.platforms.entries()) {
      const image = await buildStaticBase({ platform, epoch: opts.epoch, level: opts.level, format: opts.format, work, name: `static-${i}` });
      images.push({ image, platform });
    }
    const written = await writeImages(opts.output, images, opts.tags, opts.format, opts.epoch);
    return {
      digest: written.digest,
      platforms: written.images.map(({ platform }) => platform), // in index order
      output: written.output,
      images: written.images.map(({ platform, digest }) => ({ platform, digest })),
    };
  });
}
